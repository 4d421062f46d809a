"""Everything the catalog learns about one clip, in one pass over its frame features: the
pathology flags, the closeness to the album, the style distance and the quality score.

`analyze(audio, sample_rate, index)` is what the cpu worker runs when clips land, what the
backfill runs over older clips, and what `albumbot analyze` runs over files. `ANALYSIS_VERSION`
says which detectors made a stored analysis: clips analysed by an older version are analysed
again by the backfill.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from model.closeness import COPIED_RUN_S, AlbumIndex, Closeness, match
from model.features import CLIP_LEVEL
from model.frame_features import ANALYSIS_SR, analysis_audio, frame_features
from model.pathology import HARD_FLAGS, SILENCE_DBFS, Flag, detect, ramp
from model.quality import quality_score
from model.style import FrameStats, frechet_distance

ANALYSIS_VERSION = 1


@dataclass(frozen=True)
class ClipAnalysis:
    flags: tuple[Flag, ...]  # every detector's verdict; `copied` only with an album
    closeness: Closeness | None  # None without an album (or for a silent clip)
    style_distance: float | None  # this clip's frames against the album's
    quality: float  # 0..1, model/quality.py
    stats: FrameStats | None  # its audible frames, z-scored by the album, for epoch pooling
    fingerprint: tuple[float, ...]  # mean z-scored frame vector: near-duplicates are close
    duration_s: float

    @property
    def raised(self) -> list[Flag]:
        return [f for f in self.flags if f.raised]

    @property
    def hard(self) -> bool:
        """A hard flag is raised (silent, noise, exploded, copied): not worth a listen."""
        return any(f.name in HARD_FLAGS for f in self.raised)

    def scores(self) -> dict[str, float]:
        return {f.name: round(f.score, 4) for f in self.flags}

    def to_dict(self) -> dict[str, Any]:
        """JSON: raised flags with reasons, every score, closeness, style distance, quality."""
        return {
            "version": ANALYSIS_VERSION,
            "flags": [f.to_dict() for f in self.raised],
            "scores": self.scores(),
            "closeness": self.closeness.to_dict() if self.closeness else None,
            "style_distance": self.style_distance,
            "quality": self.quality,
            "duration_s": round(self.duration_s, 3),
        }


def analyze(
    audio: npt.ArrayLike, sample_rate: int, index: AlbumIndex | None = None
) -> ClipAnalysis:
    """Analyse one clip (`audio` [n] or [n, channels] in [-1, 1] at `sample_rate` Hz) against
    the album `index` (None: flags only, no closeness or style)."""
    raw = np.nan_to_num(np.asarray(audio, dtype=np.float64))
    dc_offset = float(raw.mean()) if raw.size else 0.0
    clipping = float(np.mean(np.abs(raw) >= CLIP_LEVEL)) if raw.size else 0.0
    mono16 = analysis_audio(raw.astype(np.float32), sample_rate)
    frames = frame_features(mono16, ANALYSIS_SR)
    flags = detect(frames, mono16, dc_offset=dc_offset, clipping=clipping)
    active = frames.rms_db > SILENCE_DBFS
    closeness = style = stats = None
    vectors = frames.vectors()
    if index is not None:
        vectors = index.standardize(vectors)
        closeness = match(frames, index)
        flags.append(copied(closeness))
        if active.sum() >= 2:
            stats = FrameStats.of(vectors[active])
            style = round(frechet_distance(stats, index.style_stats), 4)
    audible = vectors[active] if active.any() else vectors
    fingerprint = tuple(round(float(v), 3) for v in audible.mean(axis=0)) if len(audible) else ()
    quality = quality_score(
        ((f.name, f.score) for f in flags),
        style_distance=style,
        copied_share=closeness.share if closeness else 0.0,
    )
    return ClipAnalysis(
        tuple(flags), closeness, style, quality, stats, fingerprint, frames.duration_s
    )


def copied(closeness: Closeness | None) -> Flag:
    """The `copied` flag from closeness: raised when one run follows the album for
    COPIED_RUN_S (4 s) or more."""
    if closeness is None:
        return Flag("copied", 0.0, "nothing audible to compare with the album")
    c = closeness
    score = ramp(c.longest_run_s, COPIED_RUN_S - 2.0, COPIED_RUN_S + 2.0)
    reason = (
        f"follows {c.source_name} from {clock(c.source_offset_s)} for {c.longest_run_s:.1f} s "
        f"({c.share:.0%} of the clip follows the album closely)"
        if c.longest_run_s else "follows no stretch of the album"
    )
    return Flag("copied", score, reason, {"longest_run_s": c.longest_run_s, "share": c.share})


def clock(seconds: float) -> str:
    """1:23.4"""
    minutes, rest = divmod(max(0.0, seconds), 60.0)
    return f"{int(minutes)}:{rest:04.1f}"
