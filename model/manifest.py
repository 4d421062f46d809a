"""A prepared dataset on disk: its `manifest.json`, and reading its chunks back.

Layout of a dataset directory (written by `model.dataset.prepare_dataset`)::

    manifest.json          what `Manifest.save` writes (format_version 1)
    chunks/000000.flac     chunk 0 (16-bit FLAC, mono, `chunk_samples` long), ...
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf

from model import audio
from model.chunking import SPLITS

FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"


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


def load_split(dataset_dir: str | Path, split: str) -> npt.NDArray[np.float32]:
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
