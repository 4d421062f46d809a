"""Where every EDL item lands, in samples: the arithmetic shared by rendering and durations.

All times become samples with ``S(t) = floor(t * sr + 0.5)`` (round half up, like JavaScript's
``Math.round``, so a Web Audio preview that uses the same formula agrees to the sample). ``sr`` is
the output sample rate. For each lane, its items are taken in EDL order; for item ``k`` of a lane:

* unit length ``U_k = S(end_s) - S(start_s)`` (one repetition; at least 1 sample);
* repeat overlap ``R_k = min(S(repeat_crossfade_s), U_k // 2)`` when ``repeat > 1``, else 0;
* block length ``B_k = repeat * U_k - (repeat - 1) * R_k`` (repetition ``j`` starts at
  ``j * (U_k - R_k)`` inside the block, so the period is ``U_k - R_k``);
* join overlap with the previous item ``X_k = min(S(xf), B_{k-1} // 2, B_k // 2)`` where ``xf`` is
  the item's ``crossfade_s`` or else the track's (``X_0 = 0``);
* start ``P_0 = S(lane.offset_s) + S(item.offset_s)``,
  then ``P_k = P_{k-1} + B_{k-1} - X_k + S(item.offset_s)``.

The track is ``N = max(P_k + B_k)`` samples long over all lanes (0 when empty). An item whose start
falls before sample 0 is an error (negative ``offset_s`` pulled it too far).

Fades, also in samples: a joined edge (``X > 0``) gets the equal-power ramp of the join (its length
``X``); a free edge (a lane's first head or last tail, or a join with ``X = 0``) is a cut and gets a
linear fade of ``max(S(fade_s), S(micro_fade_s))`` samples. A joined edge with a user fade gets
the linear fade of ``S(fade_s)`` samples as well (the two multiply). Fade lengths are capped at
``B_k``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.audio.edl import EditList, EdlError, EdlProblem


def to_samples(seconds: float, sample_rate: int) -> int:
    """``floor(seconds * sample_rate + 0.5)``: the one rounding rule of the timeline."""
    return math.floor(seconds * sample_rate + 0.5)


@dataclass(frozen=True)
class Placement:
    """One item on the output timeline (all lengths in samples at the plan's sample rate)."""

    index: int  # position of the item in the EDL
    lane: int
    start: int  # P: first output sample
    length: int  # B: whole block, all repetitions
    unit: int  # U: one repetition
    repeat: int
    repeat_overlap: int  # R
    src_start: int  # S(start_s): first clip sample (clip resampled to the output rate)
    head_join: int  # X with the previous item of the lane (0 = free edge)
    tail_join: int  # X with the next item of the lane (0 = free edge)
    fade_in: int  # linear fade-in length
    fade_out: int  # linear fade-out length
    gain: float  # linear, item gain × lane gain
    pan: float  # −1..1 (item's, else lane's)

    @property
    def end(self) -> int:
        return self.start + self.length


@dataclass(frozen=True)
class Plan:
    sample_rate: int
    length: int  # N
    placements: tuple[Placement, ...]

    @property
    def duration_s(self) -> float:
        return self.length / self.sample_rate


def plan(edl: EditList, sample_rate: int) -> Plan:
    """Lay out `edl` at `sample_rate` (see the module docstring for the arithmetic)."""
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    sr = sample_rate
    micro = to_samples(edl.micro_fade_s, sr)
    problems: list[EdlProblem] = []
    placements: list[Placement] = []
    for lane_number in edl.lane_numbers():
        lane = edl.lane(lane_number)
        indices = [i for i, it in enumerate(edl.items) if it.lane == lane_number]
        # First pass: block lengths, so joins can be capped by both neighbours.
        units, overlaps, blocks = [], [], []
        for i in indices:
            item = edl.items[i]
            unit = to_samples(item.end_s, sr) - to_samples(item.start_s, sr)
            if unit < 1:
                problems.append(
                    EdlProblem(i, "end_s", f"the section is shorter than one sample at {sr} Hz")
                )
                unit = 1
            overlap = (
                min(to_samples(edl.repeat_crossfade_s, sr), unit // 2) if item.repeat > 1 else 0
            )
            units.append(unit)
            overlaps.append(overlap)
            blocks.append(item.repeat * unit - (item.repeat - 1) * overlap)
        joins = [0]
        for k in range(1, len(indices)):
            item = edl.items[indices[k]]
            xf = edl.crossfade_s if item.crossfade_s is None else item.crossfade_s
            joins.append(min(to_samples(xf, sr), blocks[k - 1] // 2, blocks[k] // 2))
        joins.append(0)  # after the lane's last item
        position = to_samples(lane.offset_s, sr)
        for k, i in enumerate(indices):
            item = edl.items[i]
            if k > 0:
                position += blocks[k - 1] - joins[k]
            position += to_samples(item.offset_s, sr)
            if position < 0:
                problems.append(
                    EdlProblem(i, "offset_s", "places the item before the start of the track")
                )
            fade_in = to_samples(item.fade_in_s, sr)
            fade_out = to_samples(item.fade_out_s, sr)
            if joins[k] == 0:
                fade_in = max(fade_in, micro)
            if joins[k + 1] == 0:
                fade_out = max(fade_out, micro)
            placements.append(
                Placement(
                    index=i,
                    lane=lane_number,
                    start=position,
                    length=blocks[k],
                    unit=units[k],
                    repeat=item.repeat,
                    repeat_overlap=overlaps[k],
                    src_start=to_samples(item.start_s, sr),
                    head_join=joins[k],
                    tail_join=joins[k + 1],
                    fade_in=min(fade_in, blocks[k]),
                    fade_out=min(fade_out, blocks[k]),
                    gain=10.0 ** ((item.gain_db + lane.gain_db) / 20.0),
                    pan=lane.pan if item.pan is None else item.pan,
                )
            )
    if problems:
        raise EdlError(problems)
    placements.sort(key=lambda p: p.index)
    length = max((p.end for p in placements), default=0)
    return Plan(sample_rate=sr, length=length, placements=tuple(placements))
