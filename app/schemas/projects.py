"""Projects and what is uploaded to them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import Out, RequestBody


class ProjectCreate(RequestBody):
    name: str = Field(min_length=1, max_length=200, examples=["Deathcore album"])
    artist: str = Field(min_length=1, max_length=200, examples=["Archspire"])
    description: str = Field("", max_length=10_000)


class ProjectUpdate(RequestBody):
    name: str | None = Field(None, min_length=1, max_length=200)
    artist: str | None = Field(None, min_length=1, max_length=200)
    description: str | None = Field(None, max_length=10_000)


class ProjectOut(Out):
    id: int
    name: str
    artist: str
    description: str
    created_at: datetime
    updated_at: datetime


class SourceTrackOut(Out):
    id: int
    project_id: int
    display_name: str
    format: str
    sample_rate: int = Field(description="Hz")
    channels: int
    frames: int
    duration_s: float
    size_bytes: int
    sha256: str
    created_at: datetime


class SourceImageOut(Out):
    id: int
    project_id: int
    role: Literal["cover", "photo"]
    display_name: str
    format: str
    width: int
    height: int
    size_bytes: int
    url: str = Field(description="where to GET the image")
    created_at: datetime


class TitlesOut(BaseModel):
    data: list[str]
