"""Generation: n clips x seconds of audio from a trained SampleRNN, streamed in blocks.

`generate` hands every finished block to a callback as soon as it exists, keeping only the
sampler's state between blocks, so a 4-minute (or 4-hour) clip needs bounded memory and a caller
can store or serve a clip while it is still being generated. `write_clips` is that callback for
files.
"""

from __future__ import annotations

import contextlib
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
from .samplernn import SampleRNN, State

log = logging.getLogger(__name__)

# (first sample index, audio [n, m] float32)
BlockCallback = Callable[[int, npt.NDArray[np.float32]], None]


@torch.inference_mode()
def generate(
    model: SampleRNN,
    *,
    n: int,
    seconds: float,
    temperature: float = 1.0,
    seed: int = 0,
    device: str | torch.device = "cpu",
    prime: npt.NDArray[np.floating[Any]] | None = None,
    block_seconds: float = 1.0,
    on_block: BlockCallback | None = None,
    keep: bool = True,
    cuda_graph: bool = True,
) -> npt.NDArray[np.float32] | None:
    """Sample `n` clips of `seconds` each.

    Parameters
    ----------
    temperature : scales the sampling noise; 1 samples the model's distribution, 0 is greedy.
    seed : same seed, same model and arguments -> identical samples (on the same device).
    prime : float audio [samples] or [n, samples] at the model's sample rate. The streams first
        read it (warming the RNN state), then continue from its end; the prime is not returned.
    on_block : called with (start sample, audio [n, m] float32) for every finished block.
    keep : also return the whole clips, [n, samples] float32; False keeps memory bounded.
    """
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if not seconds > 0:
        raise ValueError(f"seconds must be > 0, got {seconds}")
    if temperature < 0 or not math.isfinite(temperature):
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    cfg = model.cfg
    device = torch.device(device)
    total = int(round(seconds * cfg.sample_rate))
    sampler = Sampler(model, n, device)
    gen = torch.Generator(device=device).manual_seed(int(seed))
    if prime is None:
        sampler.reset(gen)
    else:
        state, history = _prime_state(model, prime, n, gen, device)
        sampler.reset(gen, state=state, history=history)
    if cuda_graph and device.type == "cuda":
        sampler.capture()

    frames_per_block = max(1, int(block_seconds * cfg.sample_rate) // sampler.n_top)
    pieces: list[npt.NDArray[np.float32]] = []
    done = 0
    while done < total:
        frames = min(frames_per_block, -(-(total - done) // sampler.n_top))  # ceil
        block = torch.empty(n, frames * sampler.n_top, dtype=torch.long, device=device)
        for i in range(frames):
            sampler.draw_noise(gen, temperature)
            block[:, i * sampler.n_top : (i + 1) * sampler.n_top] = sampler.step_frame()
        audio = dequantize(block, cfg.q_levels, cfg.quantization).float().cpu().numpy()
        audio = audio[:, : total - done]
        if on_block is not None:
            on_block(done, audio)
        if keep:
            pieces.append(audio)
        done += audio.shape[1]
    return np.concatenate(pieces, axis=1) if keep else None


def _prime_state(
    model: SampleRNN,
    prime: npt.NDArray[np.floating[Any]],
    n: int,
    gen: torch.Generator,
    device: torch.device,
) -> tuple[State, torch.Tensor]:
    """Run the frame tiers over the prime; returns their final state and the last frame."""
    cfg = model.cfg
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
        [tuple(random_state(s, i, gen) for i, s in enumerate(layer)) for layer in tier]
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
    except BaseException:
        for f in files:
            f.close()
        for tmp in tmps:
            tmp.unlink(missing_ok=True)
        raise
    for f in files:
        f.close()
    for p, tmp in zip(paths, tmps, strict=True):
        os.replace(tmp, p)
