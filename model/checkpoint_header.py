"""What a checkpoint file says about itself, read without torch (model/torch_pickle.py).

`model/checkpoint.py` writes and loads checkpoints; the versions it reads are defined here so the
web process, which may not import torch, checks an uploaded file against the very same list.
A header that passes is a file `load_checkpoint` will accept: same format versions, configs
that the engine's dataclasses parse, and a weights dict whose tensors have the shapes the
config implies for its first and last layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import SampleRNNConfig, TrainConfig
from .torch_pickle import TensorInfo, TorchFileError, read_header

FORMAT_VERSION = 1
SUPPORTED_VERSIONS = (1,)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used, with the reason."""


@dataclass(frozen=True)
class CheckpointHeader:
    format_version: int
    model_config: SampleRNNConfig
    train_config: TrainConfig
    epoch: int  # epochs completed
    step: int  # optimizer steps completed
    dataset_id: str | None
    history: list[dict[str, Any]] = field(default_factory=list)
    parameters: int = 0  # number of weights (elements), from the tensor shapes

    def last_metrics(self) -> dict[str, Any]:
        """The history entry of the checkpoint's own epoch ({} when the file has none)."""
        for entry in reversed(self.history):
            if isinstance(entry, dict) and entry.get("epoch") == self.epoch:
                return entry
        return {}


def check_version(version: Any, where: str) -> int:
    if not isinstance(version, int) or version not in SUPPORTED_VERSIONS:
        raise CheckpointError(
            f"{where}: checkpoint format version {version} is not supported "
            f"(this albumbot reads {', '.join(map(str, SUPPORTED_VERSIONS))})"
        )
    return version


def read_checkpoint_header(path: Path) -> CheckpointHeader:
    """The header of the checkpoint at `path`; CheckpointError says why a file is refused."""
    name = Path(path).name
    try:
        raw = read_header(Path(path))
    except TorchFileError as exc:
        raise CheckpointError(f"{name}: not a readable albumbot checkpoint ({exc})") from None
    if not isinstance(raw, dict) or "format_version" not in raw:
        raise CheckpointError(f"{name}: not an albumbot checkpoint (no format_version)")
    version = check_version(raw["format_version"], name)
    try:
        model_cfg = SampleRNNConfig.from_dict(dict(raw["model_config"]))
        train_cfg = TrainConfig.from_dict(dict(raw["train_config"]))
        epoch, step = int(raw["epoch"]), int(raw["step"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{name}: its configs do not fit this albumbot ({exc})") from None
    weights = raw.get("model")
    if not isinstance(weights, dict) or not weights:
        raise CheckpointError(f"{name}: the checkpoint holds no model weights")
    _check_shapes(name, model_cfg, weights)
    history = [dict(h) for h in raw.get("history") or [] if isinstance(h, dict)]
    dataset_id = raw.get("dataset_id")
    return CheckpointHeader(
        format_version=version, model_config=model_cfg, train_config=train_cfg, epoch=epoch,
        step=step, dataset_id=None if dataset_id is None else str(dataset_id), history=history,
        parameters=sum(_numel(t) for t in weights.values() if isinstance(t, TensorInfo)),
    )


def _check_shapes(name: str, cfg: SampleRNNConfig, weights: dict[str, Any]) -> None:
    """The embedding (Q x E) and the output layer's bias (Q) must match the config: a file whose
    weights belong to another shape of network is refused before anything loads it."""
    expected = {
        "mlp.embedding.weight": (cfg.q_levels, cfg.embed_size),
        "mlp.output.bias": (cfg.q_levels,),
    }
    for key, shape in expected.items():
        found = weights.get(key)
        if not isinstance(found, TensorInfo):
            raise CheckpointError(f"{name}: weight {key} is missing; not a SampleRNN of albumbot")
        if found.shape != shape:
            raise CheckpointError(
                f"{name}: weight {key} has shape {list(found.shape)}, its config says "
                f"{list(shape)}"
            )


def _numel(t: TensorInfo) -> int:
    n = 1
    for s in t.shape:
        n *= s
    return n
