"""The job lifecycle as a Hypothesis state machine (RELIABILITY 43), on SQLite and PostgreSQL.

Rules drive the real catalog code, app/jobs.py and the sweeper's requeue (worker/sweeper.py),
in any order, with a fake clock: submit, start (claim a queued job), heartbeat, expire (time
passes, a little or past the stale time), sweep (requeue a job whose lease went stale),
redeliver (a message arrives again, for any job), cancel (the API's request, which the worker
may act on at its next heartbeat), and the worker's ends: finish, fail, hand back (shutdown),
plus a fenced output write. Workers keep every attempt they were ever given, so stale copies
keep trying to write.

A plain model says what each call must do; after every step the catalog must equal it, and:
- one owner: a running job has exactly one lease owner, others none; no attempt number is
  handed out twice, so only one writer can pass the fence;
- attempts only grow;
- a fenced writer (an attempt that is no longer the job's) cannot write: its call raises
  LeaseLost and the row keeps the live writer's value;
- terminal states stay terminal;
- no job is stranded: a queued job can still be claimed (a cancel request on it would make
  every worker refuse it, and the sweeper never publishes it again).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import TERMINAL_STATUSES, Job, utcnow
from app.contract.kinds import TITLES
from app.contract.payloads import TitlesPayload
from app.db import session_factory
from app.jobs import GaveUp, LeaseLost, LeaseNotAcquired
from worker.sweeper import requeue

STALE = timedelta(seconds=60)
MAX_ATTEMPTS = 3
WORKERS = st.sampled_from(["w0", "w1"])
# Few unfinished jobs at a time, so that rules meet the same job often (the interesting orders
# are about one job: claimed, asked to stop, handed back...).
MAX_JOBS = 3


@dataclass
class Expected:
    """What the catalog must say about one job."""

    status: str = "queued"
    attempt: int = 0
    owner: str | None = None
    heartbeat: datetime | None = None
    cancel_requested: bool = False
    handbacks: int = 0
    written: int = 0  # the seed of the last fenced write that landed (0: none)
    granted: list[int] = field(default_factory=list)  # attempt numbers handed out

    def holds(self, attempt: int) -> bool:
        return self.status == "running" and self.attempt == attempt


def lifecycle_machine(engine: Engine) -> type[RuleBasedStateMachine]:
    sessions = session_factory(engine)

    class JobLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.clock = utcnow()
            self.jobs: dict[int, Expected] = {}
            self.tokens: dict[tuple[str, int], list[int]] = {}  # (worker, job) -> attempts
            self.seen_attempt: dict[int, int] = {}
            self.seen_terminal: dict[int, str] = {}
            self.writes = 0

        # -- helpers ---------------------------------------------------------------------

        def session(self) -> Session:
            return sessions()

        def live_jobs(self) -> int:
            return sum(m.status not in TERMINAL_STATUSES for m in self.jobs.values())

        def stale(self, m: Expected) -> bool:
            return (m.status == "running" and m.heartbeat is not None
                    and m.heartbeat < self.clock - STALE)

        def draw_job(self, data: st.DataObject, status: str | None = None) -> int:
            ids = sorted(j for j, m in self.jobs.items() if status is None or m.status == status)
            return data.draw(st.sampled_from(ids), label="job")

        def draw_token(self, data: st.DataObject) -> tuple[str, int, int]:
            keys = sorted(self.tokens)
            worker, job_id = data.draw(st.sampled_from(keys), label="holder")
            # The holder's latest attempt first: the one most likely still live.
            attempts = self.tokens[(worker, job_id)][::-1]
            attempt = data.draw(st.sampled_from(attempts), label="attempt")
            return worker, job_id, attempt

        def fenced_out(self, call: Any) -> None:
            """`call(session)` must raise LeaseLost and change nothing."""
            with self.session() as s:
                with pytest.raises(LeaseLost):
                    call(s)
                s.rollback()

        def claim(self, worker: str, job_id: int) -> None:
            m = self.jobs[job_id]
            if self.stale(m) and m.cancel_requested:
                m.status, m.owner = "cancelled", None  # a dead worker's job asked to stop
            claimable = not m.cancel_requested and (m.status == "queued" or self.stale(m))
            with self.session() as s:
                # The worker's budget: hand-backs are not deaths (worker/lease.py `_claim`).
                call: dict[str, Any] = dict(
                    stale_after_s=STALE.total_seconds(),
                    max_attempts=MAX_ATTEMPTS + m.handbacks, now=self.clock,
                )
                if claimable and m.attempt >= MAX_ATTEMPTS + m.handbacks:
                    with pytest.raises(GaveUp):
                        jobs.claim(s, job_id, worker, **call)
                    m.status, m.owner = "failed", None
                elif claimable:
                    attempt = jobs.claim(s, job_id, worker, **call)
                    assert attempt == m.attempt + 1
                    assert attempt not in m.granted, "an attempt number was handed out twice"
                    m.status, m.attempt, m.owner, m.heartbeat = (
                        "running", attempt, worker, self.clock)
                    m.granted.append(attempt)
                    self.tokens.setdefault((worker, job_id), []).append(attempt)
                else:
                    with pytest.raises(LeaseNotAcquired):
                        jobs.claim(s, job_id, worker, **call)

        # -- rules -----------------------------------------------------------------------

        @initialize()
        def first_job(self) -> None:
            self.submit()

        @precondition(lambda self: self.live_jobs() < MAX_JOBS)
        @rule()
        def submit(self) -> None:
            with self.session() as s:
                job = jobs.create_job(s, TITLES, TitlesPayload(project_id=1, n=5, seed=0))
                s.commit()
                self.jobs[job.id] = Expected()

        @precondition(lambda self: any(m.status == "queued" for m in self.jobs.values()))
        @rule(worker=WORKERS, data=st.data())
        def start(self, worker: str, data: st.DataObject) -> None:
            self.claim(worker, self.draw_job(data, "queued"))

        @precondition(lambda self: bool(self.jobs))
        @rule(worker=WORKERS, data=st.data())
        def redeliver(self, worker: str, data: st.DataObject) -> None:
            """The broker (or the sweeper) delivers a job's message again, to any worker."""
            self.claim(worker, self.draw_job(data))

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data(), stop=st.booleans())
        def heartbeat(self, data: st.DataObject, stop: bool) -> None:
            """Renew the lease; told that the job was asked to stop, the worker may stop at once
            (`jobs.cancel`, what it does between steps) or carry on a while."""
            _, job_id, attempt = self.draw_token(data)
            m = self.jobs[job_id]
            if not m.holds(attempt):
                self.fenced_out(lambda s: jobs.heartbeat(s, job_id, attempt, now=self.clock))
                return
            with self.session() as s:
                asked = jobs.heartbeat(s, job_id, attempt, progress=0.5, now=self.clock)
                assert asked == m.cancel_requested
                m.heartbeat = self.clock
                if asked and stop:
                    jobs.cancel(s, job_id, attempt)
                    m.status, m.owner = "cancelled", None

        @rule(past_stale=st.booleans())
        def expire(self, past_stale: bool) -> None:
            """Time passes: a little, or beyond the stale limit (every lease not renewed since
            is then stale)."""
            self.clock += STALE + timedelta(seconds=1) if past_stale else timedelta(seconds=5)

        @precondition(lambda self: bool(self.jobs))
        @rule(data=st.data())
        def sweep(self, data: st.DataObject) -> None:
            """The sweeper's requeue of a job it saw running with a stale heartbeat, fenced on
            the attempt and owner it read."""
            job_id = self.draw_job(data)
            m = self.jobs[job_id]
            with self.session() as s:
                row = s.execute(select(Job.attempt, Job.lease_owner).where(Job.id == job_id)).one()
                if not self.stale(m):
                    return
                outcome = requeue(s, job_id, row.attempt, owner=row.lease_owner, reason="test")
                s.commit()
            expected = "cancelled" if m.cancel_requested else "queued"
            assert outcome == expected
            m.status, m.owner = expected, None
            m.heartbeat = None if expected == "queued" else m.heartbeat

        @precondition(lambda self: bool(self.jobs))
        @rule(data=st.data())
        def cancel(self, data: st.DataObject) -> None:
            job_id = self.draw_job(data)
            m = self.jobs[job_id]
            with self.session() as s:
                jobs.request_cancel(s, job_id)
            if m.status == "queued":
                m.status, m.cancel_requested = "cancelled", True
            elif m.status == "running":
                m.cancel_requested = True

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data())
        def write(self, data: st.DataObject) -> None:
            """A runner's fenced output: the lease check and the write in one transaction."""
            _, job_id, attempt = self.draw_token(data)
            m = self.jobs[job_id]
            self.writes += 1
            seed = self.writes

            def fenced_write(s: Session) -> None:
                jobs.fenced_update(s, job_id, attempt, heartbeat_at=self.clock)
                jobs.set_payload(s, job_id, TitlesPayload(project_id=1, n=5, seed=seed))
                s.commit()

            if not m.holds(attempt):
                self.fenced_out(fenced_write)
                return
            with self.session() as s:
                fenced_write(s)
            m.written, m.heartbeat = seed, self.clock

        def end(self, data: st.DataObject, status: str, call: Any) -> None:
            _, job_id, attempt = self.draw_token(data)
            m = self.jobs[job_id]
            if not m.holds(attempt):
                self.fenced_out(lambda s: call(s, job_id, attempt))
                return
            with self.session() as s:
                call(s, job_id, attempt)
            m.status, m.owner = status, None

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data())
        def finish(self, data: st.DataObject) -> None:
            self.end(data, "succeeded", lambda s, j, a: jobs.finish(s, j, a, result={"ok": 1}))

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data())
        def fail(self, data: st.DataObject) -> None:
            self.end(data, "failed", lambda s, j, a: jobs.fail(s, j, a, "it broke"))

        @precondition(lambda self: bool(self.tokens))
        @rule(data=st.data())
        def hand_back(self, data: st.DataObject) -> None:
            """Warm shutdown: the worker hands the job back. One asked to stop is not worth
            handing to another worker: it ends cancelled."""
            _, job_id, attempt = self.draw_token(data)
            m = self.jobs[job_id]
            if not m.holds(attempt):
                self.fenced_out(lambda s: jobs.release(s, job_id, attempt, message="bye"))
                return
            with self.session() as s:
                jobs.release(s, job_id, attempt, message="bye")
            if m.cancel_requested:
                m.status, m.owner = "cancelled", None
            else:
                m.status, m.owner, m.heartbeat = "queued", None, None
                m.handbacks += 1

        # -- invariants ------------------------------------------------------------------

        @invariant()
        def catalog_matches_the_model(self) -> None:
            if not self.jobs:
                return
            with self.session() as s:
                rows = {j.id: j for j in s.scalars(select(Job).where(Job.id.in_(self.jobs)))}
                for job_id, m in self.jobs.items():
                    row = rows[job_id]
                    seen = (row.status, row.attempt, row.lease_owner, row.cancel_requested,
                            row.handbacks, row.payload["seed"])
                    assert seen == (m.status, m.attempt, m.owner, m.cancel_requested,
                                    m.handbacks, m.written), f"job {job_id}"
                    # One owner: a lease exactly while running.
                    assert (row.lease_owner is not None) == (row.status == "running")
                    # Attempts only grow.
                    assert row.attempt >= self.seen_attempt.get(job_id, 0)
                    self.seen_attempt[job_id] = row.attempt
                    # Terminal states stay terminal.
                    if job_id in self.seen_terminal:
                        assert row.status == self.seen_terminal[job_id], f"job {job_id}"
                    elif row.status in TERMINAL_STATUSES:
                        self.seen_terminal[job_id] = row.status
                    # Not stranded: every queued job is one a worker may still claim.
                    if row.status == "queued":
                        assert not row.cancel_requested, f"job {job_id} queued but unclaimable"

    return JobLifecycle


def test_the_job_lifecycle_keeps_its_invariants(engine: Engine) -> None:
    # Fewer runs on PostgreSQL, whose round trips cost more: SQLite explores, PostgreSQL shows
    # the same conditional UPDATEs mean the same there.
    examples = 150 if engine.dialect.name == "sqlite" else 50
    run_state_machine_as_test(
        lifecycle_machine(engine),
        settings=settings(max_examples=examples, stateful_step_count=40, deadline=None,
                          derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow]),
    )
