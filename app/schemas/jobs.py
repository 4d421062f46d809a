"""Jobs as clients see them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from app.schemas.common import Out

JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]


class JobOut(Out):
    id: int
    kind: str
    status: JobStatus
    progress: float = Field(ge=0, le=1)
    message: str
    attempt: int
    error: str | None
    cancel_requested: bool
    cancel_requested_at: datetime | None = None
    force_stopped_at: datetime | None = None
    steps: int = 0  # steps this attempt has done; `progress_at`: when the count last moved
    progress_at: datetime | None = None
    payload: dict[str, Any]
    result: dict[str, Any] | None
    project_id: int | None
    heartbeat_at: datetime | None
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
