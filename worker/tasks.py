"""Celery tasks: thin adapters from a message `(job_id)` to a runner under the job's lease.

Each task is registered by an explicit name that the web process publishes (`app/queue.py`);
the work itself lives in worker/runners.py, the lease handling in worker/lease.py.
"""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from worker import runners
from worker.celery_app import runtime_of
from worker.lease import execute


@shared_task(name="run-training", bind=True)  # type: ignore[untyped-decorator]
def run_training(self: Task, job_id: int) -> dict[str, Any] | None:
    """Prepare the dataset, train, and generate clips after every epoch (payload: run_id)."""
    return execute(runtime_of(self.app), self.request.hostname, job_id, runners.run_training)


@shared_task(name="generate-clips", bind=True)  # type: ignore[untyped-decorator]
def generate_clips(self: Task, job_id: int) -> dict[str, Any] | None:
    """More clips from one checkpoint (payload: checkpoint_id, n, seconds, temperature, seed)."""
    return execute(runtime_of(self.app), self.request.hostname, job_id, runners.generate_more)
