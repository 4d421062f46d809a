"""Album files -> a SampleRNN dataset of overlapping chunks (the paper's recipe).

Pipeline of `prepare_dataset`: decode each file -> mono -> remove DC -> resample (soxr) ->
concatenate the album in order -> remove silences -> cut `n_chunks` overlapping chunks spread evenly
over the album -> shuffle their order with the seed -> split 88/6/6 -> write FLAC chunks and
`manifest.json`. Everything is written into a hidden sibling directory that is renamed into place at
the end, so a failure never leaves a half-written dataset.

Layout of a dataset directory::

    manifest.json          what `Manifest.save` writes (format_version 1)
    chunks/000000.flac     chunk 0 (16-bit FLAC, mono, `chunk_samples` long), ...
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
import soundfile as sf

from model import audio, silence

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
SPLITS = ("train", "valid", "test")
MANIFEST_NAME = "manifest.json"
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


@dataclass(frozen=True)
class SourceEntry:
    path: str
    name: str
    format: str
    sample_rate: int  # the file's own rate, before resampling
    channels: int
    seconds: float  # decoded length, before silence removal


@dataclass(frozen=True)
class ChunkEntry:
    index: int
    file: str  # relative to the dataset directory
    split: str
    source: str  # name of the source file where the chunk starts
    source_offset_s: float  # into that source's silence-stripped audio
    album_offset_s: float  # into the silence-stripped album
    sha256: str  # of the FLAC file


@dataclass(frozen=True)
class SilenceSummary:
    threshold_dbfs: float
    min_seconds: float
    seconds_before: float
    seconds_after: float
    seconds_removed: float


@dataclass(frozen=True)
class Manifest:
    """The description of a dataset directory; `save`/`load` round-trip it as JSON."""

    format_version: int
    dataset_id: str  # first 16 hex of sha256 over the config and every chunk's sha256
    sample_rate: int
    chunk_seconds: float
    chunk_samples: int
    n_chunks: int
    seed: int
    split_fractions: tuple[float, ...]
    splits: dict[str, int]
    silence: SilenceSummary
    sources: tuple[SourceEntry, ...]
    chunks: tuple[ChunkEntry, ...]

    def chunks_in(self, split: str) -> list[ChunkEntry]:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
        return [c for c in self.chunks if c.split == split]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["split_fractions"] = list(self.split_fractions)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"unsupported dataset manifest format_version {version!r} "
                f"(this albumbot reads {FORMAT_VERSION})"
            )
        try:
            return cls(
                **{
                    **d,
                    "split_fractions": tuple(d["split_fractions"]),
                    "silence": SilenceSummary(**d["silence"]),
                    "sources": tuple(SourceEntry(**s) for s in d["sources"]),
                    "chunks": tuple(ChunkEntry(**c) for c in d["chunks"]),
                }
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed dataset manifest: {exc}") from None

    def save(self, path: str | Path) -> None:
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | Path) -> Manifest:
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no dataset manifest here")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path}: not a valid JSON manifest ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"{path}: not a dataset manifest")
        return cls.from_dict(data)


def load_manifest(dataset_dir: str | Path) -> Manifest:
    """The manifest of a dataset directory made by `prepare_dataset`."""
    return Manifest.load(Path(dataset_dir) / MANIFEST_NAME)


def load_split(dataset_dir: str | Path, split: str) -> np.ndarray:
    """All chunks of one split, in manifest order.

    Returns
    -------
    np.ndarray[float32, n_chunks_in_split x chunk_samples]
    """
    dataset_dir = Path(dataset_dir)
    manifest = load_manifest(dataset_dir)
    entries = manifest.chunks_in(split)
    out = np.zeros((len(entries), manifest.chunk_samples), dtype=np.float32)
    for row, entry in enumerate(entries):
        path = dataset_dir / entry.file
        try:
            x, sr = sf.read(str(path), dtype="float32")
        except sf.SoundFileError as exc:
            raise audio.AudioError(path, f"unreadable chunk ({exc})") from None
        if sr != manifest.sample_rate or x.shape != (manifest.chunk_samples,):
            expected = f"{manifest.chunk_samples} mono samples at {manifest.sample_rate} Hz"
            raise audio.AudioError(path, f"expected {expected}, got shape {x.shape} at {sr} Hz")
        out[row] = x
    return out


def chunk_starts(album_samples: int, chunk_samples: int, n_chunks: int) -> np.ndarray:
    """Start samples of `n_chunks` chunks spread evenly from the album's start to its end.

    Chunk i starts at round(i * (L - C) / (N - 1)); neighbours overlap when N * C > L.
    """
    if album_samples < chunk_samples:
        raise ValueError(
            f"album of {album_samples} samples is shorter than one chunk ({chunk_samples})"
        )
    if n_chunks == 1:
        return np.zeros(1, dtype=np.int64)
    span = album_samples - chunk_samples
    return np.array([round(i * span / (n_chunks - 1)) for i in range(n_chunks)], dtype=np.int64)


def split_sizes(n_chunks: int, fractions: Sequence[float]) -> tuple[int, int, int]:
    """(train, valid, test) counts: valid and test rounded, at least 1 each (when their fraction
    is > 0 and there are 3 or more chunks), train gets the rest."""
    sizes = [round(n_chunks * f) for f in fractions[1:]]
    if n_chunks >= 3:
        sizes = [max(1, s) if f > 0 else s for s, f in zip(sizes, fractions[1:])]
    while n_chunks - sum(sizes) < 1 and sum(sizes) > 0:  # train keeps at least one chunk
        sizes[int(np.argmax(sizes))] -= 1
    return n_chunks - sum(sizes), sizes[0], sizes[1]


def _report(on_progress: ProgressFn | None, stage: str, fraction: float) -> None:
    if on_progress is not None:
        on_progress(stage, min(1.0, max(0.0, fraction)))


def _load_album(
    paths: Sequence[Path], sample_rate: int, on_progress: ProgressFn | None
) -> tuple[np.ndarray, list[int], list[SourceEntry]]:
    """Decode, downmix, de-offset and resample every file, then join them in order.

    Returns the album np.ndarray[float32, samples], each source's start sample in it, and the
    sources' descriptions.
    """
    pieces, starts, entries = [], [], []
    position = 0
    for i, path in enumerate(paths):
        _report(on_progress, "decode", i / len(paths))
        data, info = audio.decode_with_info(path)
        mono = audio.resample(audio.remove_dc(audio.to_mono(data)), info.sample_rate, sample_rate)
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
    offsets = chunk_starts(len(stripped), config.chunk_samples, config.n_chunks)
    order = np.random.default_rng(config.seed).permutation(config.n_chunks)
    sizes = split_sizes(config.n_chunks, config.split)
    labels = [name for name, size in zip(SPLITS, sizes) for _ in range(size)]

    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        # Not tempfile.mkdtemp: its 0700 mode would stick to the dataset; os.mkdir honours umask.
        tmp = out_dir.with_name(f".{out_dir.name}.tmp-{uuid.uuid4().hex[:8]}")
        tmp.mkdir()
    except OSError as exc:
        raise DatasetError(f"{out_dir}: cannot create the dataset there ({exc.strerror})") from None
    every = max(1, config.n_chunks // 100)  # progress at most every 1%: callers may write a DB row
    try:
        (tmp / "chunks").mkdir()
        chunk_entries = []
        for index, k in enumerate(order):
            if index % every == 0:
                _report(on_progress, "write", index / config.n_chunks)
            start = int(offsets[k])
            src = bisect.bisect_right(stripped_starts, start) - 1
            rel = f"chunks/{index:06d}.flac"
            chunk = np.clip(stripped[start : start + config.chunk_samples], -1.0, 1.0)
            sf.write(str(tmp / rel), chunk, config.sample_rate, format="FLAC", subtype="PCM_16")
            chunk_entries.append(
                ChunkEntry(
                    index=index,
                    file=rel,
                    split=labels[index],
                    source=source_entries[src].name,
                    source_offset_s=round((start - stripped_starts[src]) / config.sample_rate, 6),
                    album_offset_s=round(start / config.sample_rate, 6),
                    sha256=hashlib.sha256((tmp / rel).read_bytes()).hexdigest(),
                )
            )
        _report(on_progress, "write", 1.0)
        manifest = _make_manifest(config, report, source_entries, chunk_entries, sizes)
        manifest.save(tmp / MANIFEST_NAME)
        _install(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return manifest


def _make_manifest(
    config: DatasetConfig,
    report: silence.SilenceReport,
    sources: list[SourceEntry],
    chunks: list[ChunkEntry],
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
        splits=dict(zip(SPLITS, sizes)),
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
