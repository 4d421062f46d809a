"""Force stop: end a job now, whatever its worker is doing (issue 13).

A cancel is cooperative: the runner reads it between two steps. A job that is wedged inside a
step never reads it. `force_stop` does not wait for the worker: it moves the job (and the run
it drives) to `cancelled` in one transaction, so every later write of the old attempt fails its
fence and nothing of it lands in the catalog, and stamps `force_stopped_at`, the order the
watchdog in the worker's main process carries out by killing the child that still runs it
(worker/watchdog.py). `lease_owner` is kept: it names the process that has to go.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from app.catalog import Job, Run, utcnow
from app.jobs import rows_matched

FORCE_STOPPED = "force-stopped: cancelled at once; its worker process is killed"


def force_stop(session: Session, job_id: int) -> bool:
    """queued | running -> cancelled at once; commits. False when the job is already terminal
    (or missing): there is nothing to stop."""
    now = utcnow()
    moved = rows_matched(session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(("queued", "running")))
        .values(
            status="cancelled", cancel_requested=True, force_stopped_at=now, finished_at=now,
            updated_at=now, message=FORCE_STOPPED,
        )
    ))
    if not moved:
        session.rollback()
        return False
    # The run's own cancel_requested_at is the job's; keep the first ask if there was one.
    session.execute(
        update(Job).where(Job.id == job_id, Job.cancel_requested_at.is_(None))
        .values(cancel_requested_at=now)
    )
    session.execute(
        update(Run)
        .where(Run.job_id == job_id, Run.status.in_(("queued", "running")))
        .values(status="cancelled", cancel_requested=True)
    )
    session.commit()
    return True
