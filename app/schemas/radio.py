"""The radio as clients see it: `POST /runs/{id}/radio`, `GET /radio/{id}`, "keep that"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas.common import RequestBody
from app.schemas.jobs import JobStatus
from app.schemas.priming import PrimeIn


class RadioIn(RequestBody):
    """Body of `POST /runs/{id}/radio`."""

    epoch: Annotated[int, Field(ge=1)] | Literal["last"] = Field(
        "last", description="the checkpoint's epoch"
    )
    temperature: float = Field(1.0, ge=0, le=10, description="0 samples greedily")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="default: a random seed")
    prime: PrimeIn | None = None
    ahead_s: float = Field(8.0, ge=1, le=120, description="how far the generator runs ahead")
    keep_s: float = Field(
        120.0, ge=10, le=1800, description="audio kept behind the air clock, for 'keep that'"
    )


class GenerationOut(BaseModel):
    number: int
    first_segment: int
    started_at: float = Field(description="unix seconds")
    reason: str


class RadioOut(BaseModel):
    id: int = Field(description="the radio's id, also its job's")
    status: JobStatus
    run_id: int
    checkpoint_id: int
    epoch: int
    temperature: float
    seed: int
    on_air: bool = Field(description="audio is being generated and served now")
    elapsed_s: float = Field(description="stream time on air now")
    buffered_s: float = Field(description="generated audio not yet on air")
    realtime_factor: float | None = Field(
        description="seconds generated per second of generating; null until measured"
    )
    keeps_up: bool | None = Field(
        description="false: this hardware cannot generate the shape in real time, and the "
        "stream pauses to buffer; null until measured"
    )
    keep_max_s: float = Field(description="the most 'keep that' can save now")
    sample_rate: int | None
    message: str
    error: str | None
    generations: list[GenerationOut]
    stream_url: str
    page_url: str
    job_url: str
    created_at: datetime


class KeepIn(RequestBody):
    """Body of `POST /radio/{id}/keep`: save the last `seconds` as a clip."""

    seconds: float = Field(30.0, gt=0, le=1800)
    end_s: float | None = Field(
        None, ge=0, description="stream time the excerpt ends at (what the listener heard: "
        "X-Radio-Start-S of the stream + the player's position); default: now on air"
    )
