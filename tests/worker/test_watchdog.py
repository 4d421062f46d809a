"""The watchdog's judgement and its kill, in-process on SQLite, with a real process standing in
for the pool child: a wedged job (heartbeat fresh, steps still) is requeued with its reason and
its process killed before it is published again; slow but moving jobs, other nodes' jobs and
kinds without steps are left alone; the sweeper never requeues a job whose heartbeat is fresh.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from app import jobs, liveness
from app.catalog import Job, utcnow
from app.settings import Settings
from tests.worker.conftest import Recorded
from tests.worker.test_lease import new_run_job, rows
from worker.runtime import Runtime, owner_name
from worker.sweeper import requeue, sweep
from worker.watchdog import Busy, enforce, fail_over_limit, judge, unowned

NODE = "gpu@box"


@pytest.fixture
def child() -> Iterator[subprocess.Popen[bytes]]:
    """A process that sleeps like a wedged pool child."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def claimed(rt: Runtime, pid: int) -> tuple[int, int, int]:
    job_id, run_id = new_run_job(rt)
    with rt.sessions() as s:
        attempt = jobs.claim(s, job_id, owner_name(NODE, pid))
    return job_id, run_id, attempt


def progress_ago(rt: Runtime, job_id: int, seconds: float) -> None:
    with rt.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(
            progress_at=utcnow() - timedelta(seconds=seconds)
        ))


def stalling(recorded: Recorded) -> Runtime:
    settings: Settings = recorded.rt.settings.model_copy(update={"stall_after_s": 5.0})
    recorded.rt.settings = settings
    return recorded.rt


def test_the_heartbeat_moves_progress_at_only_when_steps_move(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id, attempt = claimed(rt, 1)
    at_claim = rows(rt, job_id, run_id)[0].progress_at
    assert at_claim is not None
    with rt.sessions() as s:
        jobs.heartbeat(s, job_id, attempt, steps=0)
    assert rows(rt, job_id, run_id)[0].progress_at == at_claim  # beat, no step: clock runs on
    with rt.sessions() as s:
        jobs.heartbeat(s, job_id, attempt, steps=3)
    job = rows(rt, job_id, run_id)[0]
    assert job.steps == 3 and job.progress_at is not None and job.progress_at > at_claim


def test_a_wedged_job_is_requeued_then_its_process_killed_then_published(
    recorded: Recorded, child: subprocess.Popen[bytes]
) -> None:
    rt = stalling(recorded)
    job_id, run_id, attempt = claimed(rt, child.pid)
    with rt.sessions() as s:
        jobs.heartbeat(s, job_id, attempt, steps=41)  # its heartbeat is fresh...
    busy = [Busy(job_id, child.pid)]
    assert judge(rt, NODE, busy) == []  # ...and so is its progress
    progress_ago(rt, job_id, 6)  # ...but no step for 6 s (stall time 5 s)

    [verdict] = judge(rt, NODE, busy)
    assert verdict.requeue and "no progress for 6" in verdict.reason and "step 41" in verdict.reason
    assert enforce(rt, NODE, verdict)
    assert child.wait(10) == -9  # SIGKILLed
    job, run = rows(rt, job_id, run_id)
    assert job.status == "queued" and run.status == "queued" and job.lease_owner is None
    assert job.message.startswith("requeued: stalled: no progress for 6")
    assert job.handbacks == 0  # a stall counts as a failed attempt
    assert recorded.sent == [("run-training", job_id, "gpu")] and job.enqueued_at is not None


def test_moving_jobs_other_nodes_and_kinds_without_steps_are_left_alone(
    recorded: Recorded, child: subprocess.Popen[bytes]
) -> None:
    rt = stalling(recorded)
    job_id, _, attempt = claimed(rt, child.pid)
    progress_ago(rt, job_id, 60)
    assert judge(rt, "gpu@other-box", [Busy(job_id, child.pid)]) == []  # not our child
    assert judge(rt, NODE, [Busy(job_id, child.pid + 1)]) == []  # another child's job
    with rt.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(kind="export"))
    assert judge(rt, NODE, [Busy(job_id, child.pid)]) == []  # no steps: time limits instead
    assert child.poll() is None


def test_the_sweeper_leaves_a_fresh_heartbeat_with_stale_progress_to_its_node(
    recorded: Recorded, child: subprocess.Popen[bytes]
) -> None:
    rt = stalling(recorded)
    job_id, run_id, attempt = claimed(rt, child.pid)
    progress_ago(rt, job_id, 3600)
    report = sweep(rt, "cpu@elsewhere")
    assert report.requeued == [] and rows(rt, job_id, run_id)[0].status == "running"


def test_a_force_stopped_job_gets_its_process_killed_and_stays_cancelled(
    recorded: Recorded, child: subprocess.Popen[bytes]
) -> None:
    rt = recorded.rt
    job_id, run_id, _ = claimed(rt, child.pid)
    with rt.sessions() as s:
        assert liveness.force_stop(s, job_id)
    [verdict] = judge(rt, NODE, [Busy(job_id, child.pid)])
    assert not verdict.requeue and verdict.reason == "force-stopped"
    assert enforce(rt, NODE, verdict)
    assert child.wait(10) == -9
    job, run = rows(rt, job_id, run_id)
    assert job.status == "cancelled" and run.status == "cancelled" and recorded.sent == []
    with rt.sessions() as s:
        assert not liveness.force_stop(s, job_id)  # already ended


def test_a_child_busy_on_a_job_the_sweeper_took_back_is_found(
    recorded: Recorded, child: subprocess.Popen[bytes]
) -> None:
    rt = recorded.rt
    job_id, _, attempt = claimed(rt, child.pid)
    busy = [Busy(job_id, child.pid)]
    assert unowned(rt, NODE, busy) == []  # it holds its job
    with rt.session() as s:  # what the sweeper does to a job whose heartbeat went stale
        requeue(s, job_id, attempt, owner=owner_name(NODE, child.pid), reason="no heartbeat")
    assert unowned(rt, NODE, busy) == busy
    assert judge(rt, NODE, busy) == []  # not a stall of its own: the Watchdog times it


def test_a_job_over_its_hard_limit_fails_on_its_node_only(
    recorded: Recorded, child: subprocess.Popen[bytes]
) -> None:
    rt = recorded.rt
    job_id, run_id, _ = claimed(rt, child.pid)
    assert not fail_over_limit(rt, "cpu@elsewhere", job_id, "killed: over its limit")
    assert fail_over_limit(rt, NODE, job_id, "killed: over its limit")
    job, run = rows(rt, job_id, run_id)
    assert (job.status, job.error, run.status, run.error) == (
        "failed", "killed: over its limit", "failed", "killed: over its limit"
    )


def test_a_live_child_whose_heartbeat_stopped_is_recycled_whatever_its_kind(
    recorded: Recorded, child: subprocess.Popen[bytes]
) -> None:
    rt = recorded.rt  # stale after 1 s: code that holds the GIL starves the heartbeat thread too
    job_id, run_id, _ = claimed(rt, child.pid)
    with rt.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(
            kind="export", heartbeat_at=utcnow() - timedelta(seconds=2)
        ))
    [verdict] = judge(rt, NODE, [Busy(job_id, child.pid)])
    assert verdict.requeue and "stopped heartbeating 2." in verdict.reason
    assert enforce(rt, NODE, verdict) and child.wait(10) == -9
    assert rows(rt, job_id, run_id)[0].status == "queued"
