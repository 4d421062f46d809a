"""`execute`: claim, heartbeat, cooperative stop and the recorded outcome, with fake runners
(in-process, SQLite). The real runners are exercised through real workers elsewhere."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from app import jobs
from app.catalog import Job, Project, Run, utcnow
from app.contract.kinds import RUN
from app.contract.payloads import RunPayload
from tests.plans import tiny_plan
from tests.worker.conftest import Recorded
from worker.lease import Lease, execute
from worker.runtime import Runtime

NODE = "unit@host"


def new_run_job(rt: Runtime, **job_values: Any) -> tuple[int, int]:
    """A queued run job and its run; returns (job id, run id)."""
    with rt.session() as s:
        project = Project(name="P", artist="A")
        s.add(project)
        s.flush()
        run = Run(project_id=project.id, config=tiny_plan())
        s.add(run)
        s.flush()
        job = jobs.create_job(s, RUN, RunPayload(run_id=run.id), project_id=project.id)
        run.job_id = job.id
        for name, value in job_values.items():
            setattr(job, name, value)
        return job.id, run.id


def rows(rt: Runtime, job_id: int, run_id: int) -> tuple[Job, Run]:
    with rt.reading() as s:
        job, run = s.get(Job, job_id), s.get(Run, run_id)
        assert job is not None and run is not None
        return job, run


def test_a_runner_result_finishes_the_job_and_its_run(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)
    seen: list[RunPayload] = []

    def runner(rt: Runtime, lease: Lease, payload: RunPayload) -> dict[str, Any]:
        seen.append(payload)
        _, run = rows(rt, job_id, run_id)
        assert run.status == "running" and run.attempt == 1
        return {"clips": 4}

    assert execute(rt, NODE, job_id, RUN, runner) == {"clips": 4}
    job, run = rows(rt, job_id, run_id)
    assert seen == [RunPayload(run_id=run_id)]  # the job's payload, typed
    assert (job.status, job.progress, job.result, job.attempt) == ("succeeded", 1.0, {"clips": 4}, 1)
    assert job.lease_owner is None and run.status == "succeeded"


@pytest.mark.parametrize(
    ("exc", "error"),
    [
        (ValueError("album too short: 3.1 s"), "album too short: 3.1 s"),
        (RuntimeError("CUDA error: out of memory\n  more"), "RuntimeError: CUDA error: out of memory more"),
        (KeyError("x"), "KeyError: 'x'"),
    ],
)
def test_a_runner_exception_fails_the_job_with_a_readable_error_and_is_reraised(
    recorded: Recorded, exc: Exception, error: str
) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)

    def runner(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
        raise exc

    with pytest.raises(type(exc)):
        execute(rt, NODE, job_id, RUN, runner)
    job, run = rows(rt, job_id, run_id)
    assert (job.status, job.error, run.status, run.error) == ("failed", error, "failed", error)


def never(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
    raise AssertionError("the runner must not run")


def test_a_message_without_its_job_does_nothing(recorded: Recorded) -> None:
    assert execute(recorded.rt, NODE, 12345, RUN, never) is None


def test_a_duplicate_delivery_leaves_a_live_lease_alone(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)
    with rt.session() as s:
        jobs.claim(s, job_id, "other@host/1")
    assert execute(rt, NODE, job_id, RUN, never) is None
    job, _ = rows(rt, job_id, run_id)
    assert (job.status, job.attempt, job.lease_owner) == ("running", 1, "other@host/1")


def test_a_job_that_used_up_its_attempts_fails_with_the_reason(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt, attempt=3)
    assert execute(rt, NODE, job_id, RUN, never) is None
    job, run = rows(rt, job_id, run_id)
    assert job.status == "failed" and "gave up after 3 attempts" in (job.error or "")
    assert (run.status, run.error) == ("failed", job.error)


def cancel_soon(rt: Runtime, job_id: int, delay: float = 0.1) -> None:
    def later() -> None:
        time.sleep(delay)
        with rt.sessions() as s:
            jobs.request_cancel(s, job_id)

    threading.Thread(target=later, daemon=True).start()


def test_cancel_stops_the_runner_between_steps_and_keeps_its_work(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)
    steps: list[int] = []

    def runner(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
        cancel_soon(rt, job_id)
        for step in range(1000):
            lease.check()
            steps.append(step)
            lease.report(progress=step / 1000, message=f"step {step}")
            time.sleep(0.01)
        raise AssertionError("not cancelled")

    t0 = time.monotonic()
    assert execute(rt, NODE, job_id, RUN, runner) is None
    assert time.monotonic() - t0 < 2
    job, run = rows(rt, job_id, run_id)
    assert (job.status, run.status, job.error) == ("cancelled", "cancelled", None)
    assert 0 < len(steps) < 1000 and job.progress > 0


def test_a_lost_lease_stops_the_runner_without_any_write(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)

    def runner(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
        with rt.sessions() as s:  # another worker takes the job over (its lease looked stale)
            jobs.claim(s, job_id, "other@host/2", stale_after_s=0,
                       now=utcnow() + timedelta(seconds=5))
        for _ in range(200):
            if lease.should_stop():
                raise AssertionError("should_stop must raise LeaseLost, not return")
            time.sleep(0.01)
        raise AssertionError("lease loss not noticed")

    assert execute(rt, NODE, job_id, RUN, runner) is None
    job, run = rows(rt, job_id, run_id)
    assert (job.status, job.attempt, job.lease_owner) == ("running", 2, "other@host/2")
    assert run.status == "running"  # the old attempt wrote nothing, not even its end state


def test_fenced_writes_of_a_stale_attempt_roll_back(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)
    with rt.session() as s:
        old = jobs.claim(s, job_id, "w/1")
    with rt.session() as s:
        jobs.claim(s, job_id, "w/2", stale_after_s=0, now=utcnow() + timedelta(seconds=5))
    lease = Lease(rt, job_id, old)
    with pytest.raises(jobs.LeaseLost):
        with lease.fenced() as s:
            s.add(Project(name="written by a stale attempt", artist="x"))
    with rt.reading() as s:
        assert s.scalar(select(Project.id).where(Project.name.startswith("written"))) is None


def test_shutdown_hands_the_job_back_without_spending_an_attempt(recorded: Recorded) -> None:
    rt = recorded.rt
    rt.settings.max_attempts = 1
    job_id, run_id = new_run_job(rt)

    def runner(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
        rt.shutdown.set()  # what SIGTERM does in a pool child
        lease.check()
        raise AssertionError("not stopped")

    assert execute(rt, NODE, job_id, RUN, runner) is None
    job, run = rows(rt, job_id, run_id)
    assert (job.status, job.attempt, job.enqueued_at, job.lease_owner) == ("queued", 1, None, None)
    assert job.handbacks == 1 and run.status == "queued"
    assert recorded.sent == []  # published by the next sweep, not by the worker going away

    # A message reaching a worker that is shutting down leaves the job for the sweeper.
    assert execute(rt, NODE, job_id, RUN, never) is None
    assert rows(rt, job_id, run_id)[0].status == "queued"

    # One attempt was allowed, one was used by the hand-back: the next worker may still run it.
    rt.shutdown.clear()
    assert execute(rt, NODE, job_id, RUN, lambda *_: {"done": True}) == {"done": True}
    assert rows(rt, job_id, run_id)[0].attempt == 2


def test_the_heartbeat_writes_progress_while_the_runner_works(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)
    beats: list[tuple[float, str]] = []

    def runner(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
        lease.report(progress=0.25, message="epoch 1/4")
        reported = utcnow()
        time.sleep(1.0)  # no callback at all for a while: the thread still beats
        with rt.reading() as s:
            job = s.get(Job, job_id)
            assert job is not None
            beats.append((job.progress, job.message))
            assert job.heartbeat_at is not None and job.heartbeat_at > reported
        return {}

    execute(rt, NODE, job_id, RUN, runner)
    assert beats == [(0.25, "epoch 1/4")]


def test_reading_sessions_do_not_hold_the_write_lock(recorded: Recorded) -> None:
    rt = recorded.rt
    with rt.reading() as reader:
        reader.execute(select(Job.id)).all()  # an open read transaction...
        t0 = time.monotonic()
        new_run_job(rt)  # ...does not make a writer wait (busy timeout: 10 s)
        assert time.monotonic() - t0 < 1


def test_a_runner_that_breaks_after_a_cancel_request_ends_cancelled(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)

    def runner(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
        with rt.sessions() as s:  # the project is being deleted: stop, then its rows vanish
            jobs.request_cancel(s, job_id)
        raise FileNotFoundError("projects/1/runs/1/checkpoints/epoch-0001.pt")

    assert execute(rt, NODE, job_id, RUN, runner) is None
    job, run = rows(rt, job_id, run_id)
    assert (job.status, job.error, run.status) == ("cancelled", None, "cancelled")
