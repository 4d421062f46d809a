"""Generated clips and markers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.schemas.common import Out

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ClipOut(Out):
    id: int
    checkpoint_id: int
    project_id: int
    run_id: int
    epoch: int
    index: int
    seed: int
    temperature: float
    sample_rate: int = Field(description="Hz")
    duration_s: float
    audio_format: str
    features: dict[str, Any]
    loudness_lufs: float | None
    peak_dbfs: float | None
    silence_ratio: float | None
    clipping: float | None
    originality: float | None
    rating: int | None
    kept: bool | None = Field(description="true keep, false reject, null undecided")
    tags: list[str]
    notes: str
    audio_url: str
    peaks_url: str | None
    created_at: datetime
    updated_at: datetime


class ClipPatch(BaseModel):
    """Fields to change; a field left out is unchanged, an explicit null clears it."""

    model_config = ConfigDict(extra="forbid")

    rating: int | None = Field(None, ge=1, le=5)
    kept: bool | None = None
    tags: list[Tag] | None = Field(None, max_length=64)
    notes: str | None = Field(None, max_length=10_000)


class MarkerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    time_s: float = Field(ge=0, le=86_400)
    label: str = Field("", max_length=200)


class MarkerOut(Out):
    id: int
    clip_id: int
    time_s: float
    label: str
    created_at: datetime
