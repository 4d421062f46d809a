"""Throughput measurements of generation and training (used by `albumbot bench`)."""

from __future__ import annotations

import os
import platform
import time
from typing import Any

import torch

from .config import SampleRNNConfig, TrainConfig
from .generate import generate
from .samplernn import SampleRNN, count_parameters

REALTIME_RATE = 16000  # realtime_factor is quoted at 16 kHz whatever the model's rate


def _device_info(device: torch.device, threads: int) -> dict[str, Any]:
    info = {"device": str(device), "threads": threads, "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count()}
    if device.type == "cuda":
        info["device_name"] = torch.cuda.get_device_name(device)
    return info


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def bench_generate(
    cfg: SampleRNNConfig, *, batch: int, samples: int, threads: int = 1,
    device: str = "cpu", cuda_graph: bool = True,
) -> dict[str, Any]:
    torch.set_num_threads(threads)
    dev = torch.device(device)
    torch.manual_seed(0)
    model = SampleRNN(cfg).to(dev).eval()
    seconds = samples / cfg.sample_rate
    # Warm-up: first-call allocations, kernel selection and (CUDA) graph capture.
    warm_seconds = min(seconds, 0.1)
    generate(model, n=batch, seconds=warm_seconds, device=dev, keep=False, cuda_graph=cuda_graph)
    _sync(dev)
    t0 = time.perf_counter()
    generate(model, n=batch, seconds=seconds, device=dev, keep=False, cuda_graph=cuda_graph)
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
        "parameters": count_parameters(model),
        "config": cfg.to_dict(),
        **_device_info(dev, threads),
    }


def bench_train(
    cfg: SampleRNNConfig, *, batch: int, seq_len: int, steps: int,
    threads: int | None = None, device: str = "cpu",
) -> dict[str, Any]:
    from .train import new_state, train_step

    if threads:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    tcfg = TrainConfig(batch_size=batch, seq_len=seq_len)
    state = new_state(cfg, tcfg, None, dev)
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
    total = batch * seq_len * steps / wall
    return {
        "benchmark": "train",
        "samples_per_s_total": round(total, 1),
        "samples_per_s_per_stream": round(total / batch, 1),
        "realtime_factor": round(total / batch / REALTIME_RATE, 4),
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
