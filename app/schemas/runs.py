"""Training runs, checkpoints and clip generation requests."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field

from app.schemas.common import MAX_EXACT_INT, Out, RequestBody
from app.schemas.jobs import JobOut, JobStatus
from app.schemas.priming import PrimeIn


class RunConfigIn(RequestBody):
    """Body of `POST /projects/{id}/runs`; every field optional, unknown fields refused.

    `model` and `train` override fields of the engine's SampleRNNConfig / TrainConfig
    (model/config.py) on top of the preset; they are checked against those dataclasses.
    """

    preset: Literal["tiny", "paper"] | None = Field(None, description="default: paper")
    epochs: int | None = Field(None, ge=1, le=100_000)
    clips_per_epoch: int | None = Field(None, ge=0, le=1000)
    clip_seconds: float | None = Field(None, gt=0, le=600)
    temperature: float | None = Field(
        None, ge=0, le=10, description="of the end-of-epoch clips; 0 samples greedily; default 1"
    )
    sample_rate: Literal[16000, 32000] | None = Field(None, description="Hz")
    chunks: int | None = Field(None, ge=1, le=1_000_000, description="dataset chunks (8 s each)")
    seed: int | None = Field(None, ge=0, le=MAX_EXACT_INT)
    gpus: Annotated[int, Field(ge=1, le=1024)] | Literal["all"] | None = Field(
        None,
        description="data-parallel ranks (GPUs) to train on, or \"all\" the worker has; "
        "the batch size stays the global batch; default 1",
    )
    model: dict[str, Any] = Field(default_factory=dict, description="SampleRNNConfig overrides")
    train: dict[str, Any] = Field(default_factory=dict, description="TrainConfig overrides")


class CheckpointOut(Out):
    id: int
    run_id: int
    epoch: int
    step: int
    train_nll_bits: float | None
    valid_nll_bits: float | None
    style_distance: float | None = Field(
        description="Fréchet distance of the epoch's analysed clips' frame features to the "
        "album's; lower sounds more like the album"
    )
    flagged_share: float | None = Field(description="share of analysed clips with a flag raised")
    copied_share: float | None = Field(description="share of analysed clips flagged copied")
    analyzed_clips: int
    created_at: datetime


class RunOut(Out):
    id: int
    project_id: int
    job_id: int | None
    dataset_id: int | None
    status: JobStatus
    config: dict[str, Any] = Field(description="the resolved config the worker trains with")
    metrics: list[dict[str, Any]] = Field(description="one entry per finished epoch")
    current_epoch: int
    error: str | None
    cancel_requested: bool
    attempt: int
    checkpoints: list[CheckpointOut]
    created_at: datetime
    updated_at: datetime


class GenerateIn(RequestBody):
    """Body of `POST /checkpoints/{id}/generate`."""

    n: int = Field(4, ge=1, le=256, description="number of clips")
    seconds: float = Field(10.0, gt=0, le=600)
    temperature: float = Field(1.0, ge=0, le=10, description="0 samples greedily")
    seed: int | None = Field(None, ge=0, le=MAX_EXACT_INT, description="default: a random seed")
    prime: PrimeIn | None = Field(
        None, description="continue from this moment: every clip first reads the excerpt"
    )


class GenerateAccepted(JobOut):
    """202 answer of `POST /checkpoints/{id}/generate`: the job, the seed it uses (fresh unless
    one was given) and warnings, e.g. that an explicit seed was already used there."""

    seed: int = Field(description="the job's seed; clip i is seeded by (seed, clip index)")
    warnings: list[str] = Field(description="things the curator should know; [] usually")
