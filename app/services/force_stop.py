"""Force-stopping a job from the API and the run page (the catalog side is app/liveness.py)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app import liveness
from app.catalog import Job
from app.services.errors import Conflict
from app.services.jobs import get_job


def force_stop_job(session: Session, job_id: int) -> Job:
    """Cancel `job_id` now and have its worker process killed. NotFound for a missing job,
    Conflict (naming its state) for one that already ended."""
    job = get_job(session, job_id)
    if not liveness.force_stop(session, job_id):
        session.refresh(job)
        raise Conflict(
            f"job {job_id} is already {job.status}: there is nothing to stop",
            job_id=job_id, job_status=job.status,
        )
    session.refresh(job)
    return job
