"""Data-parallel training on torch.distributed: which rank this process is, and what the ranks
of one run share.

A run trained on N ranks (DistributedDataParallel: NCCL between GPUs, gloo between CPU
processes) is the same run as on one: `TrainConfig.batch_size` is the global batch, each global
batch of the epoch's shuffled chunk order is cut into N contiguous shards, one per rank, and the
loss of a rank is weighted by its share, so DDP's averaged gradient is the gradient of the whole
batch's mean loss. Every rank starts from the same weights (same seed, or the same checkpoint)
and steps the same optimizer on the same averaged gradient. What differs from one rank is float
rounding only: per-rank GEMMs over fewer rows and the all-reduce sum in another order.

Rank 0 (`is_main`) alone writes: checkpoints, and whatever the caller's `on_epoch` writes; the
others wait for it at the end of each epoch (`after_epoch`, on the store when there is one, so
a long on_epoch, such as generating an epoch's clips, is not bounded by the collective timeout).

Processes join in one of two ways: `from_torchrun()` in a process started by torchrun (rank,
world size and rendezvous come from torchrun's environment, which torch.distributed reads), or
`join()` with a store, as model/local_group.py starts the ranks of a gpu worker.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

COLLECTIVE_TIMEOUT = timedelta(minutes=30)  # one training step, or one epoch's evaluation
EPOCH_WAIT = timedelta(hours=24)  # ranks > 0 waiting for rank 0's end-of-epoch work


@dataclass(frozen=True)
class DistContext:
    """This process's place in a data-parallel run (the default: a run of one)."""

    rank: int = 0
    world_size: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    store: Any = None  # a torch.distributed Store of the ranks, when they were joined by one

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def shard(self, n: int) -> tuple[int, int]:
        """Rows [start, stop) of a global batch of n rows that this rank trains on: contiguous,
        sizes differing by at most one, rank order."""
        base, extra = divmod(n, self.world_size)
        start = self.rank * base + min(self.rank, extra)
        return start, start + base + (1 if self.rank < extra else 0)

    def any(self, flag: bool) -> bool:
        """True on every rank when `flag` is True on any (e.g. rank 0 was asked to stop)."""
        if not self.active:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=self.device)
        dist.all_reduce(t, op=dist.ReduceOp.MAX)
        return bool(t.item() > 0)

    def sum(self, values: Sequence[float]) -> list[float]:
        """Element-wise sums over the ranks (float64)."""
        if not self.active:
            return [float(v) for v in values]
        t = torch.tensor(list(values), dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return [float(v) for v in t.tolist()]

    def wrap(self, model: nn.Module, *, unused_parameters: bool) -> nn.Module:
        """`model` under DistributedDataParallel (itself for a run of one).

        `unused_parameters`: some parameters get no gradient in some steps (SampleRNN's learned
        h0 only reaches the first segment of a chunk); DDP then leaves their grad None, as a run
        of one does, so Adam skips them alike.
        """
        if not self.active:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(
            model, device_ids=ids, find_unused_parameters=unused_parameters
        )

    def after_epoch(self, epoch: int) -> None:
        """Rank 0 calls this when its end-of-epoch work is done; the others wait for it."""
        if not self.active:
            return
        key = f"albumbot/epoch-{epoch}-done"
        if self.store is None:
            dist.barrier()
        elif self.is_main:
            self.store.set(key, "1")
        else:
            _wait_for_key(self.store, key, EPOCH_WAIT)


def backend(device: torch.device) -> str:
    return "nccl" if device.type == "cuda" else "gloo"


def join(
    rank: int, world_size: int, store: Any, device: torch.device,
    timeout: timedelta = COLLECTIVE_TIMEOUT,
) -> DistContext:
    """Join the process group of a run through `store` (every rank passes the same one)."""
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(
        backend(device), store=store, rank=rank, world_size=world_size, timeout=timeout
    )
    return DistContext(rank, world_size, device, store)


def from_torchrun(device_type: str, timeout: timedelta = COLLECTIVE_TIMEOUT) -> DistContext:
    """In a process started by torchrun: join its group (`env://`: torch reads the rendezvous
    torchrun set up) on `device_type` ("cpu", or "cuda" for this node's local rank's GPU)."""
    cuda = device_type.startswith("cuda")
    dist.init_process_group("nccl" if cuda else "gloo", timeout=timeout)
    local = dist.get_node_local_rank(fallback_rank=0)
    device = torch.device("cuda", local) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    return DistContext(dist.get_rank(), dist.get_world_size(), device, None)


def leave(ctx: DistContext) -> None:
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()


def abort() -> None:
    """Abort this process's group from another thread, so a collective waiting on a dead rank
    returns with an error (NCCL waits for its timeout otherwise; gloo notices a closed socket
    by itself)."""
    abort_group = getattr(dist.distributed_c10d, "_abort_process_group", None)
    if abort_group is not None and dist.is_initialized():
        abort_group()


def _wait_for_key(store: Any, key: str, timeout: timedelta) -> None:
    """Poll for `key`, giving up when the parent (rank 0, which holds the store) is gone."""
    parent, deadline = os.getppid(), time.monotonic() + timeout.total_seconds()
    while not store.check([key]):
        if os.getppid() != parent:
            raise RuntimeError("rank 0 is gone")
        if time.monotonic() > deadline:
            raise RuntimeError(f"rank 0 did not finish its epoch within {timeout}")
        time.sleep(0.05)
