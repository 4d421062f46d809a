"""The radio's shared buffer: a rolling set of files in media storage, under
`projects/{project id}/radio/{radio id}/`.

    head.json            what the buffer holds now (`Head`), replaced atomically per segment
    seg/000000042.mp3    segment 42 of the MP3 stream (whole frames, app/radio/mp3.py)
    seg/000000042.pcm    the same moment as 16-bit mono PCM, for "keep that"

The gpu worker (worker/radio.py) is the only writer; any number of web processes read it, each
listener with its own cursor, so the generator never waits for a listener and one listener never
waits for another. It lives in media storage, not in a process, so the stream survives a restart
of the web app, and a worker that takes the job over continues it (`next` onwards). Files are
written under a temporary name and renamed: a reader sees a whole segment or none. The buffer
is ephemeral (no fsync): after a crash the worst is a lost segment, which `next` skips.

Time: segment k covers stream samples [k * segment_samples, (k + 1) * segment_samples) and is
on air from `t0 + k * segment_s` (wall-clock seconds since the epoch). Restarts that fall behind
move `t0` forward (`Generation.reason` says why).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt


def radio_key(project_id: int, radio_id: int) -> str:
    """Storage key of a radio's buffer folder: inside its project's, so deleting the project
    deletes it too."""
    return f"projects/{project_id}/radio/{radio_id}"


@dataclass(frozen=True)
class Generation:
    """One run of the generator: a worker's attempt, from segment `first_segment` on."""

    number: int  # 0: the first; then one per takeover
    first_segment: int
    seed: int
    started_at: float  # unix seconds
    reason: str  # why it started (the first: "started"; a takeover: what happened)


@dataclass(frozen=True)
class Head:
    radio_id: int
    checkpoint_id: int
    epoch: int
    temperature: float
    sample_rate: int
    segment_samples: int
    ahead_s: float
    keep_s: float
    t0: float  # unix seconds when segment 0 was (or would have been) on air
    next: int = 0  # segments written: 0 .. next - 1
    first: int = 0  # the oldest segment still kept
    rtf: float | None = None  # generated seconds per second of generating (realtime factor)
    updated_at: float = 0.0
    generations: tuple[Generation, ...] = field(default_factory=tuple)

    @property
    def segment_s(self) -> float:
        return self.segment_samples / self.sample_rate

    def on_air(self, now: float) -> int:
        """The segment on air at `now` (may be past `next` when the generator is behind)."""
        return max(0, math.floor((now - self.t0) / self.segment_s))

    def generation_at(self, segment: int) -> Generation | None:
        found = None
        for g in self.generations:
            if g.first_segment <= segment:
                found = g
        return found

    @property
    def keeps_up(self) -> bool | None:
        return None if self.rtf is None else self.rtf >= 1.0

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["generations"] = [asdict(g) for g in self.generations]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Head:
        gens = tuple(Generation(**g) for g in data.get("generations", ()))
        return replace(cls(**{**data, "generations": ()}), generations=gens)


class RadioBuffer:
    """The files of one radio's buffer (`folder` = storage.path(radio_key(...)))."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _segment(self, k: int, ext: str) -> Path:
        return self.folder / "seg" / f"{k:09d}.{ext}"

    # -- reading (web app and worker) ---------------------------------------------------------

    def head(self) -> Head | None:
        try:
            text = (self.folder / "head.json").read_text()
        except FileNotFoundError:
            return None
        return Head.from_json(json.loads(text))

    def mp3(self, k: int) -> bytes | None:
        """Segment k of the MP3 stream; None when it is not written yet or already dropped."""
        try:
            return self._segment(k, "mp3").read_bytes()
        except FileNotFoundError:
            return None

    def pcm(self, first: int, end: int) -> tuple[int, npt.NDArray[np.int16]]:
        """PCM of segments first .. end - 1 that are still kept, from the first one found on:
        (the segment it starts at, int16 samples). A dropped segment in the middle ends it."""
        pieces: list[npt.NDArray[np.int16]] = []
        start = first
        for k in range(first, end):
            try:
                data = self._segment(k, "pcm").read_bytes()
            except FileNotFoundError:
                if pieces:
                    break
                start = k + 1
                continue
            pieces.append(np.frombuffer(data, dtype="<i2"))
        if not pieces:
            return start, np.zeros(0, dtype=np.int16)
        return start, np.concatenate(pieces)

    # -- writing (the worker that holds the radio's lease) ------------------------------------

    def write_segment(self, k: int, pcm: npt.NDArray[np.int16], mp3: bytes) -> None:
        (self.folder / "seg").mkdir(parents=True, exist_ok=True)
        # PCM first: once the MP3 is visible a listener may "keep that" what it just heard.
        _replace(self._segment(k, "pcm"), pcm.astype("<i2").tobytes())
        _replace(self._segment(k, "mp3"), mp3)

    def write_head(self, head: Head) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        _replace(self.folder / "head.json", json.dumps(head.to_json()).encode())

    def drop_before(self, old_first: int, new_first: int) -> None:
        for k in range(old_first, new_first):
            for ext in ("mp3", "pcm"):
                self._segment(k, ext).unlink(missing_ok=True)


def _replace(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
