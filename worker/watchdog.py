"""The watchdog: frees a worker from a job that is wedged or was force-stopped.

Where it lives, and why: in the worker's **main process**, on a thread, looking at the pool
children that run a task now. A wedged step (a CUDA kernel that never returns, a hung
collective, C++ code that blocks) cannot be interrupted from inside its own process: the
lease's heartbeat thread beats on (the wedged code may not hold the GIL), so the lease stays
fresh while nothing moves, and no thread of that process can make the step return. Only
another process can kill it, and the main process is the one that already owns the children:
the prefork pool replaces a killed child by itself.

What counts as wedged: the job is running under this very child's lease (node/pid, the fencing
owner) and either

- its step counter (worker/lease.py counts every poll between two steps; the heartbeat writes
  it) has not moved for `stall_after_s`, for the kinds that poll between short steps (training
  and clip generation: `WATCHED`), or
- its heartbeat stopped for `job_stale_after_s` while the child is still alive (code that holds
  the GIL starves the heartbeat thread too; the sweeper would requeue the job, but the child
  would sit on the worker forever).

A wedged job is first requeued (running -> queued, fenced on its attempt and owner, so a child
that moved on in the meantime keeps its job, with the reason as its message), then its child is
SIGKILLed, and only once it is gone is the job published again, so the next attempt never runs
beside the old one. The attempt counts toward `max_attempts` (a job that wedges every time ends
as failed), and the next attempt resumes from the last checkpoint like after any death.

Force stop (app/liveness.py) marks a job cancelled at once and stamps `force_stopped_at`; the
watchdog of the node whose child still runs it kills that child. The catalog carries the order,
not a Celery revoke: revoke(terminate=True) is a broadcast the embedded filesystem broker does
not deliver, and it names a Celery task id the catalog does not keep; every worker already
reads the catalog.

The sweeper (worker/sweeper.py) never requeues a job whose heartbeat is fresh, however old its
progress: it cannot kill a child on another node, and requeueing a job whose copy still runs
would make two. Stalls are the owning node's to judge.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app import jobs
from app.catalog import Job, utcnow
from app.contract.kinds import GENERATE, RUN
from worker.runtime import Runtime, is_zombie, owner_name
from worker.sweeper import requeue

logger = logging.getLogger(__name__)

WATCHED: frozenset[str] = frozenset({RUN.name, GENERATE.name})
DEATH_WAIT_S = 10.0  # how long to wait for a SIGKILLed child to be gone


@dataclass(frozen=True)
class Busy:
    """A pool child of this node running the task of one job."""

    job_id: int
    pid: int


@dataclass(frozen=True)
class Verdict:
    job_id: int
    pid: int
    attempt: int
    reason: str
    requeue: bool  # a wedged job goes back to the queue; a force-stopped one stays cancelled


def judge(
    rt: Runtime, node: str, busy: list[Busy], *, now: datetime | None = None
) -> list[Verdict]:
    """Which of the busy children to kill, and why (reads only)."""
    if not busy:
        return []
    settings = rt.settings
    now = now or utcnow()
    stalled_before = now - timedelta(seconds=settings.stall_after_s)
    silent_before = now - timedelta(seconds=settings.job_stale_after_s)
    with rt.reading() as session:
        rows = {job.id: job for job in session.scalars(
            select(Job).where(Job.id.in_([b.job_id for b in busy]))
        )}
    verdicts = []
    for b in busy:
        job = rows.get(b.job_id)
        if job is None:
            continue
        if job.force_stopped_at is not None and job.status == "cancelled":
            verdicts.append(Verdict(job.id, b.pid, job.attempt, "force-stopped", requeue=False))
            continue
        if job.status != "running" or job.lease_owner != owner_name(node, b.pid):
            continue  # between two jobs, or a duplicate delivery that holds no lease (see below)
        if job.kind in WATCHED and job.progress_at is not None and job.progress_at < stalled_before:
            idle = (now - job.progress_at).total_seconds()
            reason = (f"stalled: no progress for {idle:.1f} s at step {job.steps} "
                      f"(stall time {settings.stall_after_s:g} s); worker process recycled")
        elif job.heartbeat_at is not None and job.heartbeat_at < silent_before:
            idle = (now - job.heartbeat_at).total_seconds()
            reason = (f"stalled: its process stopped heartbeating {idle:.1f} s ago but did not "
                      "die; worker process recycled")
        else:
            continue
        verdicts.append(Verdict(job.id, b.pid, job.attempt, reason, requeue=True))
    return verdicts


def enforce(rt: Runtime, node: str, verdict: Verdict) -> bool:
    """Carry out one verdict: requeue (when it is one), kill, wait, publish. True when the child
    was killed."""
    owner = owner_name(node, verdict.pid)
    status = None
    if verdict.requeue:
        with rt.session() as session:
            status = requeue(session, verdict.job_id, verdict.attempt, owner=owner,
                             reason=verdict.reason)
        if status is None:
            return False  # it moved on (finished, or heartbeat came back with a new step)
    logger.warning("job %d attempt %d: %s; killing pool process %d",
                   verdict.job_id, verdict.attempt, verdict.reason, verdict.pid)
    try:
        os.kill(verdict.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    _wait_gone(verdict.pid)
    if verdict.requeue and status == "queued":
        job = _job(rt, verdict.job_id)
        with contextlib.suppress(Exception):  # broker down: the sweeper publishes it later
            rt.publish(job.task, job.id, job.queue)
            with rt.session() as session:
                jobs.mark_enqueued(session, job.id)
    return True


def _job(rt: Runtime, job_id: int) -> Job:
    with rt.reading() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


def _wait_gone(pid: int) -> None:
    """Until `pid` is gone or a zombie (the pool reaps it and forks a replacement)."""
    deadline = time.monotonic() + DEATH_WAIT_S
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        if is_zombie(pid):
            return
        time.sleep(0.05)


def unowned(rt: Runtime, node: str, busy: list[Busy]) -> list[Busy]:
    """Busy children whose job they do not hold (any more): another attempt's, requeued or
    ended. A task in that state normally returns within milliseconds (a dropped duplicate, a
    job just finished); one that stays so was requeued by the sweeper while wedged."""
    if not busy:
        return []
    with rt.reading() as session:
        held = {(job_id, owner) for job_id, owner in session.execute(
            select(Job.id, Job.lease_owner).where(
                Job.id.in_([b.job_id for b in busy]), Job.status == "running"
            )
        )}
    return [b for b in busy if (b.job_id, owner_name(node, b.pid)) not in held]


class Watchdog:
    """Runs `judge` and `enforce` every heartbeat interval on a daemon thread until `stop()`.

    It also remembers since when a child has been busy on a job it does not hold, and kills it
    once that lasted `job_stale_after_s`: the sweeper (of any node) may requeue a job whose
    child is wedged so hard that even its heartbeat stopped, and that child would otherwise sit
    on the worker forever.
    """

    def __init__(self, rt: Runtime, node: str, busy: Callable[[], list[Busy]]) -> None:
        self.rt, self.node, self.busy = rt, node, busy
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="albumbot-watchdog", daemon=True)
        self._killed: set[tuple[int, int]] = set()  # (job, pid) the pool has not reaped yet
        self._unowned_since: dict[Busy, float] = {}

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self.rt.settings.heartbeat_interval_s):
            try:
                busy = self.busy()
                self._killed &= {(b.job_id, b.pid) for b in busy}
                fresh = [b for b in busy if (b.job_id, b.pid) not in self._killed]
                verdicts = judge(self.rt, self.node, fresh) + self._long_unowned(fresh)
                for verdict in verdicts:
                    if enforce(self.rt, self.node, verdict):
                        self._killed.add((verdict.job_id, verdict.pid))
            except Exception:  # noqa: BLE001 - e.g. the catalog restarting; look again later
                logger.exception("watchdog pass failed")


    def _long_unowned(self, busy: list[Busy]) -> list[Verdict]:
        now = time.monotonic()
        current = set(unowned(self.rt, self.node, busy))
        self._unowned_since = {b: self._unowned_since.get(b, now) for b in current}
        limit = self.rt.settings.job_stale_after_s
        return [
            Verdict(b.job_id, b.pid, 0, f"busy for {limit:g} s on a job it no longer holds",
                    requeue=False)
            for b, since in self._unowned_since.items() if now - since >= limit
        ]


def fail_over_limit(rt: Runtime, node: str, job_id: int, reason: str) -> bool:
    """A job whose pool child this node's pool killed over its hard time limit: failed, with
    `reason`, if it is still running under a process of this node (no commit otherwise).

    Without this the dead child's job would look like any death: requeued, run again, killed
    again, until `max_attempts`. What the child was writing stays in `<media>/.tmp` under a
    temp name, never in place, and the next worker start sweeps it (worker/temp_sweep.py).
    """
    now = utcnow()
    with rt.session() as session:
        failed = jobs.rows_matched(session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == "running",
                   Job.lease_owner.startswith(f"{node}/", autoescape=True))
            .values(status="failed", error=reason, lease_owner=None, finished_at=now,
                    updated_at=now)
        ))
        if failed:
            jobs.mirror_run(session, job_id, status="failed", error=reason)
    if failed:
        logger.error("job %d failed: %s", job_id, reason)
    return bool(failed)
