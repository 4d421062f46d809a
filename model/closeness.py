"""How closely a clip follows the album it was trained on: the paper's risk of a model that
memorises.

The album is indexed once (`AlbumIndex.build`, saved beside the dataset with `save`/`load`):
the frame features (model/frame_features.py, 20 per second) of every source track. Frames are
compared by the shape of their spectrum (`FrameFeatures.spectra`: compressed mel powers and
chroma), less the album's average frame, at unit length; silent frames are zeroed (silence
matches silence, and means nothing).

`match` compares a clip against it. Cross-similarity is a matrix product (clip frames x album
frames, cosine), taken in blocks of clip frames; for each clip frame the best album frame gives
an offset (album frame - clip frame). Copying is a *diagonal*: many consecutive clip frames
whose best matches keep the same offset. The few most common offsets are then followed along
their diagonals, the similarity smoothed over half a second: a clip frame closely follows the
album where that stays above `FOLLOW` (cosine 0.8). The result names the best-matching moment
(source track and offset, where the longest run starts), how many seconds of the clip follow
some stretch of the album, the longest run, and `copied` when that run lasts `COPIED_RUN_S`.

Cost: a 60-minute album is 72,000 frames of 52 numbers (15 MB); one clip-minute (1,200 frames)
against it is 4.5 GFLOP of matrix product plus the arg-maxes.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from model import frame_features as ff
from model.frame_features import FrameFeatures, seconds_of
from model.style import FrameStats

INDEX_VERSION = 1
INDEX_NAME = f"album-index-v{INDEX_VERSION}.npz"
SILENCE_DBFS = -50.0
CANDIDATE = 0.7  # a clip frame votes for an offset when its best album frame is this close
FOLLOW = 0.8  # smoothed diagonal similarity from which a clip frame follows the album
SMOOTH_FRAMES = 10  # 0.5 s
MIN_RUN_S = 1.0  # shorter agreements are coincidences of timbre
COPIED_RUN_S = 4.0
OFFSETS = 6  # diagonals followed per clip
BLOCK = 128  # clip frames per matrix product: (128 x album frames) floats at a time


@dataclass(frozen=True)
class AlbumSource:
    """One track of the album as indexed: `ident` is the caller's name for it (a catalog id, a
    file path), `name` what a curator reads, `first_frame` its first frame in the index."""

    ident: str
    name: str
    first_frame: int
    frames: int


@dataclass(frozen=True)
class AlbumIndex:
    """Frame features of every source track, in album order, and the album's statistics."""

    sources: tuple[AlbumSource, ...]
    spectra: npt.NDArray[np.float32]  # (N, 52) FrameFeatures.spectra of every frame
    vectors: npt.NDArray[np.float32]  # (N, 32) FrameFeatures.vectors of every frame
    active: npt.NDArray[np.bool_]  # (N,) louder than the silence floor
    mean: npt.NDArray[np.float64]  # (32,) of `vectors` over active frames
    std: npt.NDArray[np.float64]  # (32,)
    centre: npt.NDArray[np.float64]  # (52,) mean of `spectra` over active frames

    @classmethod
    def build(
        cls,
        tracks: Sequence[tuple[str, str, Callable[[], tuple[npt.NDArray[np.float32], int]]]],
        *,
        on_track: Callable[[int], None] | None = None,
    ) -> AlbumIndex:
        """Index `tracks`, each (ident, name, load) where `load()` returns (audio, sample rate);
        tracks are decoded one at a time. ValueError when nothing of the album is audible."""
        sources, spectra, vectors, active = [], [], [], []
        first = 0
        for i, (ident, name, load) in enumerate(tracks):
            if on_track is not None:
                on_track(i)
            audio, sr = load()
            frames = ff.frame_features(audio, sr)
            sources.append(AlbumSource(ident, name, first, frames.frames))
            spectra.append(frames.spectra())
            vectors.append(frames.vectors())
            active.append(frames.rms_db > SILENCE_DBFS)
            first += frames.frames
        if not sources:
            raise ValueError("no album tracks to index")
        s, v, a = np.concatenate(spectra), np.concatenate(vectors), np.concatenate(active)
        if a.sum() < 2:
            raise ValueError("the album is silent: nothing to compare clips with")
        return cls(
            tuple(sources), s, v, a,
            mean=v[a].mean(axis=0, dtype=np.float64),
            std=v[a].std(axis=0, dtype=np.float64) + 1e-6,
            centre=s[a].mean(axis=0, dtype=np.float64),
        )

    @property
    def frames(self) -> int:
        return int(self.spectra.shape[0])

    @property
    def seconds(self) -> float:
        return seconds_of(self.frames)

    def standardize(self, vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Frame vectors z-scored with the album's statistics (what style distance compares)."""
        return ((vectors - self.mean) / self.std).astype(np.float32)

    def unit_spectra(
        self, spectra: npt.NDArray[np.float32], active: npt.NDArray[np.bool_]
    ) -> npt.NDArray[np.float32]:
        """(n, 52) what `match` multiplies: spectra less the album's average frame, at unit
        length, silent frames 0 (centring is what makes two unrelated frames dissimilar)."""
        z = spectra - self.centre.astype(np.float32)
        z /= np.linalg.norm(z, axis=1, keepdims=True) + 1e-9
        z[~active] = 0.0
        return z

    @cached_property
    def unit(self) -> npt.NDArray[np.float32]:
        """(N, 52) the album's own frames as `unit_spectra` (computed once per index)."""
        return self.unit_spectra(self.spectra, self.active)

    @cached_property
    def style_stats(self) -> FrameStats:
        """The album's audible frames, z-scored: the reference of every style distance."""
        return FrameStats.of(self.standardize(self.vectors)[self.active])

    def source_at(self, frame: int) -> AlbumSource:
        starts = [s.first_frame for s in self.sources]
        return self.sources[max(0, int(np.searchsorted(starts, frame, side="right")) - 1)]

    # -- a file beside the dataset --------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        """Write atomically (temporary name, then rename)."""
        path = Path(path)
        meta = {
            "index_version": INDEX_VERSION, "hop": ff.HOP, "sample_rate": ff.ANALYSIS_SR,
            "n_fft": ff.N_FFT, "sources": [asdict(s) for s in self.sources],
        }
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            with open(tmp, "wb") as f:
                np.savez(
                    f, meta=np.frombuffer(json.dumps(meta).encode(), np.uint8),
                    **{k: getattr(self, k) for k in _ARRAYS},
                )
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | Path) -> AlbumIndex:
        """ValueError when the file is not an index of this version and feature layout."""
        try:
            with np.load(Path(path)) as data:
                meta = json.loads(bytes(data["meta"]).decode())
                arrays = {k: data[k] for k in _ARRAYS}
        except (OSError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: not an album index ({exc})") from None
        layout = (meta.get("index_version"), meta.get("hop"), meta.get("sample_rate"),
                  meta.get("n_fft"))
        if layout != (INDEX_VERSION, ff.HOP, ff.ANALYSIS_SR, ff.N_FFT):
            raise ValueError(f"{path}: an album index of another version or layout ({layout})")
        arrays["active"] = arrays["active"].astype(bool)
        return cls(tuple(AlbumSource(**s) for s in meta["sources"]), **arrays)


_ARRAYS = ("spectra", "vectors", "active", "mean", "std", "centre")


@dataclass(frozen=True)
class Closeness:
    """How closely one clip follows the album. Times in seconds."""

    source: str  # AlbumSource.ident of the best-matching track
    source_name: str
    source_offset_s: float  # where the best-matching moment is in that track
    clip_offset_s: float  # ... and where it is in the clip
    similarity: float  # smoothed cosine there, -1..1
    seconds_matched: float  # of the clip, closely following some stretch of the album
    longest_run_s: float
    share: float  # seconds_matched / clip duration
    copied: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def match(frames: FrameFeatures, index: AlbumIndex) -> Closeness | None:
    """The clip's closeness to the album; None when the clip has no audible frame."""
    active = frames.rms_db > SILENCE_DBFS
    if not active.any() or index.frames == 0:
        return None
    clip = index.unit_spectra(frames.spectra(), active)
    album = index.unit
    offsets = _candidate_offsets(clip, album)
    t = len(clip)
    following = np.zeros(t, bool)
    best: tuple[float, int, int, int] = (-2.0, 0, 0, 0)  # (score, offset, start, length)
    for offset in offsets:
        diag = _diagonal(clip, album, offset)
        smooth = np.convolve(diag, np.ones(SMOOTH_FRAMES) / SMOOTH_FRAMES, mode="same")
        runs = _runs(smooth >= FOLLOW, round(MIN_RUN_S / seconds_of(1)))
        for start, length in runs:
            following[start : start + length] = True
        if runs:
            start, length = max(runs, key=lambda r: r[1])
            score = float(length) + float(smooth[start : start + length].mean())
        else:
            start, length = int(np.argmax(smooth)), 0
            score = float(smooth[start]) - 1.0  # below any run
        if score > best[0]:
            best = (score, offset, start, length)
    _, offset, start, length = best
    album_frame = min(index.frames - 1, max(0, start + offset))
    source = index.source_at(album_frame)
    diag = _diagonal(clip, album, offset)
    lo, hi = (start, start + length) if length else (max(0, start - 5), start + 5)
    longest = seconds_of(length)
    matched = seconds_of(int(following.sum()))
    return Closeness(
        source=source.ident,
        source_name=source.name,
        source_offset_s=round(seconds_of(album_frame - source.first_frame), 3),
        clip_offset_s=round(seconds_of(start), 3),
        similarity=round(float(diag[lo:hi].mean()) if hi > lo else 0.0, 4),
        seconds_matched=round(matched, 3),
        longest_run_s=round(longest, 3),
        share=round(min(1.0, matched / frames.duration_s) if frames.duration_s else 0.0, 4),
        copied=longest >= COPIED_RUN_S,
    )


def _candidate_offsets(
    clip: npt.NDArray[np.float32], album: npt.NDArray[np.float32]
) -> list[int]:
    """The OFFSETS most voted offsets (album frame - clip frame) of the clip frames' best
    matches; neighbouring offsets count together (a copy may be half a frame off)."""
    votes: dict[int, float] = {}
    for start in range(0, len(clip), BLOCK):
        block = clip[start : start + BLOCK]
        sims = block @ album.T  # (b, N)
        best = np.argmax(sims, axis=1)
        value = sims[np.arange(len(block)), best]
        strong = np.flatnonzero(value >= CANDIDATE)
        offs, weights = best[strong] - (start + strong), value[strong]
        for off in np.unique(offs):
            votes[int(off)] = votes.get(int(off), 0.0) + float(weights[offs == off].sum())
    if not votes:
        sims = clip[: BLOCK] @ album.T
        return [int(np.argmax(sims.max(axis=0)))]  # no strong match: the single best frame
    pooled = {o: v + 0.5 * (votes.get(o - 1, 0.0) + votes.get(o + 1, 0.0))
              for o, v in votes.items()}
    chosen: list[int] = []
    for off in sorted(pooled, key=lambda o: -pooled[o]):
        if all(abs(off - c) > 1 for c in chosen):
            chosen.append(off)
        if len(chosen) == OFFSETS:
            break
    return chosen


def _diagonal(
    clip: npt.NDArray[np.float32], album: npt.NDArray[np.float32], offset: int
) -> npt.NDArray[np.float64]:
    """Similarity of clip frame i with album frame i + offset (0 outside the album), allowing
    one frame of drift either way."""
    t, n = len(clip), len(album)
    best = np.zeros(t)
    for drift in (-1, 0, 1):
        j = np.arange(t) + offset + drift
        ok = (j >= 0) & (j < n)
        sims = np.zeros(t)
        sims[ok] = np.einsum("ij,ij->i", clip[ok], album[j[ok]])
        best = np.maximum(best, sims)
    return best


def _runs(mask: npt.NDArray[np.bool_], min_length: int) -> list[tuple[int, int]]:
    """(start, length) of every run of True at least `min_length` long."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [
        (int(a), int(b - a)) for a, b in zip(edges[::2], edges[1::2], strict=True)
        if b - a >= min_length
    ]


def index_path(dataset_dir: str | Path) -> Path:
    """Where a dataset keeps its album index (rebuilt whenever the dataset is)."""
    return Path(dataset_dir) / INDEX_NAME
