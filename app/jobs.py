"""The job state machine, leases and fencing. Used by the API (create, cancel) and by workers.

States: queued -> running -> succeeded | failed | cancelled; queued -> cancelled | failed;
running -> queued (a worker hands a job back on warm shutdown). Terminal states never change.

A worker `claim`s a job and gets an attempt number (the fencing token). Every later write passes
that number and happens only while the row still holds it, so a stale copy of a redelivered task
(RELIABILITY A2) cannot overwrite the live one. Every change is one conditional UPDATE, atomic on
both databases without read-then-write races.

Functions that move a job to a new state commit (each is a unit of work on its own);
`fenced_update` joins the caller's transaction so a worker can insert outputs and check its
lease atomically, then commit both.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Result, and_, case, or_, select, update
from sqlalchemy.orm import Session

from app.catalog import TERMINAL_STATUSES, Job, Run, utcnow
from app.contract.codec import ContractError
from app.contract.kinds import JobKind, P
from app.contract.payloads import Payload

ALLOWED: Mapping[str, frozenset[str]] = {
    "queued": frozenset({"running", "cancelled", "failed"}),
    "running": frozenset({"running", "succeeded", "failed", "cancelled", "queued"}),
    "succeeded": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}
DEFAULT_STALE_AFTER_S = 120.0
DEFAULT_MAX_ATTEMPTS = 5


class LeaseError(Exception):
    """Base of the errors a worker gets when it may not (or may no longer) work on a job."""


class LeaseNotAcquired(LeaseError):
    """The job is missing, finished, cancelled, or leased by a live worker."""


class LeaseLost(LeaseError):
    """Another attempt took the job over, or it was finished/cancelled meanwhile: stop quietly."""


class GaveUp(LeaseNotAcquired):
    """The job used up its attempts and is now failed (a poison task: RELIABILITY A5)."""


def can_transition(old: str, new: str) -> bool:
    return new in ALLOWED.get(old, frozenset())


def create_job(
    session: Session,
    kind: JobKind[P],
    payload: P,
    *,
    project_id: int | None = None,
    idempotency_key: str | None = None,
) -> Job:
    """Add a queued job of `kind` to the session (the caller commits, then enqueues)."""
    job = Job(
        kind=kind.name,
        task=kind.task,
        queue=kind.queue_for(payload),
        payload=payload.to_dict(),
        project_id=project_id,
        idempotency_key=idempotency_key,
    )
    session.add(job)
    session.flush()
    return job


def payload_of(kind: JobKind[P], job: Job) -> P:
    """The job's typed payload. ContractError when the job is of another kind or its stored
    payload is not one this release understands."""
    if job.kind != kind.name:
        raise ContractError(f"job {job.id} is a {job.kind!r} job, not {kind.name!r}")
    return kind.decode(job.payload)


def set_payload(session: Session, job_id: int, payload: Payload) -> None:
    """Replace the job's payload (what a worker records to make a redelivery repeat itself,
    e.g. reserved clip indices); no commit: call it inside the lease's fenced transaction."""
    session.execute(update(Job).where(Job.id == job_id).values(payload=payload.to_dict()))


def claim(
    session: Session,
    job_id: int,
    worker: str,
    *,
    stale_after_s: float = DEFAULT_STALE_AFTER_S,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    now: datetime | None = None,
) -> int:
    """Take the lease on a queued job, or on a running one whose heartbeat went stale.

    Returns the new attempt number. Raises LeaseNotAcquired when the job is gone, terminal,
    cancel-requested or held by a live lease, and GaveUp (after marking the job failed) when it
    already used `max_attempts`.
    """
    now = now or utcnow()
    stale = and_(Job.status == "running", Job.heartbeat_at < now - timedelta(seconds=stale_after_s))
    # A dead worker's job that was asked to stop is simply stopped, not handed to a new worker.
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.cancel_requested.is_(True), stale)
        .values(status="cancelled", lease_owner=None, finished_at=now, updated_at=now)
    )
    claimable = and_(
        Job.id == job_id,
        Job.cancel_requested.is_(False),
        or_(Job.status == "queued", stale),
    )
    reason = f"gave up after {max_attempts} attempts (the task kept dying)"
    gave_up = session.execute(
        update(Job)
        .where(claimable, Job.attempt >= max_attempts)
        .values(status="failed", error=reason, lease_owner=None, finished_at=now, updated_at=now)
    )
    if rows_matched(gave_up):
        session.commit()
        raise GaveUp(reason)
    attempt = session.execute(
        update(Job)
        .where(claimable)
        .values(
            status="running",
            attempt=Job.attempt + 1,
            lease_owner=worker,
            heartbeat_at=now,
            started_at=now,
            error=None,
            updated_at=now,
            steps=0,  # each attempt counts its own steps; its stall clock starts now
            progress_at=now,
        )
        .returning(Job.attempt)
    ).scalar_one_or_none()
    session.commit()
    if attempt is None:
        raise LeaseNotAcquired(f"job {job_id} is not claimable")
    return int(attempt)


def fenced_update(session: Session, job_id: int, attempt: int, **values: Any) -> None:
    """Update a running job's columns only while `attempt` still holds the lease; no commit.

    Also refreshes the heartbeat. Raises LeaseLost otherwise; the caller rolls back.
    """
    values.setdefault("heartbeat_at", utcnow())
    values.setdefault("updated_at", utcnow())
    if not _fenced(session, job_id, attempt, values):
        raise LeaseLost(f"job {job_id}: attempt {attempt} no longer holds the lease")


def heartbeat(
    session: Session,
    job_id: int,
    attempt: int,
    *,
    progress: float | None = None,
    message: str | None = None,
    now: datetime | None = None,
    steps: int | None = None,
) -> bool:
    """Renew the lease (and report progress). Returns True when cancellation was requested.

    `steps` done by this attempt: `progress_at` moves only when the count does (in SQL, so no
    read first), which is how a wedged job with a live heartbeat shows (worker/watchdog.py).
    `now` is the heartbeat's time, as in `claim` (a fake clock in tests).
    Raises LeaseLost when another attempt owns the job or it is no longer running.
    """
    stamp = now or utcnow()
    values: dict[str, Any] = {"heartbeat_at": stamp}
    if progress is not None:
        values["progress"] = min(1.0, max(0.0, progress))
    if message is not None:
        values["message"] = message
    if steps is not None:
        values["steps"] = steps
        values["progress_at"] = case((Job.steps != steps, stamp), else_=Job.progress_at)
    fenced_update(session, job_id, attempt, **values)
    cancel = session.execute(select(Job.cancel_requested).where(Job.id == job_id)).scalar_one()
    session.commit()
    return bool(cancel)


def finish(
    session: Session, job_id: int, attempt: int, *, result: dict[str, Any] | None = None
) -> None:
    """running -> succeeded."""
    _end(session, job_id, attempt, status="succeeded", progress=1.0, result=result)


def fail(session: Session, job_id: int, attempt: int, error: str) -> None:
    """running -> failed, with a reason a curator can read."""
    _end(session, job_id, attempt, status="failed", error=error)


def cancel(session: Session, job_id: int, attempt: int, *, message: str = "cancelled") -> None:
    """running -> cancelled: the worker acknowledges a cancel request between steps."""
    _end(session, job_id, attempt, status="cancelled", message=message)


def release(session: Session, job_id: int, attempt: int, *, message: str = "") -> str:
    """running -> queued: hand the job back (warm shutdown) so its next delivery can claim it.
    Returns the new status, mirrored by the job's run (if any) in the same transaction.

    A hand-back is not a failed attempt: `handbacks` counts them, and `claim`'s caller raises the
    job's attempt budget by that many. `enqueued_at` is cleared so the next sweep publishes it.
    A job asked to stop ends `cancelled` instead: queued with its cancel request, no worker would
    claim it and no sweep would publish it, so it would stay queued for ever.
    """
    now = utcnow()
    stopped = {"status": "cancelled", "lease_owner": None, "finished_at": now, "updated_at": now,
               "message": "cancelled (asked to stop; not handed back)"}
    if _fenced(session, job_id, attempt, stopped, Job.cancel_requested.is_(True)):
        status = "cancelled"
    else:
        values = {
            "status": "queued", "lease_owner": None, "heartbeat_at": None, "message": message,
            "handbacks": Job.handbacks + 1, "enqueued_at": None, "updated_at": now,
        }
        if not _fenced(session, job_id, attempt, values):
            session.rollback()
            raise LeaseLost(f"job {job_id}: attempt {attempt} no longer holds the lease")
        status = "queued"
    mirror_run(session, job_id, status=status, error=None, attempt=attempt)
    session.commit()
    return status


def mirror_run(
    session: Session, job_id: int, *, status: str, error: str | None, attempt: int | None = None
) -> None:
    """The run driven by this job (if any, and only while this job still drives it) mirrors its
    state; no commit: it joins the transaction that changes the job, so both change together."""
    values: dict[str, Any] = {"status": status, "error": error}
    if attempt is not None:
        values["attempt"] = attempt
    session.execute(update(Run).where(Run.job_id == job_id).values(**values))


def leave_unpublished(session: Session, job_id: int) -> None:
    """A queued job whose message a shutting-down worker dropped: the next sweep publishes it
    again (RELIABILITY A9)."""
    session.execute(
        update(Job).where(Job.id == job_id, Job.status == "queued").values(enqueued_at=None)
    )


def request_cancel(session: Session, job_id: int) -> Job | None:
    """Ask a job to stop; idempotent. A queued job is cancelled at once, a running one when its
    worker next checks; a finished job is left as it is. Returns the job (None if missing).
    """
    now = utcnow()
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "queued")
        .values(status="cancelled", cancel_requested=True, cancel_requested_at=now,
                finished_at=now, updated_at=now)
    )
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running", Job.cancel_requested.is_(False))
        .values(cancel_requested=True, cancel_requested_at=now, updated_at=now)
    )
    session.commit()
    return session.get(Job, job_id, populate_existing=True)


def stale_running(session: Session, *, stale_after_s: float = DEFAULT_STALE_AFTER_S) -> list[int]:
    """Ids of running jobs whose worker stopped heartbeating: the reconciler re-publishes them."""
    cutoff = utcnow() - timedelta(seconds=stale_after_s)
    rows = session.execute(
        select(Job.id).where(Job.status == "running", Job.heartbeat_at < cutoff).order_by(Job.id)
    )
    return list(rows.scalars())


def unpublished(session: Session, *, older_than_s: float) -> list[int]:
    """Ids of queued jobs never published, or published long ago and still not started (the
    broker lost the message): the sweeper publishes them again (RELIABILITY A7, A8).
    """
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    rows = session.execute(
        select(Job.id)
        .where(
            Job.status == "queued",
            Job.cancel_requested.is_(False),
            or_(Job.enqueued_at.is_(None), Job.enqueued_at < cutoff),
            Job.created_at < cutoff,
        )
        .order_by(Job.id)
    )
    return list(rows.scalars())


def cancel_requested(session: Session, job_id: int) -> bool:
    return bool(session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))


def mark_enqueued(session: Session, job_id: int) -> None:
    session.execute(update(Job).where(Job.id == job_id).values(enqueued_at=utcnow()))
    session.commit()


def _fenced(
    session: Session, job_id: int, attempt: int, values: dict[str, Any], *also: Any
) -> bool:
    """UPDATE the job only while `attempt` holds its lease (and the conditions `also` hold)."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.attempt == attempt, Job.status == "running", *also)
        .values(**values)
    )
    return bool(rows_matched(result))


def rows_matched(result: Result[Any]) -> int:
    """Rows an UPDATE matched (the typed view of `CursorResult.rowcount`)."""
    return int(cast(CursorResult[Any], result).rowcount)


def _end(session: Session, job_id: int, attempt: int, *, status: str, **values: Any) -> None:
    assert status in TERMINAL_STATUSES
    now = utcnow()
    values.update(status=status, lease_owner=None, finished_at=now, updated_at=now)
    if not _fenced(session, job_id, attempt, values):
        session.rollback()
        raise LeaseLost(f"job {job_id}: attempt {attempt} no longer holds the lease")
    session.commit()
