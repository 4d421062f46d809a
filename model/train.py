"""Training: truncated backpropagation through time over album chunks, one checkpoint per epoch.

An epoch is one pass over the train split. Chunks are shuffled (seeded by the run seed and the
epoch, so a resumed run sees the same order it would have seen) and taken B at a time; each batch
walks its chunks from start to end in `seq_len`-sample segments, carrying the RNN state from one
segment to the next (detached: gradients stop at segment boundaries) and starting from the learned
h0 at the start of each chunk.

Data-parallel (model/distributed.py): with a DistContext of N ranks, `batch_size` stays the
global batch; each rank trains on its contiguous shard of every batch of the same epoch order,
DDP averages the gradients, and rank 0 alone writes checkpoints and calls `on_epoch`. The loss
curve, the steps and the optimizer state are those of one rank with the whole batch, up to float
rounding. (A last batch with fewer chunks than ranks is dropped when N > 1: every rank must step.)
"""

from __future__ import annotations

import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F_
from torch import nn

from .checkpoint import (
    Checkpoint,
    CheckpointError,
    config_mismatch,
    load_checkpoint,
    save_checkpoint,
)
from .config import SampleRNNConfig, TrainConfig
from .distributed import DistContext
from .quantize import quantize, zero_level
from .samplernn import SampleRNN, State, detach_state

log = logging.getLogger(__name__)
LN2 = math.log(2.0)


@dataclass
class Progress:
    epoch: int  # 1-based epoch being trained
    step: int  # optimizer steps so far in the run
    fraction: float  # of this epoch, 0..1
    loss_bits: float  # training NLL of the last step, bits per sample


@dataclass
class EpochResult:
    epoch: int
    step: int
    train_nll_bits: float
    valid_nll_bits: float
    checkpoint: Path
    seconds: float
    world_size: int = 1  # data-parallel ranks that trained this epoch


@dataclass
class TrainResult:
    epochs: list[EpochResult]
    last_checkpoint: Path | None
    test_nll_bits: float | None
    stopped: bool  # should_stop() asked us to stop before the last epoch ended


@dataclass
class TrainState:
    model: SampleRNN
    optimizer: torch.optim.Optimizer
    model_cfg: SampleRNNConfig
    train_cfg: TrainConfig
    dataset_id: str | None
    epoch: int = 0  # epochs completed
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per epoch
    dist: DistContext = field(default_factory=DistContext)
    net: nn.Module | None = None  # what the steps run: `model`, or `model` under DDP

    def __post_init__(self) -> None:
        if self.net is None:
            self.net = self.dist.wrap(self.model, unused_parameters=self.model_cfg.learn_h0)


def checkpoint_path(out_dir: Path, epoch: int) -> Path:
    return Path(out_dir) / f"epoch-{epoch:04d}.pt"


def quantized_chunks(
    audio: npt.NDArray[np.float32], cfg: SampleRNNConfig, seq_len: int
) -> torch.Tensor:
    """Chunks [N, S] float -> [N, lookback + S'] levels: S' = S cut to whole segments, with
    `lookback` samples of silence in front so the first segment has a history."""
    usable = audio.shape[1] // seq_len * seq_len
    if usable == 0:
        raise ValueError(f"chunks of {audio.shape[1]} samples are shorter than seq_len {seq_len}")
    q = torch.from_numpy(quantize(audio[:, :usable], cfg.q_levels, cfg.quantization))
    pad = torch.full((q.shape[0], cfg.lookback), zero_level(cfg.q_levels), dtype=torch.long)
    return torch.cat([pad, q], dim=1)


def _segments(n_samples: int, lookback: int, seq_len: int, limit: int | None) -> int:
    n = (n_samples - lookback) // seq_len
    return min(n, limit) if limit else n


def _autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager[None]:
    if enabled and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()


def segment_loss(
    model: nn.Module, x: torch.Tensor, state: State, amp: bool, lookback: int
) -> tuple[torch.Tensor, State]:
    """Mean NLL in nats over the segment x [B, lookback + L], and the new state. `model` is a
    SampleRNN, or one under DDP."""
    with _autocast(x.device, amp):
        logits, state = model(x, state)  # [B, L, Q]
    target = x[:, lookback:]
    loss = F_.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), target.reshape(-1))
    return loss, state


@torch.no_grad()
def evaluate(
    model: SampleRNN,
    chunks: torch.Tensor,
    train_cfg: TrainConfig,
    device: torch.device,
    dist: DistContext | None = None,
) -> float:
    """NLL in bits per sample over whole chunks [N, lookback + S'] (same TBPTT walk, no grads).
    Data-parallel: each rank walks its shard of every batch; the sums are added up."""
    dist = dist or DistContext()
    model.eval()
    seq, lb = train_cfg.seq_len, model.lookback
    total, count = 0.0, 0
    for b0 in range(0, chunks.shape[0], train_cfg.batch_size):
        lo, hi = dist.shard(min(train_cfg.batch_size, chunks.shape[0] - b0))
        if hi == lo:
            continue
        batch = chunks[b0 + lo : b0 + hi].to(device)
        state = model.initial_state(batch.shape[0])
        for s in range(_segments(batch.shape[1], lb, seq, train_cfg.max_segments_per_chunk)):
            x = batch[:, s * seq : s * seq + lb + seq]
            loss, state = segment_loss(model, x, state, train_cfg.amp, lb)
            total += loss.item() * x.shape[0] * seq
            count += x.shape[0] * seq
    model.train()
    total, count_f = dist.sum([total, count])
    return total / max(count_f, 1) / LN2


def new_state(
    model_cfg: SampleRNNConfig,
    train_cfg: TrainConfig,
    dataset_id: str | None,
    device: str | torch.device,
    dist: DistContext | None = None,
) -> TrainState:
    torch.manual_seed(train_cfg.seed)  # weight init is part of the run's identity
    model = SampleRNN(model_cfg).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=train_cfg.learning_rate)
    return TrainState(model, opt, model_cfg, train_cfg, dataset_id, dist=dist or DistContext())


def resume_state(
    path: Path,
    model_cfg: SampleRNNConfig,
    train_cfg: TrainConfig,
    dataset_id: str | None,
    device: str | torch.device,
    dist: DistContext | None = None,
) -> TrainState:
    ckpt = load_checkpoint(path, map_location=device)
    diff = config_mismatch(ckpt.model_config, model_cfg)
    if diff:
        raise CheckpointError(
            f"{path}: model config differs from the checkpoint's: {'; '.join(diff)}"
        )
    if dataset_id and ckpt.dataset_id and dataset_id != ckpt.dataset_id:
        raise CheckpointError(
            f"{path}: trained on dataset {ckpt.dataset_id}, not on this dataset ({dataset_id})"
        )
    state = new_state(model_cfg, train_cfg, dataset_id, device, dist)
    state.model.load_state_dict(ckpt.model_state)
    if ckpt.optimizer_state is not None:
        state.optimizer.load_state_dict(ckpt.optimizer_state)
    if "torch" in ckpt.rng_state:
        torch.set_rng_state(ckpt.rng_state["torch"].cpu())
    state.epoch, state.step, state.history = ckpt.epoch, ckpt.step, list(ckpt.history)
    return state


def train_step(
    state: TrainState, x: torch.Tensor, rnn_state: State, share: float = 1.0
) -> tuple[torch.Tensor, State]:
    """One optimizer step on segment x [B, lookback + L]; returns (loss, detached new state).

    `share`: this rank's rows x world size / the global batch's rows (1 for equal shards and for
    a run of one), so DDP's average of the ranks' gradients is the whole batch's gradient.
    """
    cfg = state.train_cfg
    assert state.net is not None
    loss, rnn_state = segment_loss(state.net, x, rnn_state, cfg.amp, state.model.lookback)
    state.optimizer.zero_grad(set_to_none=True)
    scaled = loss if share == 1.0 else loss * share
    scaled.backward()  # type: ignore[no-untyped-call]  # untyped in torch
    torch.nn.utils.clip_grad_norm_(state.model.parameters(), cfg.grad_clip)
    state.optimizer.step()
    state.step += 1
    return loss.detach(), detach_state(rnn_state)


def train_epoch(
    state: TrainState,
    chunks: torch.Tensor,
    device: torch.device,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[float, bool]:
    """One pass over the train chunks. Returns (mean train NLL in bits, stopped early).

    Data-parallel: `should_stop` and `on_progress` matter on rank 0 (a stop is agreed on by all
    ranks before each step; the loss reported is the whole batch's)."""
    cfg, model, dist = state.train_cfg, state.model, state.dist
    epoch = state.epoch + 1
    order = np.random.default_rng([cfg.seed, epoch]).permutation(chunks.shape[0])
    seq, lb = cfg.seq_len, model.lookback
    n_seg = _segments(chunks.shape[1], lb, seq, cfg.max_segments_per_chunk)
    starts = [b0 for b0 in range(0, len(order), cfg.batch_size)
              if len(order) - b0 >= dist.world_size]  # every rank needs a row
    total_steps = len(starts) * n_seg
    total, count, done = 0.0, 0, 0
    model.train()
    for b0 in starts:
        rows = order[b0 : b0 + cfg.batch_size]
        lo, hi = dist.shard(len(rows))
        share = (hi - lo) * dist.world_size / len(rows)
        batch = chunks[torch.from_numpy(rows[lo:hi])].to(device)
        rnn_state = model.initial_state(batch.shape[0])
        for s in range(n_seg):
            if dist.any(should_stop is not None and should_stop()):
                return total / max(count, 1) / LN2, True
            x = batch[:, s * seq : s * seq + lb + seq]  # [B / world, lookback + L]
            loss, rnn_state = train_step(state, x, rnn_state, share)
            done += 1
            if dist.active:  # the whole batch's mean loss
                bits = dist.sum([loss.item() * (hi - lo)])[0] / len(rows) / LN2
            else:
                bits = loss.item() / LN2
            total += bits * len(rows)
            count += len(rows)
            if on_progress is not None:
                on_progress(Progress(epoch, state.step, done / total_steps, bits))
    return total / max(count, 1), False


def train(
    model_cfg: SampleRNNConfig,
    train_cfg: TrainConfig,
    dataset_dir: Path,
    out_dir: Path,
    *,
    resume: Path | None = None,
    device: str | torch.device = "cpu",
    on_epoch: Callable[[EpochResult], None] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    dist: DistContext | None = None,
    until_epoch: int | None = None,
) -> TrainResult:
    """Train until `train_cfg.epochs` epochs are complete (counting those of the resumed run).

    `until_epoch` ends this call earlier, after that epoch (one segment of a long run, resumed
    from its checkpoint by the next call); the test NLL is measured only at the run's end.

    After each epoch: validation NLL, a checkpoint `out_dir/epoch-NNNN.pt`, then `on_epoch`.
    `should_stop` is polled before every step; when it answers True the run stops, keeping the
    checkpoints already written (the partial epoch is not saved).

    `dist`: this process's rank of a data-parallel run (its `device` is used). Every rank calls
    `train` with the same arguments; only rank 0 writes into `out_dir` and calls `on_epoch`
    (the others may pass none), and the others wait for it after each epoch. A checkpoint of
    any world size resumes on any other.
    """
    from .manifest import load_manifest, load_split

    dist = dist or DistContext(device=torch.device(device))
    device = dist.device if dist.active else torch.device(device)
    dataset_dir, out_dir = Path(dataset_dir), Path(out_dir)
    manifest = load_manifest(dataset_dir)
    if manifest.sample_rate != model_cfg.sample_rate:
        raise ValueError(
            f"dataset {dataset_dir} is at {manifest.sample_rate} Hz but the model is configured "
            f"for {model_cfg.sample_rate} Hz"
        )
    if train_cfg.seq_len % model_cfg.lookback:
        raise ValueError(f"seq_len {train_cfg.seq_len} must be a multiple of {model_cfg.lookback}")
    splits = {
        name: quantized_chunks(load_split(dataset_dir, name), model_cfg, train_cfg.seq_len)
        for name in ("train", "valid", "test")
    }
    if resume is not None:
        state = resume_state(resume, model_cfg, train_cfg, manifest.dataset_id, device, dist)
        if dist.is_main:
            log.info("resuming from %s (epoch %d, step %d)", resume, state.epoch, state.step)
    else:
        state = new_state(model_cfg, train_cfg, manifest.dataset_id, device, dist)
    results: list[EpochResult] = []
    last = checkpoint_path(out_dir, state.epoch) if resume is not None else None
    end = train_cfg.epochs if until_epoch is None else min(until_epoch, train_cfg.epochs)
    while state.epoch < end:
        t0 = time.perf_counter()
        train_bits, stopped = train_epoch(
            state, splits["train"], device, on_progress=on_progress, should_stop=should_stop
        )
        if stopped:
            return TrainResult(results, last, None, True)
        valid_bits = evaluate(state.model, splits["valid"], train_cfg, device, dist)
        state.epoch += 1
        entry = {
            "epoch": state.epoch,
            "step": state.step,
            "train_nll_bits": train_bits,
            "valid_nll_bits": valid_bits,
            "world_size": dist.world_size,
        }
        state.history.append(entry)
        last = checkpoint_path(out_dir, state.epoch)
        if dist.is_main:
            save_checkpoint(_to_checkpoint(state), last)
        seconds = time.perf_counter() - t0
        result = EpochResult(
            state.epoch, state.step, train_bits, valid_bits, last, seconds, dist.world_size
        )
        if dist.is_main:
            log.info("epoch %d: train %.3f bits, valid %.3f bits", state.epoch, train_bits,
                     valid_bits)
        results.append(result)
        if on_epoch is not None and dist.is_main:
            on_epoch(result)
        dist.after_epoch(state.epoch)
    if state.epoch < train_cfg.epochs:  # a segment ended; the run goes on
        return TrainResult(results, last, None, False)
    test_bits = evaluate(state.model, splits["test"], train_cfg, device, dist)
    return TrainResult(results, last, test_bits, False)


def _to_checkpoint(state: TrainState) -> Checkpoint:
    model_state = {k: v.detach().cpu().clone() for k, v in state.model.state_dict().items()}
    return Checkpoint(
        model_config=state.model_cfg,
        train_config=state.train_cfg,
        model_state=model_state,
        optimizer_state=state.optimizer.state_dict(),
        epoch=state.epoch,
        step=state.step,
        dataset_id=state.dataset_id,
        history=list(state.history),
        rng_state={"torch": torch.get_rng_state()},
    )
