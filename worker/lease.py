"""Running one job under its lease: claim, heartbeat, cooperative stop, and the end state.

The Job row is the system of record. `execute` claims the job (attempt += 1, the fencing token),
keeps the lease alive from a heartbeat thread while the runner works, and writes the outcome:
succeeded, failed with a readable error, cancelled, or handed back to the queue on shutdown.
Every write of a runner goes through `Lease.fenced()`, which first checks in the same
transaction that this attempt still holds the lease, so a stale copy of a redelivered message
(RELIABILITY A2) can never write a checkpoint, a clip or a status.

The heartbeat runs on its own thread so that liveness does not depend on how long one training
step, one block of generated audio or one decoded file takes. It also carries the cancel flag
back to the runner: `should_stop()` is a memory read, cheap enough to poll before every step.
Every poll also counts one step done (runners poll between training steps, generated blocks,
decoded files): the heartbeat writes that count, and a count that stands still under a live
heartbeat is how a wedged job is told from a slow one (worker/watchdog.py).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

from billiard.exceptions import SoftTimeLimitExceeded
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Job
from app.contract.kinds import JobKind, P
from app.contract.payloads import Payload
from app.db import is_unreachable
from app.jobs import GaveUp, LeaseLost, LeaseNotAcquired
from worker.errors import describe
from worker.runtime import Runtime, dead_local_owner, owner_name
from worker.sweeper import requeue
from worker.time_limits import over_limit_reason

logger = logging.getLogger(__name__)

StopReason = Literal["cancel", "shutdown"]
Runner = Callable[[Runtime, "Lease", P], dict[str, Any]]


class Stopped(Exception):
    """The runner stopped between steps because the job was cancelled or the worker is shutting
    down. What was made so far stays."""

    def __init__(self, reason: StopReason) -> None:
        super().__init__(reason)
        self.reason: StopReason = reason


class Yielded(Exception):
    """The runner did one bounded slice of a long job (its payload says how far it got) and
    gives its worker to the jobs queued behind it: the job is handed back and published again
    at once, to the end of its queue. Not a failed attempt."""


class Lease:
    """A claimed job: its attempt number, a heartbeat thread, and the stop signals."""

    def __init__(self, rt: Runtime, job_id: int, attempt: int) -> None:
        self.rt, self.job_id, self.attempt = rt, job_id, attempt
        self.progress = 0.0
        self.message = ""
        self.steps = 0  # polls between two steps: the progress counter the watchdog reads
        self._cancel = threading.Event()
        self._lost = threading.Event()
        self._done = threading.Event()
        self._last_ok = time.monotonic()
        self._thread: threading.Thread | None = None

    # -- what runners call ------------------------------------------------------------------

    def report(self, *, progress: float | None = None, message: str | None = None) -> None:
        """Progress in 0..1 and a one-line message; the next heartbeat writes them. A report
        counts as a step too: the runner got somewhere (a new phase, a step)."""
        self.steps += 1
        if progress is not None:
            self.progress = min(1.0, max(0.0, progress))
        if message is not None:
            self.message = message

    def should_stop(self) -> bool:
        """Poll between steps. True on cancel or shutdown; raises LeaseLost when another attempt
        owns the job (stop at once and write nothing)."""
        self.steps += 1
        if self._lost.is_set():
            raise LeaseLost(f"job {self.job_id}: attempt {self.attempt} lost its lease")
        return self._cancel.is_set() or self.rt.shutdown.is_set()

    def check(self) -> None:
        """Raise Stopped when the runner should stop now."""
        if self.should_stop():
            raise Stopped(self.stop_reason)

    def cancel_requested(self) -> bool:
        """Ask the catalog now (not the last heartbeat) whether the job was asked to stop."""
        with self.rt.reading() as session:
            return jobs.cancel_requested(session, self.job_id)

    def save_payload(self, payload: Payload) -> None:
        """Record `payload` as the job's own (fenced), so a redelivered copy repeats this work
        exactly (e.g. the clip indices it reserved)."""
        with self.fenced() as session:
            jobs.set_payload(session, self.job_id, payload)

    @property
    def stop_reason(self) -> StopReason:
        return "cancel" if self._cancel.is_set() else "shutdown"

    @contextmanager
    def fenced(self) -> Iterator[Session]:
        """A short transaction that commits only while this attempt holds the lease.

        The fenced UPDATE of the job row comes first: on PostgreSQL it locks the row until the
        commit, so a sweeper or a new attempt cannot take the job over halfway through.
        """
        with self.rt.session() as session:
            jobs.fenced_update(session, self.job_id, self.attempt)
            yield session

    # -- heartbeat ----------------------------------------------------------------------------

    def beat(self) -> None:
        """Renew the lease once, writing progress and message; notes a cancel request."""
        try:
            with self.rt.session() as session:
                if jobs.heartbeat(
                    session, self.job_id, self.attempt, progress=self.progress,
                    message=self.message, steps=self.steps,
                ):
                    self._cancel.set()
            self._last_ok = time.monotonic()
        except LeaseLost:
            logger.warning("job %d: attempt %d lost its lease", self.job_id, self.attempt)
            self._lost.set()
        except Exception:  # noqa: BLE001 - a DB outage: retry, give up before others take over
            logger.exception("job %d: heartbeat failed", self.job_id)
            # Stop before the lease can be considered stale elsewhere (RELIABILITY 41): two
            # copies of one training run must never write at once.
            if time.monotonic() - self._last_ok > self.rt.settings.job_stale_after_s / 2:
                self._lost.set()

    @contextmanager
    def beating(self) -> Iterator[Lease]:
        self._thread = threading.Thread(
            target=self._loop, name=f"heartbeat-job-{self.job_id}", daemon=True
        )
        self._thread.start()
        try:
            yield self
        finally:
            self._halt()

    def _halt(self) -> None:
        """Stop beating (before writing an end state, so no beat lands after it)."""
        self._done.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join()

    def _loop(self) -> None:
        while not self._done.wait(self.rt.settings.heartbeat_interval_s):
            self.beat()

    # -- end states ---------------------------------------------------------------------------

    def finish(self, result: dict[str, Any]) -> None:
        self._halt()
        with self.rt.session() as session:
            self.mark_run(session, status="succeeded", error=None)
            jobs.finish(session, self.job_id, self.attempt, result=result)

    def fail(self, error: str) -> None:
        self._halt()
        with self.rt.session() as session:
            self.mark_run(session, status="failed", error=error)
            jobs.fail(session, self.job_id, self.attempt, error)

    def cancel(self) -> None:
        self._halt()
        with self.rt.session() as session:
            self.mark_run(session, status="cancelled", error=None)
            jobs.cancel(session, self.job_id, self.attempt, message="cancelled; made so far: kept")

    def release(self, *, message: str) -> str:
        """Hand the job back (running -> queued) because this worker is shutting down or the
        job yielded; returns the new status: `cancelled` when it was asked to stop meanwhile.

        No message is published here: this worker may still be consuming while it winds down,
        and would only take the job back. `enqueued_at` is cleared instead (app/jobs.py
        `release`, which also mirrors the run), so the next sweep of any worker (a restarted
        worker sweeps at once) publishes it. A hand-back is not a failed attempt (see `_claim`).
        """
        self._halt()
        with self.rt.session() as session:
            return jobs.release(session, self.job_id, self.attempt, message=message)  # fenced

    def mark_run(self, session: Session, *, status: str, error: str | None) -> None:
        # The run row mirrors its driving job; both change in one transaction, and only if this
        # attempt still holds the lease (the job update that follows is fenced and rolls back).
        jobs.mirror_run(session, self.job_id, status=status, error=error, attempt=self.attempt)


def execute(
    rt: Runtime, node: str, job_id: int, kind: JobKind[P], runner: Runner[P]
) -> dict[str, Any] | None:
    """Claim job `job_id` (of `kind`), run `runner(rt, lease, payload)` under its lease with the
    job's typed payload, and record the outcome.

    Returns the job's result, or None when there was nothing to do: the job does not exist (a
    message without its row, RELIABILITY A8), is finished or cancelled, is held by a live lease
    (a duplicate delivery), or used up its attempts (a poison task, now failed). Exceptions of
    the runner, and a payload this release cannot read, are recorded as the job's readable
    `error` and re-raised.
    """
    if rt.shutdown.is_set():
        _defer(rt, job_id)
        return None
    claimed = _claim(rt, node, job_id, kind)
    if claimed is None:
        return None
    attempt, stored = claimed
    lease = Lease(rt, job_id, attempt)
    # One line per attempt that runs, with its end below: the record that no two copies of a
    # job ever ran at once (tests/worker/test_segments.py reads it).
    logger.info("job %d attempt %d runs in %s", job_id, attempt, owner_name(node))
    try:
        return _run(rt, lease, kind, runner, stored)
    finally:
        logger.info("job %d attempt %d ends", job_id, attempt)


def _run(
    rt: Runtime, lease: Lease, kind: JobKind[P], runner: Runner[P], stored: dict[str, Any]
) -> dict[str, Any] | None:
    job_id, attempt = lease.job_id, lease.attempt
    try:
        with rt.job_running(), lease.beating():
            try:
                payload = kind.decode(stored)
                with lease.fenced() as session:
                    lease.mark_run(session, status="running", error=None)
                result = runner(rt, lease, payload)
            except LeaseLost as exc:
                logger.warning("job %d attempt %d stops without writing: %s", job_id, attempt, exc)
                return None
            except DBAPIError as exc:
                if not is_unreachable(exc):
                    raise
                # The catalog stayed away longer than the lease tolerates (RELIABILITY 41): end
                # this attempt without writing (nothing can be written); the job stays running
                # under a stale heartbeat and the sweeper requeues it once the catalog is back.
                logger.error("job %d attempt %d gives up: catalog unreachable (%s)",
                             job_id, attempt, type(exc.orig).__name__)
                return None
            except Yielded as slice_done:
                lease.beat()  # its progress so far
                if lease.release(message=str(slice_done)) == "queued":
                    _publish_again(rt, job_id, kind, payload)
                else:
                    logger.info("job %d cancelled between slices", job_id)
                return None
            except Stopped as stop:
                if stop.reason == "cancel":
                    lease.cancel()
                    logger.info("job %d cancelled", job_id)
                elif lease.release(
                    message="worker shut down; continues on the next worker"
                ) == "queued":
                    logger.info("job %d handed back to the queue (shutdown)", job_id)
                else:
                    logger.info("job %d cancelled (asked to stop before its hand-back)", job_id)
                return None
            except SoftTimeLimitExceeded:
                error = over_limit_reason(rt.settings, kind, hard=False)
                logger.error("job %d failed: %s", job_id, error)
                with contextlib.suppress(LeaseLost):
                    lease.fail(error)
                raise
            except Exception as exc:
                if lease.cancel_requested():
                    # Asked to stop, and what it worked on went away first (a project deleted
                    # under a running job takes its rows and files): that is a cancel, not a bug.
                    logger.info("job %d cancelled (%s)", job_id, describe(exc))
                    lease.cancel()
                    return None
                error = describe(exc)
                logger.error("job %d failed: %s", job_id, error)
                try:
                    lease.fail(error)
                except LeaseLost:
                    pass
                raise
        lease.finish(result)
        return result
    except LeaseLost:
        logger.warning("job %d attempt %d lost its lease before finishing", job_id, attempt)
        return None


def _claim(
    rt: Runtime, node: str, job_id: int, kind: JobKind[Any]
) -> tuple[int, dict[str, Any]] | None:
    """The new attempt number and the stored payload, or None when the job is not ours to run."""
    settings = rt.settings
    with rt.session() as session:
        job = session.get(Job, job_id)
        if job is None:
            logger.warning("job %d does not exist; message dropped", job_id)
            return None
        if job.kind != kind.name:
            logger.error("job %d is a %r job, not %r; message dropped", job_id, job.kind, kind.name)
            return None
        if job.status == "running" and dead_local_owner(job.lease_owner, node):
            # Our own pool child (or our previous incarnation) died holding it: take it back now
            # instead of after the heartbeat timeout. Fenced on the dead owner and its attempt.
            requeue(session, job.id, job.attempt, owner=job.lease_owner, reason="worker died")
        stored, handbacks = dict(job.payload), job.handbacks
        try:
            attempt = jobs.claim(
                session,
                job_id,
                owner_name(node),
                stale_after_s=settings.job_stale_after_s,
                # Attempts that ended in a clean hand-back (shutdown) are not deaths.
                max_attempts=settings.max_attempts + handbacks,
            )
        except GaveUp as exc:
            logger.error("job %d: %s", job_id, exc)
            jobs.mirror_run(session, job_id, status="failed", error=str(exc))
            return None
        except LeaseNotAcquired as exc:
            logger.info("job %d not claimed: %s", job_id, exc)
            return None
    return attempt, stored


def _publish_again(rt: Runtime, job_id: int, kind: JobKind[P], payload: P) -> None:
    """Publish a job that yielded; if the broker is down the sweeper publishes it later."""
    try:
        rt.publish(kind.task, job_id, kind.queue_for(payload))
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweeper's turn
        logger.warning("job %d: could not publish its next slice (%s)", job_id, exc)
        return
    with rt.session() as session:
        jobs.mark_enqueued(session, job_id)


def _defer(rt: Runtime, job_id: int) -> None:
    """A message that reached a worker already shutting down: leave the job queued, marked as
    unpublished, for the next sweep to publish again (and ack this message)."""
    with rt.session() as session:
        jobs.leave_unpublished(session, job_id)
    logger.info("job %d left queued: this worker is shutting down", job_id)
