"""Celery tasks: thin adapters from a message `(job_id)` to a runner under the job's lease.

Each task is registered under its job kind's task name (app/contract/kinds.py), the name the web
process publishes; the work itself lives in worker/runners.py, the lease handling in
worker/lease.py, which hands the runner the job's typed payload.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from app.contract.kinds import GENERATE, RUN
from worker import runners
from worker.celery_app import runtime_of
from worker.lease import execute


@shared_task(name=RUN.task, bind=True)  # type: ignore[untyped-decorator]
def run_training(self: Task, job_id: int) -> dict[str, Any] | None:
    """Prepare the dataset, train, and generate clips after every epoch (RunPayload)."""
    return execute(runtime_of(self.app), self.request.hostname, job_id, RUN, runners.run_training)


@shared_task(name=GENERATE.task, bind=True)  # type: ignore[untyped-decorator]
def generate_clips(self: Task, job_id: int) -> dict[str, Any] | None:
    """More clips from one checkpoint (GeneratePayload)."""
    rt = runtime_of(self.app)
    return execute(rt, self.request.hostname, job_id, GENERATE, runners.generate_more)
