"""Per-stream randomness for generation: every stream (clip) draws from a generator of its own.

A clip's audio is a function of its own seed, never of the batch it was generated in: stream b's
random initial state and all its sampling noise come from generator b alone, in a fixed order
(the initial state first, then noise in blocks of `noise_frames` frames, a size that depends on
the model's shape only). With a batch-invariant sampler (model/sampler.py) the k clips of one
batch are therefore the same audio as k separate calls, whatever k is.

Noise is drawn in blocks of frames (one generator call per stream per block, not per frame):
fewer calls than one per frame, and memory stays bounded at any batch (at 128 streams of the
2-tier model a block is 128 x 32 frames x 16 x 256 levels x 4 bytes = 64 MB).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from .sampler import gumbel_

NOISE_SAMPLES = 512  # samples per noise block (rounded down to whole top-level frames)
MAX_BLOCK_VALUES = 2**21  # per stream, caps a block for models with many quantization levels


def stream_seed(seed: int, index: int) -> int:
    """The seed of stream `index` of a generation call seeded `seed` (63 bits)."""
    state = np.random.SeedSequence([int(seed) % 2**63, int(index)]).generate_state(1, np.uint64)
    return int(state[0]) >> 1


def resolve_seeds(n: int | None, seed: int, seeds: Sequence[int] | None) -> list[int]:
    """Streams' seeds: `seeds` as given, or stream_seed(seed, i) for i < n."""
    if seeds is not None:
        if n is not None and n != len(seeds):
            raise ValueError(f"n={n} but {len(seeds)} seeds were given")
        if not seeds:
            raise ValueError("seeds must not be empty")
        return [int(s) for s in seeds]
    if n is None or n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    return [stream_seed(seed, i) for i in range(n)]


def generators(seeds: Sequence[int], device: torch.device) -> list[torch.Generator]:
    return [torch.Generator(device=device).manual_seed(int(s)) for s in seeds]


def noise_frames(n_top: int, q_levels: int) -> int:
    """Top-level frames per noise block: fixed by the model's shape, never by the batch."""
    return max(1, min(NOISE_SAMPLES // n_top, MAX_BLOCK_VALUES // (n_top * q_levels)))


class StreamNoise:
    """temperature x Gumbel noise for B streams, [B, n_top, Q] per frame, each stream from its
    own generator. Temperature 0 (greedy) draws nothing."""

    def __init__(
        self,
        gens: Sequence[torch.Generator],
        n_top: int,
        q_levels: int,
        temperature: float,
        device: torch.device,
    ) -> None:
        self.gens, self.temperature = list(gens), temperature
        self.frames = noise_frames(n_top, q_levels)
        shape = (len(self.gens), self.frames, n_top, q_levels)
        self.block = torch.zeros(shape, device=device)  # [B, frames, n_top, Q]
        self.next = self.frames  # frame of the block to hand out next; starts "used up"

    def frame(self) -> torch.Tensor:
        """Noise for the next frame, [B, n_top, Q] (a view, valid until the next call)."""
        if self.temperature == 0:
            return self.block[:, 0]
        if self.next == self.frames:
            for b, gen in enumerate(self.gens):
                torch.rand(self.block.shape[1:], generator=gen, device=self.block.device,
                           out=self.block[b])
            gumbel_(self.block, self.temperature)
            self.next = 0
        self.next += 1
        return self.block[:, self.next - 1]
