"""A section of a clip's audio as a small WAV, so the browser decodes only what it plays (loops
and previews of long clips, static/js/clip-chunks.js) instead of a whole 10-minute dump."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from app.audio.timeline import to_samples

MAX_EXCERPT_S = 600.0  # the longest clip a run makes; an excerpt is at most that long


class ExcerptError(ValueError):
    """A range that is not inside the clip; the message says why."""


@dataclass(frozen=True)
class Excerpt:
    data: bytes  # a WAV file
    start: int  # first sample (frame) of the clip it holds
    frames: int  # how many
    sample_rate: int


def read_excerpt(path: Path, start_s: float, end_s: float | None) -> Excerpt:
    """The audio file at `path` from `start_s` to `end_s` (None or past the end: to the end),
    cut at the samples `to_samples` gives at the file's rate, with its channels, as 16-bit PCM
    WAV when the file is 16-bit PCM (the same integers) and 32-bit float otherwise. Bounded:
    at most MAX_EXCERPT_S of audio."""
    with sf.SoundFile(str(path)) as src:
        total, rate = src.frames, src.samplerate
        start = to_samples(start_s, rate)
        stop = total if end_s is None else min(to_samples(end_s, rate), total)
        if start < 0 or start >= total:
            raise ExcerptError(
                f"start_s {start_s} is not inside the clip (0 to {total / rate:.3f} s)"
            )
        if stop <= start:
            raise ExcerptError(f"end_s {end_s} is not after start_s {start_s}")
        if stop - start > MAX_EXCERPT_S * rate:
            raise ExcerptError(
                f"{(stop - start) / rate:.1f} s asked for; an excerpt is at most "
                f"{MAX_EXCERPT_S:.0f} s"
            )
        pcm16 = src.subtype == "PCM_16"
        src.seek(start)
        block = src.read(stop - start, dtype="int16" if pcm16 else "float32", always_2d=True)
    buf = io.BytesIO()
    sf.write(buf, block, rate, format="WAV", subtype="PCM_16" if pcm16 else "FLOAT")
    return Excerpt(data=buf.getvalue(), start=start, frames=len(block), sample_rate=rate)
