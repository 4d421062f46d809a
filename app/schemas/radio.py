"""The radio as clients see it: `POST /runs/{id}/radio`, `GET /radio/{id}`, "keep that"."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.schemas.common import RequestBody
from app.schemas.jobs import JobStatus


class PrimeIn(RequestBody):
    """A moment to continue from: `seconds` of a source track or a clip from `start_s`."""

    # `_one_source` in JSON Schema: exactly one of the two ids is a number.
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"properties": {name: {"type": "integer"}}, "required": [name]}
        for name in ("source_id", "clip_id")
    ]})

    source_id: int | None = Field(None, ge=0, le=2**31 - 1)
    clip_id: int | None = Field(None, ge=0, le=2**31 - 1)
    start_s: float = Field(0.0, ge=0)
    seconds: float = Field(2.0, gt=0, le=30)

    @model_validator(mode="after")
    def _one_source(self) -> PrimeIn:
        if (self.source_id is None) == (self.clip_id is None):
            raise ValueError("give exactly one of source_id and clip_id")
        return self


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
