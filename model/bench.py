"""Throughput measurements of generation and training (used by `albumbot bench`)."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import numpy as np
import torch

from .config import SampleRNNConfig, TrainConfig
from .distributed import DistContext
from .generate import generate
from .sampler_weights import Precision
from .samplernn import SampleRNN, count_parameters
from .streams import stream_seed

REALTIME_RATE = 16000  # realtime_factor is quoted at 16 kHz whatever the model's rate


def _device_info(device: torch.device, threads: int) -> dict[str, Any]:
    info = {"device": str(device), "threads": threads, "torch": torch.__version__,
            "cpu": _cpu_name(), "cpu_count": os.cpu_count(),
            "load_avg": [round(x, 2) for x in os.getloadavg()]}  # other work on the machine
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
    return info


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_generate(
    cfg: SampleRNNConfig, *, batch: int, samples: int, threads: int = 1,
    device: str = "cpu", cuda_graph: bool = True, weights: Precision = "fp32",
    fused: bool = False,
) -> dict[str, Any]:
    torch.set_num_threads(threads)
    dev = torch.device(device)
    torch.manual_seed(0)
    model = SampleRNN(cfg).to(dev).eval()
    seconds = samples / cfg.sample_rate
    options = dict(device=dev, keep=False, cuda_graph=cuda_graph, weights=weights, fused=fused)
    # Warm-up: first-call allocations, kernel selection and (CUDA) graph capture.
    generate(model, n=batch, seconds=min(seconds, 0.1), **options)  # type: ignore[arg-type]
    _sync(dev)
    t0 = time.perf_counter()
    generate(model, n=batch, seconds=seconds, **options)  # type: ignore[arg-type]
    _sync(dev)
    wall = time.perf_counter() - t0
    per_stream = samples / wall
    return {
        "benchmark": "generate",
        "samples_per_s_total": round(per_stream * batch, 1),
        "samples_per_s_per_stream": round(per_stream, 1),
        "realtime_factor": round(per_stream / REALTIME_RATE, 4),
        "realtime_factor_total": round(per_stream * batch / REALTIME_RATE, 3),
        "batch": batch,
        "samples_per_stream": samples,
        "wall_s": round(wall, 3),
        "cuda_graph": cuda_graph and dev.type == "cuda",
        "weights": weights,
        "fused": fused,
        "parameters": count_parameters(model),
        "config": cfg.to_dict(),
        **_device_info(dev, threads),
    }


def bench_clips(
    cfg: SampleRNNConfig, *, clips: int, seconds: float, threads: int = 1, device: str = "cpu",
    weights: Precision = "fp32", fused: bool = False,
) -> dict[str, Any]:
    """k clips of one checkpoint as one batch against one clip alone: the wall time of each,
    and whether clip 0 came out the same both times (it must: each clip has its own seed)."""
    torch.set_num_threads(threads)
    dev = torch.device(device)
    torch.manual_seed(0)
    model = SampleRNN(cfg).to(dev).eval()
    seeds = [stream_seed(0, i) for i in range(clips)]
    options: dict[str, Any] = dict(device=dev, weights=weights, fused=fused)
    generate(model, seeds=seeds, seconds=0.05, keep=False, **options)  # warm-up
    walls, outs = [], []
    for batch in (seeds[:1], seeds):
        _sync(dev)
        t0 = time.perf_counter()
        outs.append(generate(model, seeds=batch, seconds=seconds, **options))
        _sync(dev)
        walls.append(time.perf_counter() - t0)
    one, k_clips = walls
    samples = int(round(seconds * cfg.sample_rate))
    return {
        "benchmark": "clips",
        "clips": clips,
        "seconds_per_clip": seconds,
        "one_clip_s": round(one, 3),
        "k_clips_s": round(k_clips, 3),
        "k_times_one_clip_s": round(clips * one, 3),
        "speedup_vs_one_by_one": round(clips * one / k_clips, 2),
        "samples_per_s_total": round(clips * samples / k_clips, 1),
        "clip0_identical": bool(np.array_equal(outs[0][0], outs[1][0])),  # type: ignore[index]
        "weights": weights,
        "fused": fused,
        "parameters": count_parameters(model),
        "config": cfg.to_dict(),
        **_device_info(dev, threads),
    }


def bench_train(
    cfg: SampleRNNConfig, *, batch: int, seq_len: int, steps: int,
    threads: int | None = None, device: str = "cpu", dist: DistContext | None = None,
) -> dict[str, Any]:
    """TBPTT steps on random data. With `dist` (a data-parallel rank), `batch` is this rank's
    rows and samples_per_s_total counts every rank's."""
    from .train import new_state, train_step

    if threads:
        torch.set_num_threads(threads)
    dist = dist or DistContext()
    dev = dist.device if dist.active else torch.device(device)
    tcfg = TrainConfig(batch_size=batch * dist.world_size, seq_len=seq_len)
    state = new_state(cfg, tcfg, None, dev, dist)
    x = torch.randint(0, cfg.q_levels, (batch, cfg.lookback + seq_len), device=dev)
    rnn_state = state.model.initial_state(batch)
    for _ in range(2):  # warm-up
        _, rnn_state = train_step(state, x, rnn_state)
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(steps):
        loss, rnn_state = train_step(state, x, rnn_state)
    loss.item()
    _sync(dev)
    wall = time.perf_counter() - t0
    total = batch * dist.world_size * seq_len * steps / wall
    return {
        "benchmark": "train",
        "world_size": dist.world_size,
        "samples_per_s_total": round(total, 1),
        "samples_per_s_per_stream": round(total / tcfg.batch_size, 1),
        "realtime_factor": round(total / tcfg.batch_size / REALTIME_RATE, 4),
        "realtime_factor_total": round(total / REALTIME_RATE, 3),
        "batch": batch,
        "seq_len": seq_len,
        "steps": steps,
        "wall_s": round(wall, 3),
        "amp": tcfg.amp and dev.type == "cuda",
        "parameters": count_parameters(state.model),
        "config": cfg.to_dict(),
        **_device_info(dev, torch.get_num_threads()),
    }
