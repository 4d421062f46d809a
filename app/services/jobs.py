"""Jobs from the API's side: look up, submit (commit, then publish), cancel.

Idempotency (UX.md row 46): a POST that starts a job may carry an `Idempotency-Key`. The key is
stored on the job, scoped to the endpoint and its target (`scoped_key`), with the SHA-256 of the
request (`request_sha256`: the parsed body as canonical JSON, so spacing, key order and defaults
written out do not matter). The same key with the same request answers the first job again; the
same key with another request is refused (`KeyReused`, a 422), since answering with a job made
for something else would look like success.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable

from pydantic import BaseModel
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


class KeyReused(InvalidInput):
    """An idempotency key sent again with a different request."""

    def __init__(self, job: Job) -> None:
        super().__init__(
            "this Idempotency-Key was already used for a different request (job "
            f"{job.id}); send a new key for a new request, or the same request to get that job",
            job_id=job.id,
        )


def request_sha256(request: object) -> str:
    """SHA-256 of a request as canonical JSON: a pydantic body with its defaults filled in, or
    any JSON-able value (None when there is no body)."""
    data = request.model_dump(mode="json") if isinstance(request, BaseModel) else request
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def find_by_key(session: Session, key: str | None) -> Job | None:
    if key is None:
        return None
    return session.scalars(select(Job).where(Job.idempotency_key == key)).one_or_none()


def submit(
    session: Session,
    queue: TaskQueue,
    key: str | None,
    create: Callable[[Session], Job],
    *,
    request: object = None,
) -> tuple[Job, bool]:
    """Run `create` (which adds a job and its domain rows), commit, then publish the job.

    With an idempotency key already used for the same `request` (the body, as `request_sha256`
    hashes it), nothing is created or published and the earlier job is returned; used for
    another request, KeyReused. Returns (job, created).
    """
    digest = request_sha256(request) if key is not None else None
    existing = find_by_key(session, key)
    if existing is not None:
        return _same_request(existing, digest), False
    try:
        job = create(session)
        job.request_sha256 = digest
        session.commit()
    except IntegrityError:
        # Two requests with the same key raced; the unique constraint let one win.
        session.rollback()
        existing = find_by_key(session, key)
        if existing is None:
            raise
        return _same_request(existing, digest), False
    publish(session, queue, job)
    return job, True


def _same_request(job: Job, digest: str | None) -> Job:
    # Jobs submitted before request hashes were kept (NULL) answer as they always did.
    if job.request_sha256 is not None and digest is not None and job.request_sha256 != digest:
        raise KeyReused(job)
    return job


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
