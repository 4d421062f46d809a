"""Celery task of the radio: a thin adapter from `(job_id)` to worker/radio.py's generator
under the job's lease (worker/lease.py), registered under the RADIO kind's task name."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from app.contract.kinds import RADIO
from worker import radio
from worker.celery_app import runtime_of
from worker.lease import execute


@shared_task(name=RADIO.task, bind=True)  # type: ignore[untyped-decorator]
def radio_stream(self: Task, job_id: int) -> dict[str, Any] | None:
    """An endless stream from one checkpoint until cancelled (RadioPayload)."""
    return execute(runtime_of(self.app), self.request.hostname, job_id, RADIO, radio.run_radio)
