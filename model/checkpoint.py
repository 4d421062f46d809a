"""Self-describing, versioned checkpoints, written atomically.

A checkpoint holds everything needed to rebuild the network and continue its training run:
format version, model and training configs, weights, optimizer state, epoch, step, RNG state,
dataset id and the per-epoch metrics so far. `load_model(path)` needs nothing else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import torch

from .checkpoint_header import FORMAT_VERSION, SUPPORTED_VERSIONS, CheckpointError
from .config import SampleRNNConfig, TrainConfig
from .samplernn import SampleRNN

__all__ = ["FORMAT_VERSION", "SUPPORTED_VERSIONS", "Checkpoint", "CheckpointError",
           "load_checkpoint", "load_model", "save_checkpoint"]


@dataclass
class Checkpoint:
    model_config: SampleRNNConfig
    train_config: TrainConfig
    model_state: dict[str, torch.Tensor]
    optimizer_state: dict[str, Any] | None
    epoch: int  # epochs completed
    step: int  # optimizer steps completed
    dataset_id: str | None
    history: list[dict[str, Any]] = field(default_factory=list)  # one entry per epoch
    rng_state: dict[str, Any] = field(default_factory=dict)
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        return {
            "format_version": self.format_version,
            "model_config": self.model_config.to_dict(),
            "train_config": self.train_config.to_dict(),
            "model": self.model_state,
            "optimizer": self.optimizer_state,
            "epoch": self.epoch,
            "step": self.step,
            "dataset_id": self.dataset_id,
            "history": self.history,
            "rng_state": self.rng_state,
        }

    def build_model(self, device: str | torch.device = "cpu") -> SampleRNN:
        model = SampleRNN(self.model_config)
        model.load_state_dict(self.model_state)
        return model.to(device).eval()


class _Sink:
    """The file torch.save writes through, keeping the OSError of a failed write (torch turns it
    into a bare RuntimeError)."""

    def __init__(self, f: BinaryIO) -> None:
        self.f = f
        self.error: OSError | None = None

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        try:
            while view:  # a raw write may write less than asked
                view = view[self.f.write(view) or 0 :]
        except OSError as exc:
            self.error = exc
            raise
        return len(data)

    def flush(self) -> None:
        self.f.flush()


def save_checkpoint(ckpt: Checkpoint, path: Path) -> Path:
    """Write to a temporary name in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with open(tmp, "wb", buffering=0) as f:  # unbuffered: closing it cannot fail again
            sink = _Sink(f)
            try:
                torch.save(ckpt.to_dict(), sink)  # type: ignore[arg-type]
                f.flush()
            except RuntimeError as exc:
                if sink.error is None:
                    raise
                # torch reports a failed write as "enforce fail ... unexpected pos": say what
                # happened instead (a full or read-only disk), naming the checkpoint.
                err = sink.error
                raise OSError(err.errno, err.strerror, path.name) from exc
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> Checkpoint:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        raw = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # a truncated or foreign file
        raise CheckpointError(f"{path}: not a readable albumbot checkpoint ({exc})") from exc
    if not isinstance(raw, dict) or "format_version" not in raw:
        raise CheckpointError(f"{path}: not an albumbot checkpoint (no format_version)")
    version = raw["format_version"]
    if version not in SUPPORTED_VERSIONS:
        raise CheckpointError(
            f"{path}: checkpoint format version {version} is not supported "
            f"(this albumbot reads {', '.join(map(str, SUPPORTED_VERSIONS))})"
        )
    return Checkpoint(
        model_config=SampleRNNConfig.from_dict(raw["model_config"]),
        train_config=TrainConfig.from_dict(raw["train_config"]),
        model_state=raw["model"],
        optimizer_state=raw.get("optimizer"),
        epoch=int(raw["epoch"]),
        step=int(raw["step"]),
        dataset_id=raw.get("dataset_id"),
        history=list(raw.get("history", [])),
        rng_state=raw.get("rng_state", {}),
        format_version=version,
    )


def load_model(path: Path, device: str | torch.device = "cpu") -> SampleRNN:
    return load_checkpoint(path).build_model(device)


def config_mismatch(a: SampleRNNConfig, b: SampleRNNConfig) -> list[str]:
    """Names and values of the fields where two model configs differ."""
    da, db = a.to_dict(), b.to_dict()
    return [f"{k}: {da[k]!r} != {db[k]!r}" for k in da if da[k] != db[k]]
