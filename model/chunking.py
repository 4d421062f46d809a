"""Where a dataset's chunks come from: evenly spread starts, a seeded order, and the splits.

The paper's recipe cuts `n_chunks` overlapping chunks spread evenly over the (silence-stripped)
album, shuffles their order with the seed and splits them 88/6/6 into train, valid and test. This
module only plans that, in sample positions; `model.dataset` cuts and writes the chunks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class ChunkPlan:
    """The chunks of a dataset in the order they are written (chunk i is file i)."""

    starts: tuple[int, ...]  # start sample of chunk i in the album
    splits: tuple[str, ...]  # split of chunk i, one of `SPLITS`
    sizes: tuple[int, int, int]  # chunks in train, valid, test


def chunk_starts(album_samples: int, chunk_samples: int, n_chunks: int) -> npt.NDArray[np.int64]:
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
        sizes = [max(1, s) if f > 0 else s for s, f in zip(sizes, fractions[1:], strict=True)]
    while n_chunks - sum(sizes) < 1 and sum(sizes) > 0:  # train keeps at least one chunk
        sizes[int(np.argmax(sizes))] -= 1
    return n_chunks - sum(sizes), sizes[0], sizes[1]


def plan_chunks(
    album_samples: int,
    chunk_samples: int,
    n_chunks: int,
    *,
    seed: int,
    split: Sequence[float],
) -> ChunkPlan:
    """Evenly spread chunks (`chunk_starts`) in an order shuffled by `seed`, the first
    `sizes[0]` of them train, then valid, then test (`split_sizes`)."""
    offsets = chunk_starts(album_samples, chunk_samples, n_chunks)
    order = np.random.default_rng(seed).permutation(n_chunks)
    sizes = split_sizes(n_chunks, split)
    labels = [name for name, size in zip(SPLITS, sizes, strict=True) for _ in range(size)]
    return ChunkPlan(
        starts=tuple(int(offsets[k]) for k in order),
        splits=tuple(labels),
        sizes=sizes,
    )
