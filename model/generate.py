"""Generation: clips of audio from a trained SampleRNN, streamed in blocks.

`generate_blocks` yields every finished block as soon as it exists, keeping only the sampler's
state between blocks, so a 4-minute (or 4-hour, or endless) stream needs bounded memory and a
caller can store or serve a clip while it is still being generated. `generate` drives it with an
`on_block` callback (and can also return the whole clips); `write_clips` is that callback for
files.

Streams are seeded one by one (model/streams.py): stream i of a call gets its own generator,
seeded `seeds[i]` (or `stream_seed(seed, i)`), for its random initial state and all its noise, so
a clip is the same audio whichever batch it is generated in (on one device, at one precision).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import math
import os
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from .quantize import dequantize, quantize, zero_level
from .sampler import Sampler, random_state
from .sampler_weights import Precision
from .samplernn import SampleRNN, State
from .streams import StreamNoise, generators, resolve_seeds

# Free space under which a failed audio write is taken for a full disk (a few blocks).
FULL_BELOW_BYTES = 64 * 1024

log = logging.getLogger(__name__)

# on_block(start, audio): `start` is the index of the block's first sample in every stream,
# `audio` [n, m] float32 in [-1, 1] holds the next m samples of the n streams, rows in the order
# of the seeds. Blocks arrive in order, without gaps; the last one may be shorter. Raising from
# the callback stops generation (write_clips then drops its partial files).
BlockCallback = Callable[[int, npt.NDArray[np.float32]], None]


def generate_blocks(
    model: SampleRNN,
    seeds: Sequence[int],
    *,
    seconds: float | None,
    temperature: float = 1.0,
    device: str | torch.device = "cpu",
    prime: npt.NDArray[np.floating[Any]] | None = None,
    block_seconds: float = 1.0,
    cuda_graph: bool = True,
    weights: Precision = "fp32",
    fused: bool = False,
) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
    """(start sample, audio [len(seeds), m] float32) for consecutive blocks of about
    `block_seconds`, until `seconds` per stream (None: for ever; stop iterating to end it).

    Arguments are checked before the first block is asked for. See `generate` for their meaning.
    """
    if seconds is not None and not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    if temperature < 0 or not math.isfinite(temperature):
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if not block_seconds > 0:
        raise ValueError(f"block_seconds must be > 0, got {block_seconds}")
    seeds = resolve_seeds(None, 0, seeds)
    device = torch.device(device)
    sampler = Sampler(model, len(seeds), device, weights=weights, fused=fused)
    total = None if seconds is None else int(round(seconds * model.cfg.sample_rate))
    return _blocks(model, sampler, seeds, total, temperature, prime, block_seconds, cuda_graph)


def _blocks(
    model: SampleRNN,
    sampler: Sampler,
    seeds: list[int],
    total: int | None,
    temperature: float,
    prime: npt.NDArray[np.floating[Any]] | None,
    block_seconds: float,
    cuda_graph: bool,
) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
    cfg, device, n = model.cfg, sampler.device, len(seeds)
    with torch.inference_mode():
        gens = generators(seeds, device)
        if prime is None:
            sampler.reset(gens)
        else:
            state, history = _prime_state(model, prime, gens, device)
            sampler.reset(gens, state=state, history=history)
        noise = StreamNoise(gens, sampler.n_top, cfg.q_levels, temperature, device)
        if cuda_graph and device.type == "cuda":
            sampler.capture()
    frames_per_block = max(1, int(block_seconds * cfg.sample_rate) // sampler.n_top)
    done = 0
    while total is None or done < total:
        left = frames_per_block if total is None else -(-(total - done) // sampler.n_top)
        frames = min(frames_per_block, left)
        with torch.inference_mode():
            block = torch.empty(n, frames * sampler.n_top, dtype=torch.long, device=device)
            for i in range(frames):
                sampler.set_noise(noise.frame())
                block[:, i * sampler.n_top : (i + 1) * sampler.n_top] = sampler.step_frame()
            audio = dequantize(block, cfg.q_levels, cfg.quantization).float().cpu().numpy()
        if total is not None:
            audio = audio[:, : total - done]
        yield done, audio
        done += audio.shape[1]


def generate(
    model: SampleRNN,
    *,
    n: int | None = None,
    seconds: float,
    temperature: float = 1.0,
    seed: int = 0,
    seeds: Sequence[int] | None = None,
    device: str | torch.device = "cpu",
    prime: npt.NDArray[np.floating[Any]] | None = None,
    block_seconds: float = 1.0,
    on_block: BlockCallback | None = None,
    keep: bool = True,
    cuda_graph: bool = True,
    weights: Precision = "fp32",
    fused: bool = False,
) -> npt.NDArray[np.float32] | None:
    """Sample `n` clips of `seconds` each, as one batch.

    Parameters
    ----------
    n, seed, seeds : the streams: `seeds` gives each clip's own seed (then n is len(seeds));
        otherwise clip i is seeded `stream_seed(seed, i)`. A clip's audio depends on its seed,
        the model and the options, not on n: clip 0 of n = 1 is clip 0 of n = 8.
    temperature : scales the sampling noise; 1 samples the model's distribution, 0 is greedy.
    prime : float audio [samples] or [n, samples] at the model's sample rate. The streams first
        read it (warming the RNN state), then continue from its end; the prime is not returned.
    on_block : called with (start sample, audio [n, m] float32) for every finished block (see
        `BlockCallback`).
    keep : also return the whole clips, [n, samples] float32; False keeps memory bounded.
    weights : "fp32" (exact) or "int8" (CPU, a quarter of the bytes; model/sampler_weights.py).
    fused : CUDA (or Triton's interpreter): the sample-level steps of a frame as one Triton
        kernel (model/fused_step.py).
    """
    stream_seeds = resolve_seeds(n, seed, seeds)
    pieces: list[npt.NDArray[np.float32]] = []
    blocks = generate_blocks(
        model, stream_seeds, seconds=seconds, temperature=temperature, device=device,
        prime=prime, block_seconds=block_seconds, cuda_graph=cuda_graph, weights=weights,
        fused=fused,
    )
    for start, audio in blocks:
        if on_block is not None:
            on_block(start, audio)
        if keep:
            pieces.append(audio)
    return np.concatenate(pieces, axis=1) if keep else None


def _prime_state(
    model: SampleRNN,
    prime: npt.NDArray[np.floating[Any]],
    gens: Sequence[torch.Generator],
    device: torch.device,
) -> tuple[State, torch.Tensor]:
    """Run the frame tiers over the prime from each stream's random initial state; returns their
    final state and the last frame."""
    cfg, n = model.cfg, len(gens)
    prime = np.asarray(prime, dtype=np.float32)
    if prime.ndim == 1:
        prime = np.broadcast_to(prime, (n, prime.shape[0]))
    if prime.shape[0] != n:
        raise ValueError(f"prime has {prime.shape[0]} streams, expected 1 or {n}")
    usable = prime.shape[1] // cfg.lookback * cfg.lookback
    if usable == 0:
        raise ValueError(f"prime must be at least {cfg.lookback} samples long")
    levels = quantize(prime[:, -usable:], cfg.q_levels, cfg.quantization)
    q = torch.as_tensor(levels, device=device)
    pad = torch.full((n, cfg.lookback), zero_level(cfg.q_levels), dtype=torch.long, device=device)
    x = torch.cat([pad, q], dim=1)  # [n, lookback + usable]
    model = model.to(device).eval()
    state: State = [
        [
            tuple(
                torch.stack([random_state(s[b], i, gen) for b, gen in enumerate(gens)])
                for i, s in enumerate(layer)
            )
            for layer in tier
        ]
        for tier in model.initial_state(n)
    ]
    _, state = model.frame_conditioning(x, state)
    return state, q[:, -cfg.lookback :]


# -- writing clips ---------------------------------------------------------------------------

FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16")}


def audio_format(path: Path) -> tuple[str, str]:
    ext = path.suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise ValueError(f"{path}: clips are written as .wav or .flac, not .{ext or '(none)'}")
    return FORMATS[ext]


@contextlib.contextmanager
def write_clips(paths: Sequence[Path], sample_rate: int) -> Iterator[BlockCallback]:
    """Open one file per stream and yield a block callback that appends to them.

    Files are written under a temporary name and renamed into place only when the block with
    exit without error; on error the partial files are removed.
    """
    import soundfile as sf  # only here: generation itself needs no audio I/O library

    paths = [Path(p) for p in paths]
    tmps = [p.with_name(f".{p.name}.part") for p in paths]
    files = []
    try:
        for p, tmp in zip(paths, tmps, strict=True):
            fmt, subtype = audio_format(p)
            p.parent.mkdir(parents=True, exist_ok=True)
            files.append(sf.SoundFile(tmp, "w", sample_rate, 1, subtype, format=fmt))

        def on_block(start: int, audio: npt.NDArray[np.float32]) -> None:
            for f, clip in zip(files, audio, strict=False):
                f.write(clip)

        yield on_block
        for f in files:
            f.close()  # flushes: on a full disk this is where the write fails
    except BaseException as exc:
        disk = disk_error(paths[0].parent, paths[0].name) if paths else None
        for f in files:
            with contextlib.suppress(Exception):
                f.close()
        for tmp in tmps:
            tmp.unlink(missing_ok=True)
        if disk is not None and not isinstance(exc, OSError):
            raise disk from exc
        raise
    for p, tmp in zip(paths, tmps, strict=True):
        os.replace(tmp, p)


def disk_error(folder: Path, name: str) -> OSError | None:
    """The OSError behind a failed audio write, when the filesystem is full or read-only.

    libsndfile reports both as a bare "System error" without errno; the filesystem itself
    tells which it was.
    """
    try:
        st = os.statvfs(folder)
    except OSError:
        return None
    if st.f_flag & os.ST_RDONLY:
        return OSError(errno.EROFS, os.strerror(errno.EROFS), name)
    if st.f_bavail * st.f_frsize < FULL_BELOW_BYTES:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), name)
    return None
