"""The Job row: the system of record for every asynchronous operation.

Celery's result backend is never consulted; a job's state lives here. The state machine and the
lease/fencing helpers that change these columns are in app/jobs.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.catalog.base import Base, Timestamps

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


class Job(Timestamps, Base):
    """One asynchronous operation (training run, clip generation, export...).

    `attempt` is the fencing token: a worker that claimed attempt N may write only while the row
    still says N. `task`/`queue` say how the job is published, so a sweeper can republish a queued
    job whose message was lost without knowing what the job does.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in JOB_STATUSES) + ")", name="status"
        ),
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
        Index("ix_jobs_status_heartbeat_at", "status", "heartbeat_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))  # run, generate, ...
    task: Mapped[str] = mapped_column(String(64))  # Celery task name, e.g. "run-training"
    queue: Mapped[str] = mapped_column(String(16))  # gpu | cpu
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    attempt: Mapped[int] = mapped_column(default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[datetime | None]
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    handbacks: Mapped[int] = mapped_column(default=0)  # clean hand-backs (shutdown), not deaths
    # Liveness (worker/watchdog.py): steps this attempt has done and when that count last moved;
    # when a cancel was asked, and when a curator forced the stop of a job that did not honour it.
    steps: Mapped[int] = mapped_column(default=0, server_default="0")
    progress_at: Mapped[datetime | None]
    cancel_requested_at: Mapped[datetime | None]
    force_stopped_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)  # app/contract/payloads.py
    result: Mapped[dict[str, Any] | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(300), unique=True)
    # SHA-256 of the request that used the key: the same key with another body is refused.
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), index=True
    )
    enqueued_at: Mapped[datetime | None]  # last successful publish to the broker
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES
