"""`RunPlan`: a training run's complete, resolved config, as stored in `Run.config`.

Built once when the run is created (app/services/plans.py: the preset's defaults, then the REST
body's overrides, checked against the engine's dataclasses), read by the gpu worker that trains
it and by the pages that show it. `to_dict` gives the JSON the API has always returned for a
run's `config`; `from_dict` refuses unknown fields, and fields added later have defaults, so a
plan stored by an earlier release still reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Self

from app.contract.codec import decode, encode
from model.config import SampleRNNConfig, TrainConfig

PresetName = Literal["tiny", "paper"]


@dataclass(frozen=True)
class RunPlan:
    preset: PresetName
    epochs: int
    clips_per_epoch: int
    clip_seconds: float  # length of each end-of-epoch clip
    temperature: float  # of the end-of-epoch clips; 0 samples greedily
    sample_rate: int  # Hz, equal to model.sample_rate
    chunks: int  # dataset chunks (8 s each)
    seed: int  # dataset split and shuffle, training, clip seeds
    model: SampleRNNConfig = field(default_factory=SampleRNNConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # Data-parallel ranks to train on: a count, or "all" the devices of the gpu worker that
    # takes the run (it uses at most what it owns, `albumbot worker --gpus`). `train.batch_size`
    # stays the global batch, so the run is the same run on any number of them; the number each
    # epoch actually used is in its metrics (`world_size`).
    gpus: Literal["all"] | int = 1

    def __post_init__(self) -> None:
        if self.sample_rate != self.model.sample_rate:
            raise ValueError(
                f"sample_rate {self.sample_rate} differs from model.sample_rate "
                f"{self.model.sample_rate}"
            )
        if self.temperature < 0:
            raise ValueError(f"temperature must be >= 0, got {self.temperature}")
        if self.gpus != "all" and not (isinstance(self.gpus, int) and self.gpus >= 1):
            raise ValueError(f"gpus must be 'all' or >= 1, got {self.gpus!r}")

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = encode(self)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Self:
        """Every field checked, the engine's configs included (they check their own values)."""
        return decode(cls, data)
