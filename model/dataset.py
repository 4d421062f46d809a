"""Album files -> a SampleRNN dataset of overlapping chunks (the paper's recipe).

Pipeline of `prepare_dataset`: decode each file -> mono -> remove DC -> resample (soxr) ->
concatenate the album in order -> remove silences -> cut `n_chunks` overlapping chunks spread evenly
over the album -> shuffle their order with the seed -> split 88/6/6 -> write FLAC chunks and
`manifest.json`. Everything is written into a hidden sibling directory that is renamed into place at
the end, so a failure never leaves a half-written dataset.

Where the chunks go is planned in `model.chunking`; the directory layout and reading a dataset back
are `model.manifest`.
"""

from __future__ import annotations

import bisect
import dataclasses
import hashlib
import json
import logging
import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from model import audio, silence
from model.chunking import SPLITS, ChunkPlan, plan_chunks
from model.manifest import (
    FORMAT_VERSION,
    MANIFEST_NAME,
    ChunkEntry,
    Manifest,
    SilenceSummary,
    SourceEntry,
)
from model.preprocess import remove_dc, resample, to_mono

logger = logging.getLogger(__name__)

ProgressFn = Callable[[str, float], None]


class DatasetError(ValueError):
    """Sources or settings that cannot make a dataset; the message says what and why."""


@dataclass(frozen=True)
class DatasetConfig:
    """How to cut an album into a dataset. Defaults are the paper's."""

    sample_rate: int = 16000
    n_chunks: int = 3200
    chunk_seconds: float = 8.0
    seed: int = 0
    split: tuple[float, float, float] = (0.88, 0.06, 0.06)  # train, valid, test
    silence_threshold_dbfs: float = silence.DEFAULT_THRESHOLD_DBFS
    min_silence_seconds: float = silence.DEFAULT_MIN_SECONDS

    def __post_init__(self) -> None:
        object.__setattr__(self, "split", tuple(float(f) for f in self.split))
        if self.sample_rate not in (16000, 32000):
            raise ValueError(f"sample_rate must be 16000 or 32000, got {self.sample_rate}")
        if self.n_chunks < 1:
            raise ValueError(f"n_chunks must be >= 1, got {self.n_chunks}")
        if not self.chunk_seconds > 0 or self.chunk_samples < 1:
            raise ValueError(f"chunk_seconds must be > 0, got {self.chunk_seconds}")
        if len(self.split) != 3 or min(self.split) < 0 or abs(sum(self.split) - 1) > 1e-6:
            raise ValueError(f"split must be 3 fractions >= 0 summing to 1, got {self.split}")
        if self.split[0] == 0:
            raise ValueError(f"the train fraction must be > 0, got {self.split}")
        if self.silence_threshold_dbfs > 0:
            threshold = self.silence_threshold_dbfs
            raise ValueError(f"silence threshold must be <= 0 dBFS, got {threshold}")
        if not self.min_silence_seconds > 0:
            raise ValueError(f"min_silence_seconds must be > 0, got {self.min_silence_seconds}")

    @property
    def chunk_samples(self) -> int:
        return round(self.chunk_seconds * self.sample_rate)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["split"] = list(self.split)
        return d


def _report(on_progress: ProgressFn | None, stage: str, fraction: float) -> None:
    if on_progress is not None:
        on_progress(stage, min(1.0, max(0.0, fraction)))


def _load_album(
    paths: Sequence[Path], sample_rate: int, on_progress: ProgressFn | None
) -> tuple[npt.NDArray[np.float32], list[int], list[SourceEntry]]:
    """Decode, downmix, de-offset and resample every file, then join them in order.

    Returns the album np.ndarray[float32, samples], each source's start sample in it, and the
    sources' descriptions.
    """
    pieces, starts, entries = [], [], []
    position = 0
    for i, path in enumerate(paths):
        _report(on_progress, "decode", i / len(paths))
        data, info = audio.decode_with_info(path)
        mono = resample(remove_dc(to_mono(data)), info.sample_rate, sample_rate)
        logger.debug("decoded %s: %s, %.2f s", path, info.format, info.seconds)
        starts.append(position)
        position += len(mono)
        pieces.append(mono)
        entries.append(
            SourceEntry(
                path=str(path),
                name=path.name,
                format=info.format,
                sample_rate=info.sample_rate,
                channels=info.channels,
                seconds=round(info.seconds, 6),
            )
        )
    _report(on_progress, "decode", 1.0)
    return np.concatenate(pieces), starts, entries


def prepare_dataset(
    sources: Sequence[str | Path],
    out_dir: str | Path,
    *,
    config: DatasetConfig,
    on_progress: ProgressFn | None = None,
    overwrite: bool = False,
) -> Manifest:
    """Turn album files or folders into a dataset directory at `out_dir`.

    Parameters
    ----------
    sources
        audio files and/or folders (searched recursively), in album order.
    out_dir
        must not exist or be empty, unless `overwrite` is set (then it is replaced as a whole).
    on_progress
        called with (stage, fraction in 0..1); stages are "decode", "silence", "write".

    Raises
    ------
    audio.AudioError, DatasetError (both ValueError), FileNotFoundError
        naming the file or folder at fault; nothing is left on disk when they are raised.
    """
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not out_dir.is_dir():
            raise DatasetError(f"{out_dir}: exists and is not a directory")
        if not overwrite and any(out_dir.iterdir()):
            raise DatasetError(
                f"{out_dir}: already exists and is not empty "
                "(pass --overwrite, or overwrite=True, to replace it)"
            )
    paths = audio.find_audio_files(sources, exclude=out_dir)
    album, starts, source_entries = _load_album(paths, config.sample_rate, on_progress)

    _report(on_progress, "silence", 0.0)
    stripped, report = silence.remove_silence(
        album,
        config.sample_rate,
        threshold_dbfs=config.silence_threshold_dbfs,
        min_seconds=config.min_silence_seconds,
    )
    _report(on_progress, "silence", 1.0)
    logger.debug("removed %.2f s of silence in %d cuts", report.seconds_removed, report.n_cuts)
    if len(stripped) < config.chunk_samples:
        raise DatasetError(
            f"the album is {len(stripped) / config.sample_rate:.2f} s long after removing "
            f"{report.seconds_removed:.2f} s of silence; it must be at least "
            f"{config.chunk_seconds:g} s (one chunk) long"
        )
    # Sources' starts in the stripped album, to say where each chunk comes from.
    stripped_starts = [silence.map_position(report.kept, s) for s in starts]
    plan = plan_chunks(
        len(stripped), config.chunk_samples, config.n_chunks, seed=config.seed, split=config.split
    )

    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        # Not tempfile.mkdtemp: its 0700 mode would stick to the dataset; os.mkdir honours umask.
        tmp = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
        tmp.mkdir()
    except OSError as exc:
        raise DatasetError(f"{out_dir}: cannot create the dataset there ({exc.strerror})") from None
    try:
        chunk_entries = _write_chunks(
            tmp, stripped, plan, config, source_entries, stripped_starts, on_progress
        )
        manifest = _make_manifest(config, report, source_entries, chunk_entries, plan.sizes)
        manifest.save(tmp / MANIFEST_NAME)
        _install(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _write_chunks(
    tmp: Path,
    album: npt.NDArray[np.float32],
    plan: ChunkPlan,
    config: DatasetConfig,
    sources: Sequence[SourceEntry],
    source_starts: Sequence[int],
    on_progress: ProgressFn | None,
) -> list[ChunkEntry]:
    """Cut the planned chunks from the silence-stripped `album` into FLAC files under tmp/chunks.

    `source_starts` are the sources' start samples in `album`, to say where each chunk comes from.
    """
    (tmp / "chunks").mkdir()
    every = max(1, config.n_chunks // 100)  # progress at most every 1%: callers may write a DB row
    entries = []
    for index, (start, split) in enumerate(zip(plan.starts, plan.splits, strict=True)):
        if index % every == 0:
            _report(on_progress, "write", index / config.n_chunks)
        src = bisect.bisect_right(source_starts, start) - 1
        rel = f"chunks/{index:06d}.flac"
        chunk = np.clip(album[start : start + config.chunk_samples], -1.0, 1.0)
        sf.write(str(tmp / rel), chunk, config.sample_rate, format="FLAC", subtype="PCM_16")
        entries.append(
            ChunkEntry(
                index=index,
                file=rel,
                split=split,
                source=sources[src].name,
                source_offset_s=round((start - source_starts[src]) / config.sample_rate, 6),
                album_offset_s=round(start / config.sample_rate, 6),
                sha256=hashlib.sha256((tmp / rel).read_bytes()).hexdigest(),
            )
        )
    _report(on_progress, "write", 1.0)
    return entries


def _make_manifest(
    config: DatasetConfig,
    report: silence.SilenceReport,
    sources: Sequence[SourceEntry],
    chunks: Sequence[ChunkEntry],
    sizes: tuple[int, int, int],
) -> Manifest:
    digest = hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode())
    for chunk in chunks:
        digest.update(chunk.sha256.encode())
    return Manifest(
        format_version=FORMAT_VERSION,
        dataset_id=digest.hexdigest()[:16],
        sample_rate=config.sample_rate,
        chunk_seconds=config.chunk_seconds,
        chunk_samples=config.chunk_samples,
        n_chunks=config.n_chunks,
        seed=config.seed,
        split_fractions=config.split,
        splits=dict(zip(SPLITS, sizes, strict=True)),
        silence=SilenceSummary(
            threshold_dbfs=config.silence_threshold_dbfs,
            min_seconds=config.min_silence_seconds,
            seconds_before=round(report.seconds_before, 6),
            seconds_after=round(report.seconds_after, 6),
            seconds_removed=round(report.seconds_removed, 6),
        ),
        sources=tuple(sources),
        chunks=tuple(chunks),
    )


def _install(tmp: Path, out_dir: Path) -> None:
    """Rename the finished `tmp` to `out_dir`, moving an existing `out_dir` aside first."""
    if not out_dir.exists():
        os.replace(tmp, out_dir)
        return
    old = out_dir.with_name(f".{out_dir.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(out_dir, old)
    try:
        os.replace(tmp, out_dir)
    except BaseException:
        os.replace(old, out_dir)  # put the previous dataset back
        raise
    shutil.rmtree(old, ignore_errors=True)
