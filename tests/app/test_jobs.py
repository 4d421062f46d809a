"""The job state machine, leases and fencing, on SQLite and PostgreSQL."""

from __future__ import annotations

import multiprocessing
from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import JOB_STATUSES, TERMINAL_STATUSES, Job, utcnow
from app.contract.kinds import RUN
from app.contract.payloads import RunPayload
from app.db import engine_for_url, session_factory
from tests.app.factories import make_project, make_run_with_checkpoints


def new_job(session: Session, **kw: object) -> Job:
    job = jobs.create_job(session, RUN, RunPayload(run_id=1), **kw)  # type: ignore[arg-type]
    session.commit()
    return job


def reload(session: Session, job: Job) -> Job:
    session.expire_all()
    fresh = session.get(Job, job.id)
    assert fresh is not None
    return fresh


def test_transitions_table() -> None:
    for s in TERMINAL_STATUSES:
        assert not any(jobs.can_transition(s, t) for t in JOB_STATUSES)
    assert jobs.can_transition("queued", "running") and not jobs.can_transition("queued", "succeeded")


def test_claim_heartbeat_finish(session: Session) -> None:
    job = new_job(session)
    attempt = jobs.claim(session, job.id, "w1")
    assert attempt == 1
    with pytest.raises(jobs.LeaseNotAcquired):
        jobs.claim(session, job.id, "w2")  # a live lease is not stolen
    assert jobs.heartbeat(session, job.id, attempt, progress=0.5, message="epoch 1") is False
    jobs.finish(session, job.id, attempt, result={"clips": 3})
    job = reload(session, job)
    assert (job.status, job.progress, job.result, job.lease_owner) == ("succeeded", 1.0, {"clips": 3}, None)
    assert job.finished_at is not None and job.started_at is not None
    with pytest.raises(jobs.LeaseLost):
        jobs.fail(session, job.id, attempt, "too late")  # terminal stays terminal
    with pytest.raises(jobs.LeaseNotAcquired):
        jobs.claim(session, job.id, "w2")


def test_stale_lease_is_taken_over_and_the_old_attempt_is_fenced_out(session: Session) -> None:
    job = new_job(session)
    old = jobs.claim(session, job.id, "w1")
    later = utcnow() + timedelta(seconds=300)
    new = jobs.claim(session, job.id, "w2", stale_after_s=60, now=later)
    assert new == old + 1
    with pytest.raises(jobs.LeaseLost):
        jobs.heartbeat(session, job.id, old)
    with pytest.raises(jobs.LeaseLost):
        jobs.fenced_update(session, job.id, old, message="zombie write")
    session.rollback()
    with pytest.raises(jobs.LeaseLost):
        jobs.finish(session, job.id, old)
    jobs.fenced_update(session, job.id, new, message="epoch 2")
    session.commit()
    job = reload(session, job)
    assert (job.attempt, job.lease_owner, job.message) == (2, "w2", "epoch 2")


def test_cancel_queued_at_once_running_cooperatively_and_twice(session: Session) -> None:
    queued = new_job(session)
    for _ in range(2):
        job = jobs.request_cancel(session, queued.id)
        assert job is not None and job.status == "cancelled" and job.cancel_requested
    with pytest.raises(jobs.LeaseNotAcquired):
        jobs.claim(session, queued.id, "w1")

    running = new_job(session)
    attempt = jobs.claim(session, running.id, "w1")
    for _ in range(2):
        job = jobs.request_cancel(session, running.id)
        assert job is not None and job.status == "running" and job.cancel_requested
    assert jobs.heartbeat(session, running.id, attempt) is True  # the worker learns of it
    jobs.cancel(session, running.id, attempt)
    assert reload(session, running).status == "cancelled"
    assert jobs.request_cancel(session, running.id).status == "cancelled"  # type: ignore[union-attr]
    assert jobs.request_cancel(session, 10_000) is None


def test_dead_worker_with_a_cancel_request_ends_cancelled(session: Session) -> None:
    job = new_job(session)
    jobs.claim(session, job.id, "w1")
    jobs.request_cancel(session, job.id)
    with pytest.raises(jobs.LeaseNotAcquired):
        jobs.claim(session, job.id, "w2", stale_after_s=1, now=utcnow() + timedelta(seconds=10))
    assert reload(session, job).status == "cancelled"


def test_poison_job_gives_up_after_max_attempts(session: Session) -> None:
    job = new_job(session)
    now = utcnow()
    for i in range(3):
        now += timedelta(seconds=100)
        assert jobs.claim(session, job.id, f"w{i}", stale_after_s=10, max_attempts=3, now=now) == i + 1
    with pytest.raises(jobs.GaveUp):
        jobs.claim(session, job.id, "w9", stale_after_s=10, max_attempts=3, now=now + timedelta(seconds=100))
    job = reload(session, job)
    assert job.status == "failed" and "3 attempts" in (job.error or "")


def test_release_and_fail(session: Session) -> None:
    job = new_job(session)
    attempt = jobs.claim(session, job.id, "w1")
    jobs.release(session, job.id, attempt, message="worker shutting down")
    assert reload(session, job).status == "queued"
    attempt = jobs.claim(session, job.id, "w2")
    assert attempt == 2
    jobs.fail(session, job.id, attempt, "source.flac: flac decoder lost sync")
    job = reload(session, job)
    assert job.status == "failed" and job.error == "source.flac: flac decoder lost sync"


def test_a_job_asked_to_stop_is_cancelled_not_handed_back(session: Session) -> None:
    """Found by tests/app/test_job_lifecycle_machine.py: handed back with its cancel request,
    the job stayed queued for ever (no worker claims it, no sweep publishes it)."""
    job = new_job(session)
    project = make_project(session)
    run = make_run_with_checkpoints(session, project.id, epochs=1)
    run.job_id, run.status = job.id, "running"
    session.commit()
    attempt = jobs.claim(session, job.id, "w1")
    jobs.request_cancel(session, job.id)
    assert jobs.release(session, job.id, attempt, message="worker shutting down") == "cancelled"
    job = reload(session, job)
    assert (job.status, job.lease_owner, job.handbacks) == ("cancelled", None, 0)
    assert job.finished_at is not None
    session.refresh(run)
    assert run.status == "cancelled"
    with pytest.raises(jobs.LeaseLost):  # the attempt ended: a second hand-back is fenced out
        jobs.release(session, job.id, attempt)


def test_sweeper_queries(session: Session) -> None:
    stale = new_job(session)
    jobs.claim(session, stale.id, "w1", now=utcnow() - timedelta(seconds=600))
    fresh = new_job(session)
    jobs.claim(session, fresh.id, "w2")
    assert jobs.stale_running(session, stale_after_s=120) == [stale.id]
    unpublished = new_job(session)
    assert jobs.unpublished(session, older_than_s=-1) == [unpublished.id]
    jobs.mark_enqueued(session, unpublished.id)
    assert jobs.unpublished(session, older_than_s=60) == []


def _claim_all(url: str, ids: list[int], worker: str) -> list[int]:
    engine = engine_for_url(url)
    won = []
    try:
        with session_factory(engine)() as session:
            for job_id in ids:
                try:
                    jobs.claim(session, job_id, worker)
                    won.append(job_id)
                except jobs.LeaseNotAcquired:
                    pass
    finally:
        engine.dispose()
    return won


def test_concurrent_claims_from_processes_have_one_winner(engine: Engine, db_url: str) -> None:
    with session_factory(engine)() as session:
        ids = [new_job(session).id for _ in range(30)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.starmap(_claim_all, [(db_url, ids, f"w{i}") for i in range(4)])
    won = sorted(j for r in results for j in r)
    assert won == ids  # every job claimed exactly once
    with session_factory(engine)() as session:
        assert {session.get(Job, i).attempt for i in ids} == {1}  # type: ignore[union-attr]

