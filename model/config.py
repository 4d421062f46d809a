"""Configuration of the SampleRNN engine: one frozen dataclass per concern, plus presets.

Every module of `model/` receives these dataclasses; nothing here reads the environment.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

CellType = Literal["gru", "lstm"]
QuantizationType = Literal["linear", "mulaw"]
ConfigT = TypeVar("ConfigT", bound="DataclassInstance")


@dataclass(frozen=True)
class SampleRNNConfig:
    """Shape of the network. `frame_sizes` goes bottom-up.

    `frame_sizes=(16,)` is the paper's 2-tier model: one frame-level RNN stepping every 16 samples
    above a sample-level MLP that sees the last 16 samples. `frame_sizes=(16, 4)` adds a third tier
    stepping every 16 * 4 = 64 samples.
    """

    frame_sizes: tuple[int, ...] = (16,)
    dim: int = 1024  # width of every RNN and of the MLP
    n_rnn: int = 5  # RNN layers per frame-level tier
    cell: CellType = "lstm"
    embed_size: int = 256  # embedding of one quantized sample in the MLP
    mlp_layers: int = 2  # hidden dim x dim layers of the sample-level MLP after its input layer
    q_levels: int = 256
    quantization: QuantizationType = "linear"
    sample_rate: int = 16000
    skip_connections: bool = True  # every RNN layer feeds the tier's output projection
    weight_norm: bool = True
    learn_h0: bool = True

    def __post_init__(self) -> None:
        if not self.frame_sizes or any(f < 1 for f in self.frame_sizes):
            raise ValueError(f"frame_sizes must be positive integers, got {self.frame_sizes!r}")
        object.__setattr__(self, "frame_sizes", tuple(int(f) for f in self.frame_sizes))
        if self.cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {self.cell!r}")
        if self.quantization not in ("linear", "mulaw"):
            raise ValueError(f"quantization must be 'linear' or 'mulaw', got {self.quantization!r}")
        if self.sample_rate not in (16000, 32000):
            raise ValueError(f"sample_rate must be 16000 or 32000, got {self.sample_rate}")
        for name in ("dim", "n_rnn", "embed_size", "q_levels"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.q_levels < 2 or self.q_levels > 65536:
            raise ValueError(f"q_levels must be in 2..65536, got {self.q_levels}")
        if self.mlp_layers < 0:
            raise ValueError(f"mlp_layers must be >= 0, got {self.mlp_layers}")

    @property
    def n_tiers(self) -> int:
        """Frame-level tiers plus the sample-level MLP."""
        return len(self.frame_sizes) + 1

    @property
    def tier_frame_samples(self) -> tuple[int, ...]:
        """Samples per frame of each frame-level tier, bottom-up: (16,) or (16, 64)."""
        return tuple(math.prod(self.frame_sizes[: i + 1]) for i in range(len(self.frame_sizes)))

    @property
    def lookback(self) -> int:
        """Samples of history the network needs before the first predicted sample."""
        return self.tier_frame_samples[-1]

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["frame_sizes"] = list(self.frame_sizes)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SampleRNNConfig:
        _refuse_unknown(cls, d)
        d = dict(d)
        if "frame_sizes" in d:
            d["frame_sizes"] = tuple(d["frame_sizes"])
        return cls(**d)


@dataclass(frozen=True)
class TrainConfig:
    """How to train: optimisation and truncated backpropagation through time."""

    batch_size: int = 128
    seq_len: int = 1024  # samples per TBPTT segment (64 ms at 16 kHz); multiple of the lookback
    learning_rate: float = 1e-3
    grad_clip: float = 1.0
    epochs: int = 1
    seed: int = 0
    amp: bool = True  # mixed precision, used on CUDA only
    max_segments_per_chunk: int | None = None  # None = the whole chunk each epoch

    def __post_init__(self) -> None:
        for name in ("batch_size", "seq_len", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        _refuse_unknown(cls, d)
        return cls(**d)


@dataclass(frozen=True)
class Preset:
    model: SampleRNNConfig
    train: TrainConfig
    description: str = ""
    dataset_chunks: int = 3200
    extra: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    # The paper's model (Dadabots, "Generating Albums with SampleRNN"), for GPU workers.
    "paper": Preset(
        model=SampleRNNConfig(),
        train=TrainConfig(batch_size=128, seq_len=1024),
        description="2-tier, frame 16, embedding 256, dim 1024, 5 LSTM layers, batch 128",
        dataset_chunks=3200,
    ),
    # Small enough to learn a simple signal on a laptop CPU in a few minutes.
    "tiny": Preset(
        model=SampleRNNConfig(
            frame_sizes=(16,), dim=128, n_rnn=1, cell="gru", embed_size=32, mlp_layers=1
        ),
        train=TrainConfig(batch_size=16, seq_len=512, learning_rate=3e-3),
        description="2-tier, frame 16, embedding 32, dim 128, 1 GRU layer, batch 16",
        dataset_chunks=64,
    ),
}


def preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}") from None


def override(cfg: ConfigT, **changes: Any) -> ConfigT:
    """A copy of a config dataclass with `changes`, refusing unknown field names."""
    _refuse_unknown(type(cfg), changes)
    return dataclasses.replace(cfg, **changes)


def _refuse_unknown(cls: type, names: Any) -> None:
    unknown = sorted(set(names) - {f.name for f in dataclasses.fields(cls)})
    if unknown:
        raise ValueError(f"unknown {cls.__name__} fields: {', '.join(unknown)}")
