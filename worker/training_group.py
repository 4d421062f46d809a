"""The devices a gpu worker trains one run on, and the data-parallel group over them.

A run asks for `RunPlan.gpus` ranks; the worker owns `settings.gpus` devices (`albumbot worker
--gpus all|N`): all or the first N CUDA devices, or, on a machine without CUDA, N CPU processes
(gloo). It trains on the smaller number. With more than one, this process is rank 0 (it keeps the
lease, writes the checkpoints, the catalog rows and the clips) and the other ranks are child
processes that write nothing (model/local_group.py); a rank that dies fails the job with its
reason, and the next attempt resumes from the last checkpoint like any other.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

import torch

from model.config import SampleRNNConfig, TrainConfig
from model.distributed import DistContext
from model.local_group import LocalGroup, RankJob


def training_devices(requested: Literal["all"] | int, owned: str) -> list[str]:
    """One device per rank: `requested` ranks, at most the `owned` ones ("all" or a count)."""
    if torch.cuda.is_available():
        count = torch.cuda.device_count()
        mine = count if owned == "all" else min(int(owned), count)
        kind = "cuda"
    else:
        mine = 1 if owned == "all" else int(owned)  # CPU processes: only as many as asked
        kind = "cpu"
    want = max(1, mine if requested == "all" else min(int(requested), mine))
    return [f"cuda:{i}" for i in range(want)] if kind == "cuda" else ["cpu"] * want


def threads_per_rank(devices: list[str], configured: int) -> int:
    """torch CPU threads of each rank (0: torch's default): CPU ranks share the cores."""
    if configured or len(devices) == 1 or devices[0] != "cpu":
        return configured
    return max(1, (os.cpu_count() or 1) // len(devices))


@contextmanager
def training_group(
    devices: list[str],
    model: SampleRNNConfig,
    train: TrainConfig,
    dataset_dir: Path,
    out_dir: Path,
    resume: Path | None,
    threads: int,
    until_epoch: int | None = None,
) -> Iterator[DistContext]:
    """This process's DistContext for training on `devices` (a run of one for one device)."""
    if len(devices) == 1:
        yield DistContext(device=torch.device(devices[0]))
        return
    job = RankJob(
        model=model.to_dict(), train=train.to_dict(), dataset_dir=str(dataset_dir),
        out_dir=str(out_dir), resume=None if resume is None else str(resume),
        devices=tuple(devices), threads=threads, until_epoch=until_epoch,
    )
    with LocalGroup(job) as dist:
        yield dist
