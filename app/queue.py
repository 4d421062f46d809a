"""Publishing jobs to workers by task name.

The web process never imports worker code (it would pull in torch): it sends a message naming the
task, with the job id as the only argument, and the worker looks the job up. Callers commit the
job row first and publish after, so a worker never receives an id it cannot find.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

from celery import Celery

from app.settings import Settings, broker_config, ensure_broker_dirs

logger = logging.getLogger(__name__)


class TaskQueue(Protocol):
    def enqueue(self, task: str, job_id: int, *, queue: str) -> None: ...


class CeleryQueue:
    """Sends `task(job_id)` through Celery's broker; the Celery app is built on first use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._celery: Celery | None = None

    def _app(self) -> Celery:
        if self._celery is None:
            ensure_broker_dirs(self._settings)
            config = broker_config(self._settings)
            app = Celery("albumbot-web", set_as_current=False)
            app.conf.update(
                broker_url=config.url,
                broker_transport_options=config.transport_options,
                task_serializer="json",
                # Fail fast instead of retrying for minutes inside a web request: the job row
                # stays queued and the sweeper publishes it again.
                broker_connection_retry=False,
                broker_connection_max_retries=0,
            )
            self._celery = app
        return self._celery

    def enqueue(self, task: str, job_id: int, *, queue: str) -> None:
        self._app().send_task(task, args=[job_id], queue=queue, retry=False)
        logger.info("published %s(%d) on %s", task, job_id, queue)

    def close(self) -> None:
        if self._celery is not None:
            self._celery.close()


@dataclass
class Sent:
    task: str
    job_id: int
    queue: str


@dataclass
class RecordingQueue:
    """A TaskQueue for tests: remembers what would have been sent; `fail` simulates a dead
    broker."""

    sent: list[Sent] = field(default_factory=list)
    fail: bool = False

    def enqueue(self, task: str, job_id: int, *, queue: str) -> None:
        if self.fail:
            raise ConnectionError("broker unavailable (RecordingQueue.fail)")
        self.sent.append(Sent(task, job_id, queue))
