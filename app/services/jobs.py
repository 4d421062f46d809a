"""Jobs from the API's side: look up, submit (commit, then publish), cancel."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Job, Run
from app.queue import TaskQueue
from app.services.errors import InvalidInput, NotFound

logger = logging.getLogger(__name__)
MAX_IDEMPOTENCY_KEY = 200


def get_job(session: Session, job_id: int) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound("job", job_id)
    return job


def scoped_key(scope: str, key: str | None) -> str | None:
    """The stored idempotency key: the client's key is only unique within one endpoint+target."""
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
        raise InvalidInput(f"Idempotency-Key must be 1..{MAX_IDEMPOTENCY_KEY} printable characters")
    return f"{scope}:{key}"


def find_by_key(session: Session, key: str | None) -> Job | None:
    if key is None:
        return None
    return session.scalars(select(Job).where(Job.idempotency_key == key)).one_or_none()


def submit(
    session: Session, queue: TaskQueue, key: str | None, create: Callable[[Session], Job]
) -> tuple[Job, bool]:
    """Run `create` (which adds a job and its domain rows), commit, then publish the job.

    With an idempotency key already used, nothing is created or published and the earlier job is
    returned. Returns (job, created).
    """
    existing = find_by_key(session, key)
    if existing is not None:
        return existing, False
    try:
        job = create(session)
        session.commit()
    except IntegrityError:
        # Two requests with the same key raced; the unique constraint let one win.
        session.rollback()
        existing = find_by_key(session, key)
        if existing is None:
            raise
        return existing, False
    publish(session, queue, job)
    return job, True


def publish(session: Session, queue: TaskQueue, job: Job) -> None:
    """Send the job's message. A broker failure leaves the committed job queued: the sweeper
    (jobs.unpublished) publishes it later, so the request still succeeds (outbox pattern).
    """
    try:
        queue.enqueue(job.task, job.id, queue=job.queue)
    except Exception as exc:  # noqa: BLE001 - any broker failure is recoverable the same way
        logger.warning(
            "could not publish job %d (%s); it stays queued for the sweeper", job.id, exc
        )
        session.execute(
            update(Job).where(Job.id == job.id).values(message="waiting for the broker")
        )
        session.commit()
        session.refresh(job)
        return
    jobs.mark_enqueued(session, job.id)
    session.refresh(job)


def cancel_job(session: Session, job_id: int) -> Job:
    """Cooperative cancel; calling it again is harmless. A queued run job cancels its run too."""
    job = jobs.request_cancel(session, job_id)
    if job is None:
        raise NotFound("job", job_id)
    if job.kind == "run":
        session.execute(
            update(Run).where(Run.job_id == job.id).values(cancel_requested=True)
        )
        if job.status == "cancelled":
            session.execute(
                update(Run)
                .where(Run.job_id == job.id, Run.status.in_(("queued", "running")))
                .values(status="cancelled")
            )
        session.commit()
    return job
