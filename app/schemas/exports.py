"""Release exports of an album, and the no-curation album."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from app.schemas.common import Out, RequestBody
from app.schemas.jobs import JobStatus

ExportFormat = Literal["flac", "mp3", "wav", "continuous"]


def flac_only() -> list[ExportFormat]:
    return ["flac"]


class ExportIn(RequestBody):
    """Body of `POST /albums/{id}/exports`. 24-bit FLAC masters are always made."""

    formats: list[ExportFormat] = Field(
        default_factory=flac_only,
        max_length=4,
        description="mp3: V0 listening copies (needs ffmpeg on the worker; otherwise the "
        "manifest says so); wav: untagged 24-bit distributor copies; continuous: album.flac, "
        "the whole album in one file with its gaps and crossfades, and its album.cue",
    )


class ExportOut(Out):
    id: int
    album_id: int
    job_id: int | None
    status: JobStatus = Field(description="the job's status while it runs")
    progress: float
    message: str
    formats: list[str]
    size_bytes: int | None
    error: str | None
    filename: str = Field(description="the name the download is saved under")
    download_url: str | None = Field(description="set once the zip exists")
    created_at: datetime
    updated_at: datetime
