"""The sweeper (reconciler): lost messages are published again, orphaned jobs requeued, with the
attempt as fencing token. In-process on SQLite with a recording publisher."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

from sqlalchemy import update

from app import jobs
from app.catalog import Job, Run, utcnow
from tests.worker.conftest import Recorded
from tests.worker.test_lease import new_run_job, rows
from worker.runtime import owner_name
from worker.sweeper import requeue, sweep

NODE = "sweeper@host"


def age(recorded: Recorded, job_id: int, seconds: float, **more: object) -> None:
    """Pretend the job was created (and published, if `enqueued`) `seconds` ago."""
    past = utcnow() - timedelta(seconds=seconds)
    values = {"created_at": past, **more}
    with recorded.rt.session() as s:
        s.execute(update(Job).where(Job.id == job_id).values(**values))


def test_a_queued_job_never_published_is_published(recorded: Recorded) -> None:
    job_id, run_id = new_run_job(recorded.rt)
    assert sweep(recorded.rt, NODE).published == []  # just created: the API is publishing it
    age(recorded, job_id, 30)
    assert sweep(recorded.rt, NODE).published == [job_id]
    assert recorded.sent == [("run-training", job_id, "gpu")]
    assert rows(recorded.rt, job_id, run_id)[0].enqueued_at is not None
    assert sweep(recorded.rt, NODE).published == []  # once per period, not every sweep


def test_a_message_lost_by_the_broker_is_published_again_after_a_while(recorded: Recorded) -> None:
    job_id, _ = new_run_job(recorded.rt)
    age(recorded, job_id, 30, enqueued_at=utcnow() - timedelta(seconds=30))
    assert sweep(recorded.rt, NODE).published == []  # published 30 s ago: maybe still waiting
    age(recorded, job_id, 120, enqueued_at=utcnow() - timedelta(seconds=120))  # > 60 s
    busy, _ = new_run_job(recorded.rt)
    with recorded.rt.sessions() as s:
        jobs.claim(s, busy, "busy@elsewhere/7")
    assert sweep(recorded.rt, NODE).published == []  # its queue is busy: it waits its turn
    with recorded.rt.sessions() as s:
        jobs.finish(s, busy, 1)
    assert sweep(recorded.rt, NODE).published == [job_id]  # an idle queue and still waiting


def test_a_cancelled_or_finished_job_is_never_published(recorded: Recorded) -> None:
    job_id, _ = new_run_job(recorded.rt)
    with recorded.rt.sessions() as s:
        jobs.request_cancel(s, job_id)
    age(recorded, job_id, 30)
    assert sweep(recorded.rt, NODE).published == [] and recorded.sent == []


def test_a_running_job_without_heartbeat_is_requeued_and_its_old_attempt_fenced_out(
    recorded: Recorded,
) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)
    with rt.sessions() as s:
        old = jobs.claim(s, job_id, "gone@elsewhere/7", now=utcnow() - timedelta(seconds=10))
    report = sweep(rt, NODE)
    assert report.requeued == [job_id] and report.published == [job_id]
    job, run = rows(rt, job_id, run_id)
    assert (job.status, job.attempt, job.lease_owner) == ("queued", old, None)
    assert "no heartbeat" in job.message and run.status == "queued"
    with rt.sessions() as s:
        assert jobs.claim(s, job_id, owner_name(NODE)) == old + 1
        try:
            jobs.heartbeat(s, job_id, old)
            raise AssertionError("the old attempt still holds the lease")
        except jobs.LeaseLost:
            pass


def test_a_live_job_is_left_alone(recorded: Recorded) -> None:
    job_id, _ = new_run_job(recorded.rt)
    with recorded.rt.sessions() as s:
        jobs.claim(s, job_id, "busy@elsewhere/7")
    report = sweep(recorded.rt, NODE)
    assert report.requeued == report.published == []


def test_a_dead_process_of_this_node_loses_its_lease_at_once(recorded: Recorded) -> None:
    rt = recorded.rt
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = owner_name(NODE, int(gone.stdout))
    job_id, _ = new_run_job(rt)
    with rt.sessions() as s:
        jobs.claim(s, job_id, dead)  # heartbeat fresh: only the pid says it is dead
    assert sweep(rt, "another@host").requeued == []  # not ours to judge
    assert sweep(rt, NODE).requeued == [job_id]


def test_an_orphan_that_was_asked_to_stop_is_cancelled_not_requeued(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)
    with rt.sessions() as s:
        jobs.claim(s, job_id, "gone@elsewhere/7", now=utcnow() - timedelta(seconds=10))
        s.execute(update(Run).where(Run.id == run_id).values(status="running"))
        jobs.request_cancel(s, job_id)
    report = sweep(rt, NODE)
    assert report.cancelled == [job_id] and report.published == []
    job, run = rows(rt, job_id, run_id)
    assert (job.status, run.status) == ("cancelled", "cancelled")


def test_requeue_only_moves_the_attempt_and_owner_it_saw(recorded: Recorded) -> None:
    rt = recorded.rt
    job_id, run_id = new_run_job(rt)
    with rt.sessions() as s:
        first = jobs.claim(s, job_id, "a/1", now=utcnow() - timedelta(seconds=10))
        jobs.claim(s, job_id, "b/2", stale_after_s=5)  # someone else took it over meanwhile
    with rt.session() as s:
        assert requeue(s, job_id, first, owner="a/1", reason="test") is None
    job, run = rows(rt, job_id, run_id)
    assert (job.status, job.lease_owner) == ("running", "b/2")
    with rt.session() as s:
        s.execute(update(Run).where(Run.id == run_id).values(status="running"))
        assert requeue(s, job_id, first + 1, owner="b/2", reason="test") == "queued"
    assert rows(rt, job_id, run_id)[1].status == "queued"
