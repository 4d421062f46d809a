"""Checkpoint files made in code for the portability tests (a tiny network, random weights)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from model.checkpoint import Checkpoint, save_checkpoint
from model.config import override, preset
from model.samplernn import SampleRNN


def tiny_checkpoint(path: Path, *, epoch: int = 2, seed: int = 0, **model: Any) -> Path:
    """A real albumbot checkpoint of a small network (dim 32 unless given)."""
    torch.manual_seed(seed)
    base = preset("tiny")
    cfg = override(base.model, **{"dim": 32, **model})
    net = SampleRNN(cfg)
    ckpt = Checkpoint(
        model_config=cfg, train_config=base.train, model_state=net.state_dict(),
        optimizer_state=torch.optim.Adam(net.parameters()).state_dict(), epoch=epoch,
        step=epoch * 5, dataset_id="abc",
        history=[{"epoch": e, "train_nll_bits": 7.5 - e, "valid_nll_bits": 7.6 - e}
                 for e in range(1, epoch + 1)],
        rng_state={"torch": torch.get_rng_state()},
    )
    return save_checkpoint(ckpt, path)


def raw_checkpoint(path: Path, changes: dict[str, Any], **save: Any) -> Path:
    """A tiny checkpoint's dict with `changes` applied, saved as is (to make broken ones)."""
    good = torch.load(tiny_checkpoint(path), weights_only=True)
    good.update(changes)
    torch.save(good, path, **save)
    return path
