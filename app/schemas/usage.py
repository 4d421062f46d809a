"""Disk usage and retention (issue 13 item 2)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.schemas.common import RequestBody


class UsageOut(BaseModel):
    """What a project's or a run's folder holds. `bytes`/`files` per category (checkpoints,
    clips, renders, exports, other); `disk_bytes` is what `du -s -B1` of the folder prints."""

    folder: str
    bytes: dict[str, int]
    files: dict[str, int]
    total_bytes: int
    disk_bytes: int


class RetentionIn(RequestBody):
    keep_last: int = Field(3, ge=1, le=10_000, description="newest checkpoints always kept")


class RetentionDecisionOut(BaseModel):
    checkpoint_id: int
    epoch: int
    bytes: int
    keep: bool
    reason: str


class RetentionOut(BaseModel):
    run_id: int
    keep_last: int
    freed_bytes: int = Field(description="what removing the checkpoints marked `keep: false` frees")
    checkpoints: list[RetentionDecisionOut]
