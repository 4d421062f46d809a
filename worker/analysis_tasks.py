"""Celery task of the clip-analysis job: a thin adapter from `(job_id)` to
worker/analysis.py's runner under the job's lease, registered under its kind's task name."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from app.contract.kinds import ANALYZE
from worker import analysis
from worker.celery_app import runtime_of
from worker.lease import execute


@shared_task(name=ANALYZE.task, bind=True)  # type: ignore[untyped-decorator]
def analyze_clips(self: Task, job_id: int) -> dict[str, Any] | None:
    """Flags, closeness, style distance and quality of clips (AnalyzePayload)."""
    rt = runtime_of(self.app)
    return execute(rt, self.request.hostname, job_id, ANALYZE, analysis.run_analysis)
