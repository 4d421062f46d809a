"""Celery task of the retention job (RetentionPayload), on the cpu queue."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from app.contract.kinds import RETENTION
from worker.celery_app import runtime_of
from worker.lease import execute
from worker.retention_runner import run_retention


@shared_task(name=RETENTION.task, bind=True)  # type: ignore[untyped-decorator]
def apply_retention(self: Task, job_id: int) -> dict[str, Any] | None:
    rt = runtime_of(self.app)
    return execute(rt, self.request.hostname, job_id, RETENTION, run_retention)
