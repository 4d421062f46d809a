"""Training in segments (`until_epoch`): a run trained as two segments is the run trained in one
go, and each segment's checkpoint still describes the whole run (its epochs are the run's)."""

import torch

from model.checkpoint import load_checkpoint
from model.train import train

from .test_train import QUICK, SMALL


def test_two_segments_train_the_same_run_as_one_go(pattern_dataset, tmp_path):
    straight = train(SMALL, QUICK, pattern_dataset, tmp_path / "a")
    first = train(SMALL, QUICK, pattern_dataset, tmp_path / "b", until_epoch=1)
    assert [e.epoch for e in first.epochs] == [1] and not first.stopped
    assert first.test_nll_bits is None  # measured at the run's end only
    assert load_checkpoint(first.last_checkpoint).train_config.epochs == QUICK.epochs
    second = train(SMALL, QUICK, pattern_dataset, tmp_path / "b", resume=first.last_checkpoint,
                   until_epoch=2)
    assert [e.epoch for e in second.epochs] == [2] and second.test_nll_bits is not None
    a, b = load_checkpoint(straight.last_checkpoint), load_checkpoint(second.last_checkpoint)
    assert a.step == b.step and a.history == b.history
    for k in a.model_state:
        assert torch.equal(a.model_state[k], b.model_state[k]), k
