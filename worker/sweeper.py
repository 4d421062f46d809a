"""The reconciler: makes every unfinished job in the catalog end up with a worker again.

Why it exists: the broker message is only a wake-up call; the Job row is the truth. Three things
can separate them, and late acks plus redelivery alone cover none of them well:

- **A message that never left** (RELIABILITY A8): the API commits the job, then publishing fails
  (broker down). The job stays `queued` with no `enqueued_at`; the sweeper publishes it.
- **A message that got lost** (A7): Redis restarted without persistence, or the embedded
  filesystem broker, which hands a message over by deleting its file, lost it with a SIGKILLed
  worker. The job stays `queued`, or `running` under a dead lease; the sweeper publishes it
  again once it waited `republish_after_s` while nothing ran on its queue, or requeues it
  (below).
- **A worker that died mid-job** (A3, A4, A6): the job is `running` but nothing renews its
  heartbeat. Once the heartbeat is older than `job_stale_after_s` (or at once, when the dead
  lease belonged to a process of this very node) the sweeper moves it back to `queued` and
  publishes it; the next worker claims it with attempt + 1 and resumes from the checkpoint.

A job whose heartbeat is fresh but whose steps stand still (wedged inside a step) is never
requeued here: its copy still runs, and only the worker's main process on the same node can kill
it first (worker/watchdog.py).

Publishing twice is harmless by design: a worker claims a job only when it is `queued` (or its
lease is stale), and the claim is one conditional UPDATE, so a duplicate message finds the job
taken or finished and is dropped without work. Several sweepers (one per worker) may therefore
run at once. Requeueing is fenced on the attempt and lease owner seen, so a worker that was only
slow and heartbeats again in the meantime keeps its job.

It runs in each worker's main process on a timer thread (no celery beat to deploy), once at
start and then every `sweep_interval_s`.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Job, Run, utcnow
from worker.runtime import Runtime, dead_local_owner

logger = logging.getLogger(__name__)


@dataclass
class SweepReport:
    requeued: list[int] = field(default_factory=list)  # running jobs of dead workers
    cancelled: list[int] = field(default_factory=list)  # dead and asked to stop: just stopped
    published: list[int] = field(default_factory=list)  # messages sent


def requeue(
    session: Session, job_id: int, attempt: int, *, owner: str | None, reason: str
) -> str | None:
    """running -> queued for a job whose worker is gone; no commit.

    Only while the job still has `attempt` and `owner` (nobody else took it over). A job that
    was asked to stop is cancelled instead. Returns the new status, or None when the job had
    moved on.
    """
    now = utcnow()
    fence = (Job.id == job_id, Job.status == "running", Job.attempt == attempt)
    owned = Job.lease_owner.is_(None) if owner is None else Job.lease_owner == owner
    stopped = jobs.rows_matched(session.execute(
        update(Job)
        .where(*fence, owned, Job.cancel_requested.is_(True))
        .values(status="cancelled", lease_owner=None, finished_at=now, updated_at=now,
                message=f"cancelled ({reason})")
    ))
    if stopped:
        _mark_run(session, job_id, "cancelled")
        return "cancelled"
    moved = jobs.rows_matched(session.execute(
        update(Job)
        .where(*fence, owned)
        .values(status="queued", lease_owner=None, heartbeat_at=None, updated_at=now,
                message=f"requeued: {reason}")
    ))
    if moved:
        _mark_run(session, job_id, "queued")
        return "queued"
    return None


def _mark_run(session: Session, job_id: int, status: str) -> None:
    session.execute(
        update(Run).where(Run.job_id == job_id, Run.status == "running").values(status=status)
    )


def sweep(rt: Runtime, node: str, *, now: datetime | None = None) -> SweepReport:
    """One pass: requeue orphaned running jobs, then publish queued jobs that need a message."""
    settings = rt.settings
    now = now or utcnow()
    report = SweepReport()
    stale_cutoff = now - timedelta(seconds=settings.job_stale_after_s)
    with rt.reading() as session:
        running = session.execute(
            select(Job.id, Job.attempt, Job.lease_owner, Job.heartbeat_at).where(
                Job.status == "running"
            )
        ).all()
    for job_id, attempt, owner, heartbeat_at in running:
        if dead_local_owner(owner, node):
            reason = f"its worker process ({owner}) died"
        elif heartbeat_at is None or heartbeat_at < stale_cutoff:
            reason = f"no heartbeat from {owner} for over {settings.job_stale_after_s:g} s"
        else:
            continue
        with rt.session() as session:
            status = requeue(session, job_id, attempt, owner=owner, reason=reason)
        if status == "queued":
            logger.warning("job %d requeued: %s", job_id, reason)
            report.requeued.append(job_id)
        elif status == "cancelled":
            report.cancelled.append(job_id)

    never = now - timedelta(seconds=settings.sweep_interval_s)
    again = now - timedelta(seconds=settings.republish_after_s)
    with rt.reading() as session:
        # A queue with a job running is busy, not broken: its queued jobs are waiting their
        # turn, and publishing them again every period would only pile up duplicates.
        busy = set(session.scalars(select(Job.queue).where(Job.status == "running")))
        waiting = session.execute(
            select(Job.id, Job.task, Job.queue)
            .where(
                Job.status == "queued",
                Job.cancel_requested.is_(False),
                or_(
                    Job.id.in_(report.requeued),
                    (Job.enqueued_at.is_(None) & (Job.created_at < never)),
                    (Job.enqueued_at < again) & Job.queue.not_in(busy),
                ),
            )
            .order_by(Job.id)
        ).all()
    for job_id, task, queue in waiting:
        try:
            rt.publish(task, job_id, queue)
        except Exception as exc:  # noqa: BLE001 - broker down: the next sweep tries again
            logger.warning("could not publish job %d: %s", job_id, exc)
            continue
        with rt.session() as session:
            jobs.mark_enqueued(session, job_id)
        report.published.append(job_id)
    if report.requeued or report.cancelled or report.published:
        logger.info(
            "sweep: requeued %s, cancelled %s, published %s",
            report.requeued, report.cancelled, report.published,
        )
    return report


class Sweeper:
    """Calls `sweep` now and every `sweep_interval_s` on a daemon thread until `stop()`."""

    def __init__(self, rt: Runtime, node: str) -> None:
        self.rt, self.node = rt, node
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="albumbot-sweeper", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                sweep(self.rt, self.node)
            except Exception:  # noqa: BLE001 - e.g. the database restarting; try again later
                logger.exception("sweep failed")
            self._stop.wait(self.rt.settings.sweep_interval_s)
