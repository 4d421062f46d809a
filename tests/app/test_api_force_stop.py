"""POST /jobs/{id}/force-stop: cancelled at once (the job and its run), the old attempt can no
longer write, 409 problem+json for a job that already ended, 404 for none."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Job, Project, Run
from app.contract.kinds import RUN
from app.contract.payloads import RunPayload
from app.jobs import LeaseLost
from tests.plans import tiny_plan

API = "/api/v1"


def running_run_job(session: Session) -> tuple[int, int, int]:
    """A run job claimed by a worker that then ignores its cancel: (job, run, attempt)."""
    project = Project(name="P", artist="A")
    session.add(project)
    session.flush()
    run = Run(project_id=project.id, config=tiny_plan(), status="running")
    session.add(run)
    session.flush()
    job = jobs.create_job(session, RUN, RunPayload(run_id=run.id), project_id=project.id)
    run.job_id = job.id
    session.commit()
    attempt = jobs.claim(session, job.id, "gpu@box/4242")
    return job.id, run.id, attempt


def test_force_stop_cancels_a_running_job_and_its_run_at_once(
    client: TestClient, app_session: Session
) -> None:
    job_id, run_id, attempt = running_run_job(app_session)
    asked = client.post(f"{API}/jobs/{job_id}/cancel").json()
    assert asked["status"] == "running" and asked["cancel_requested_at"] is not None

    r = client.post(f"{API}/jobs/{job_id}/force-stop")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "cancelled" and body["force_stopped_at"] is not None
    assert body["cancel_requested_at"] == asked["cancel_requested_at"]  # the first ask stays
    assert "force-stopped" in body["message"]
    assert client.get(f"{API}/runs/{run_id}").json()["status"] == "cancelled"
    app_session.expire_all()
    job = app_session.get(Job, job_id)
    assert job is not None and job.lease_owner == "gpu@box/4242"  # who the watchdog kills
    # the wedged attempt, should it wake up, writes nothing
    with pytest.raises(LeaseLost):
        jobs.heartbeat(app_session, job_id, attempt, steps=99)
    app_session.rollback()


def test_force_stop_of_an_ended_job_is_a_409_problem(
    client: TestClient, app_session: Session
) -> None:
    job_id, _, attempt = running_run_job(app_session)
    jobs.finish(app_session, job_id, attempt, result={})
    r = client.post(f"{API}/jobs/{job_id}/force-stop")
    assert r.status_code == 409
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "already succeeded" in r.json()["detail"]
    assert client.get(f"{API}/jobs/{job_id}").json()["status"] == "succeeded"  # unchanged
    assert client.post(f"{API}/jobs/4242/force-stop").status_code == 404


def test_force_stop_of_a_queued_job_cancels_it(client: TestClient, app_session: Session) -> None:
    project = Project(name="P", artist="A")
    app_session.add(project)
    app_session.flush()
    job = jobs.create_job(app_session, RUN, RunPayload(run_id=1), project_id=project.id)
    app_session.commit()
    r = client.post(f"{API}/jobs/{job.id}/force-stop")
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    assert client.post(f"{API}/jobs/{job.id}/force-stop").status_code == 409
