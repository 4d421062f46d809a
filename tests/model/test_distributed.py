"""Data-parallel training on CPU with 2 gloo ranks (rank 0 here, rank 1 a child process started
by model.local_group, the gpu worker's own way to train a run on several devices).

Stated tolerance: a 2-rank run with global batch 2B and a 1-rank run with the same batch follow
the same loss curve to within 1e-4 bits/sample at every one of the 40 steps (float rounding:
per-rank GEMMs over B rows and the all-reduce sum in another order; measured 1.4e-6), and end
with weights within 1e-4 (measured 6e-7). A 2-rank checkpoint resumed on 2 ranks is
bit-identical to the uninterrupted 2-rank run; resumed on 1 rank it continues the same run
(steps, data order, optimizer state) within the same tolerance.
"""

from __future__ import annotations

import dataclasses
import os
import signal
from pathlib import Path

import pytest
import torch

from model.checkpoint import load_checkpoint
from model.config import SampleRNNConfig, TrainConfig
from model.distributed import DistContext
from model.local_group import LocalGroup, RankFailed, RankJob
from model.train import Progress, checkpoint_path, train

SMALL = SampleRNNConfig(dim=32, n_rnn=1, cell="gru", embed_size=8, mlp_layers=1)
# 35 train chunks in batches of 8: the last batch (3 chunks) splits 2 + 1 over the two ranks
GLOBAL = TrainConfig(batch_size=8, seq_len=256, epochs=2, max_segments_per_chunk=4, seed=7)
LOSS_TOLERANCE_BITS = 1e-4
WEIGHT_TOLERANCE = 1e-4


def rank_job(dataset: Path, elsewhere: Path, cfg: TrainConfig, resume: Path | None = None):
    """Rank 1 is told to write into `elsewhere`, which must stay empty."""
    return RankJob(model=SMALL.to_dict(), train=cfg.to_dict(), dataset_dir=str(dataset),
                   out_dir=str(elsewhere), resume=str(resume) if resume else None,
                   devices=("cpu", "cpu"), threads=1)


def run(dataset: Path, out: Path, cfg: TrainConfig, *, ranks: int, resume: Path | None = None,
        on_progress=None):
    torch.set_num_threads(1)
    curve: list[float] = []

    def record(p: Progress) -> None:
        curve.append(p.loss_bits)
        if on_progress is not None:
            on_progress(p)

    if ranks == 1:
        result = train(SMALL, cfg, dataset, out, resume=resume, on_progress=record)
    else:
        elsewhere = out.with_name(out.name + "-rank1")
        with LocalGroup(rank_job(dataset, elsewhere, cfg, resume)) as dist:
            assert (dist.rank, dist.world_size) == (0, 2)
            result = train(SMALL, cfg, dataset, out, resume=resume, on_progress=record, dist=dist)
        assert not elsewhere.exists(), "rank 1 wrote into its run folder"
    return result, curve


@pytest.fixture(scope="module")
def runs(pattern_dataset, tmp_path_factory):
    root = tmp_path_factory.mktemp("ddp")
    one, one_curve = run(pattern_dataset, root / "one", GLOBAL, ranks=1)
    two, two_curve = run(pattern_dataset, root / "two", GLOBAL, ranks=2)
    return {"root": root, "one": (one, one_curve), "two": (two, two_curve)}


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(path).model_state


def max_weight_diff(a: Path, b: Path) -> float:
    wa, wb = weights(a), weights(b)
    return max((wa[k] - wb[k]).abs().max().item() for k in wa)


@pytest.mark.slow
def test_two_ranks_follow_the_loss_curve_of_one_rank_with_the_whole_batch(runs):
    (one, one_curve), (two, two_curve) = runs["one"], runs["two"]
    assert len(one_curve) == len(two_curve) == 40
    gaps = [abs(a - b) for a, b in zip(one_curve, two_curve, strict=True)]
    assert max(gaps) < LOSS_TOLERANCE_BITS, max(gaps)
    assert one_curve[-1] < one_curve[0] - 0.5  # it learned something, so the curves mean it
    assert max_weight_diff(one.last_checkpoint, two.last_checkpoint) < WEIGHT_TOLERANCE
    for a, b in zip(one.epochs, two.epochs, strict=True):
        assert a.step == b.step and abs(a.valid_nll_bits - b.valid_nll_bits) < LOSS_TOLERANCE_BITS
    ckpt = load_checkpoint(two.last_checkpoint)
    assert [h["world_size"] for h in ckpt.history] == [2, 2]
    assert abs(one.test_nll_bits - two.test_nll_bits) < LOSS_TOLERANCE_BITS
    # rank 0 wrote exactly what a run of one writes
    assert sorted(p.name for p in two.last_checkpoint.parent.iterdir()) == [
        "epoch-0001.pt", "epoch-0002.pt"]


@pytest.mark.slow
def test_a_two_rank_checkpoint_resumes_on_two_ranks_and_on_one(runs, pattern_dataset):
    root, (two, _) = runs["root"], runs["two"]
    first, _ = run(pattern_dataset, root / "half", dataclasses.replace(GLOBAL, epochs=1), ranks=2)
    start = first.last_checkpoint
    on_two, _ = run(pattern_dataset, root / "half", GLOBAL, ranks=2, resume=start)
    assert max_weight_diff(on_two.last_checkpoint, two.last_checkpoint) == 0.0  # bit-identical
    assert load_checkpoint(on_two.last_checkpoint).history == load_checkpoint(
        two.last_checkpoint).history

    (root / "one-more").mkdir()
    on_one, _ = run(pattern_dataset, root / "one-more", GLOBAL, ranks=1, resume=start)
    a, b = load_checkpoint(on_one.last_checkpoint), load_checkpoint(two.last_checkpoint)
    assert a.step == b.step and a.epoch == 2
    assert [h["world_size"] for h in a.history] == [2, 1]
    assert max_weight_diff(on_one.last_checkpoint, two.last_checkpoint) < WEIGHT_TOLERANCE
    # Adam's state came along: its step counts are the run's, not a fresh optimizer's
    steps = {int(s["step"]) for s in a.optimizer_state["state"].values()}
    assert steps == {a.step, a.step // 4}  # h0 gets a gradient in the 1st of 4 segments only


@pytest.mark.slow
def test_killing_a_rank_fails_the_run_readably_and_it_resumes_from_the_last_checkpoint(
    pattern_dataset, tmp_path
):
    out = tmp_path / "killed"
    group = LocalGroup(rank_job(pattern_dataset, tmp_path / "elsewhere", GLOBAL))

    def kill_rank_1(p: Progress) -> None:
        if p.epoch == 2 and p.fraction > 0.3 and group.children[1].poll() is None:
            os.kill(group.children[1].pid, signal.SIGKILL)

    with pytest.raises(RankFailed, match=r"training rank 1 of 2 was killed by SIGKILL"):
        with group as dist:
            train(SMALL, GLOBAL, pattern_dataset, out, dist=dist,
                  on_progress=kill_rank_1)
    assert sorted(p.name for p in out.iterdir()) == ["epoch-0001.pt"]  # nothing half-written
    resumed, _ = run(pattern_dataset, out, GLOBAL, ranks=2, resume=checkpoint_path(out, 1))
    assert [e.epoch for e in resumed.epochs] == [2]


def test_shards_cover_a_batch_in_rank_order():
    shards = [DistContext(rank=r, world_size=3).shard(8) for r in range(3)]
    assert shards == [(0, 3), (3, 6), (6, 8)]
    assert DistContext().shard(5) == (0, 5)
