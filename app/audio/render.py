"""Render an EDL to stereo audio, deterministically and to the sample.

`render_track` follows the timeline arithmetic of `app.audio.timeline` (read its docstring for the
exact formulas). In short, at output rate ``sr`` with ``S(t) = floor(t * sr + 0.5)``:

1. every clip is loaded once through the caller's ``load_clip(clip_id) -> (mono float32, rate)`` and
   resampled to ``sr`` with soxr (HQ) when its rate differs;
2. an item's unit is ``clip[S(start_s):S(end_s)]``; ``repeat`` copies are laid back to back, the
   ``R`` samples where consecutive copies overlap crossfaded with equal-power ramps;
3. the block is multiplied by its envelope: gain (item + lane, dB), edge fades (equal-power at
   joins, linear elsewhere, a micro-fade on every free cut), linear user fades of exactly
   ``S(fade_s)`` samples. Linear fade-in of ``n`` samples: ``i / n`` for ``i = 0..n-1``;
   fade-out is its mirror.
   Equal-power ramps of ``X`` samples: in ``sin(pi/2 * (i + 0.5) / X)``, out ``cos(...)``, so
   ``in² + out² = 1`` at every sample of a join;
4. the block is panned with the constant-power law ``theta = (pan + 1) * pi / 4``,
   ``L = cos(theta)``, ``R = sin(theta)`` (centre: −3 dB per side) and added into the output at
   sample ``P``; lanes sum.

Arithmetic runs in float64 and the result is cast to float32 once, so the same EDL and clips give
bit-identical output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import soxr

from app.audio.edl import ClipId, EditList, EdlError, EdlProblem
from app.audio.timeline import Placement, plan, to_samples

LoadClip = Callable[[ClipId], tuple[np.ndarray, int]]

# A section may end this much past the clip's last sample (rounding of a duration measured at
# another rate); the missing samples are silence. Anything longer is an error.
END_SLACK_S = 0.001


def render_track(edl: EditList, load_clip: LoadClip, *, sample_rate: int) -> np.ndarray:
    """Render `edl` at `sample_rate` Hz.

    Returns
    -------
    audio : float32 ndarray [2 x N], channels first (L, R); N from `app.audio.timeline.plan`.
    Raises `EdlError` (naming the item) when a section runs past its clip's end.
    """
    layout = plan(edl, sample_rate)
    out = np.zeros((2, layout.length), dtype=np.float64)
    clips: dict[ClipId, np.ndarray] = {}
    for p in layout.placements:
        item = edl.items[p.index]
        if item.clip_id not in clips:
            clips[item.clip_id] = _load(load_clip, item.clip_id, sample_rate)
        unit = _cut(clips[item.clip_id], p, sample_rate)
        block = _repeat(unit, p.repeat, p.repeat_overlap)
        block *= _envelope(p)
        left, right = pan_gains(p.pan)
        out[0, p.start : p.end] += left * block
        out[1, p.start : p.end] += right * block
    return out.astype(np.float32)


def track_duration(
    edl: EditList, clip_durations: Mapping[ClipId, float], *, sample_rate: int = 44100
) -> float:
    """Length in seconds of what `render_track` would return at `sample_rate` (N / sr).

    `clip_durations` (seconds per clip id) is used to check the EDL first: unknown clips and
    sections past a clip's end raise `EdlError`, as rendering would.
    """
    edl.check_clips(clip_durations.keys(), clip_durations)
    return plan(edl, sample_rate).duration_s


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan law: (L, R) gains for pan in −1 (left) … +1 (right); L² + R² = 1."""
    if pan <= -1.0:  # exact zeros at the hard sides (cos(pi/2) is 6e-17, not 0)
        return 1.0, 0.0
    if pan >= 1.0:
        return 0.0, 1.0
    theta = (pan + 1.0) * np.pi / 4.0
    return float(np.cos(theta)), float(np.sin(theta))


def linear_fade_in(n: int) -> np.ndarray:
    """``i / n`` for i = 0..n-1 (starts at exactly 0, reaches 1 on the sample after the fade)."""
    return np.arange(n, dtype=np.float64) / n if n > 0 else np.ones(0)


def equal_power_fade_in(n: int) -> np.ndarray:
    """``sin(pi/2 * (i + 0.5) / n)``; its mirror is the matching fade-out (sin² + cos² = 1)."""
    return np.sin(0.5 * np.pi * (np.arange(n, dtype=np.float64) + 0.5) / n)


def zero_crossing(audio: np.ndarray, t: float, sr: int, search_ms: float = 5.0) -> float:
    """Snap a cut point `t` (seconds) to the nearest zero crossing within ±`search_ms`.

    `audio` is mono [n] or channels-first [C x n] (channels are summed). A crossing is a sign
    change between samples i-1 and i; the snap goes to whichever of the two is closer to zero, or
    to an exact zero sample. Ties go to the earlier time. Returns `t` unchanged when the window
    holds no crossing, and always a time on the sample grid otherwise.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 2:
        x = x.sum(axis=0)
    n = x.shape[0]
    if n == 0:
        return t
    centre = min(max(to_samples(t, sr), 0), n - 1)
    reach = to_samples(search_ms / 1000.0, sr)
    lo, hi = max(centre - reach, 0), min(centre + reach, n - 1)
    seg = x[lo : hi + 1]
    sign = np.sign(seg)
    candidates = set(np.flatnonzero(sign == 0).tolist())
    for i in np.flatnonzero(sign[:-1] * sign[1:] < 0).tolist():
        candidates.add(i if abs(seg[i]) <= abs(seg[i + 1]) else i + 1)
    if not candidates:
        return t
    best = min(candidates, key=lambda i: (abs(lo + i - centre), i))
    return float(lo + best) / sr


# -- internals ------------------------------------------------------------------------------


def _load(load_clip: LoadClip, clip_id: ClipId, sample_rate: int) -> np.ndarray:
    audio, rate = load_clip(clip_id)
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 2 and 1 in x.shape:
        x = x.reshape(-1)
    if x.ndim != 1:
        raise ValueError(f"clip {clip_id!r}: load_clip must return mono audio, got shape {x.shape}")
    if rate != sample_rate:
        x = soxr.resample(x, rate, sample_rate, quality="HQ")
    return x


def _cut(clip: np.ndarray, p: Placement, sr: int) -> np.ndarray:
    stop = p.src_start + p.unit
    missing = stop - clip.shape[0]
    if missing > to_samples(END_SLACK_S, sr):
        raise EdlError(
            [EdlProblem(p.index, "end_s", f"past the clip's end ({clip.shape[0] / sr:.6f} s)")]
        )
    unit = clip[p.src_start : stop].copy()
    if missing > 0:
        unit = np.concatenate([unit, np.zeros(p.unit - unit.shape[0])])
    return unit


def _repeat(unit: np.ndarray, repeat: int, overlap: int) -> np.ndarray:
    if repeat == 1:
        return unit
    u = unit.shape[0]
    period = u - overlap
    block = np.zeros(repeat * u - (repeat - 1) * overlap)
    ramp_in = equal_power_fade_in(overlap)
    for j in range(repeat):
        copy = unit.copy()
        if overlap:
            if j > 0:
                copy[:overlap] *= ramp_in
            if j < repeat - 1:
                copy[u - overlap :] *= ramp_in[::-1]
        block[j * period : j * period + u] += copy
    return block


def _envelope(p: Placement) -> np.ndarray:
    env = np.full(p.length, p.gain)
    if p.head_join:
        env[: p.head_join] *= equal_power_fade_in(p.head_join)
    if p.tail_join:
        env[p.length - p.tail_join :] *= equal_power_fade_in(p.tail_join)[::-1]
    if p.fade_in:
        env[: p.fade_in] *= linear_fade_in(p.fade_in)
    if p.fade_out:
        env[p.length - p.fade_out :] *= linear_fade_in(p.fade_out)[::-1]
    return env
