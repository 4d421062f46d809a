"""Jobs over HTTP: poll, cancel (twice), and Server-Sent Events until a terminal state."""

from __future__ import annotations

import json
import threading
import time

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Job
from app.contract.kinds import GENERATE
from app.contract.payloads import GeneratePayload

API = "/api/v1"


def make_job(session: Session) -> int:
    payload = GeneratePayload(checkpoint_id=1, run_id=1, n=1, seconds=1.0, temperature=1.0, seed=0)
    job = jobs.create_job(session, GENERATE, payload)
    session.commit()
    return job.id


def test_get_and_cancel_twice(client: TestClient, app_session: Session) -> None:
    job_id = make_job(app_session)
    r = client.get(f"{API}/jobs/{job_id}")
    assert r.status_code == 200 and r.json()["status"] == "queued" and r.json()["progress"] == 0
    for _ in range(2):
        r = client.post(f"{API}/jobs/{job_id}/cancel")
        assert r.status_code == 202 and r.json()["status"] == "cancelled"
    assert client.get(f"{API}/jobs/4242").status_code == 404
    assert client.post(f"{API}/jobs/4242/cancel").status_code == 404


def test_cancel_running_job_is_cooperative(client: TestClient, app_session: Session) -> None:
    job_id = make_job(app_session)
    attempt = jobs.claim(app_session, job_id, "w1")
    r = client.post(f"{API}/jobs/{job_id}/cancel")
    assert r.json()["status"] == "running" and r.json()["cancel_requested"] is True
    assert jobs.heartbeat(app_session, job_id, attempt) is True
    jobs.cancel(app_session, job_id, attempt)
    assert client.post(f"{API}/jobs/{job_id}/cancel").json()["status"] == "cancelled"


def _parse_sse(text: str) -> list[dict[str, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(": ")
                fields[name] = value
        if fields:
            events.append(fields)
    return events


def test_events_stream_until_terminal(client: TestClient, app_session: Session) -> None:
    job_id = make_job(app_session)
    factory = client.app.state.session_factory  # type: ignore[attr-defined]

    def worker() -> None:
        # A worker in another thread, with its own short sessions, as a real one would.
        time.sleep(0.3)
        with factory() as s:
            attempt = jobs.claim(s, job_id, "w1")
            for p in (0.25, 0.5, 0.75):
                time.sleep(0.15)
                jobs.heartbeat(s, job_id, attempt, progress=p, message=f"{int(p * 100)}%")
            time.sleep(0.15)
            jobs.finish(s, job_id, attempt, result={"clips": [1]})

    thread = threading.Thread(target=worker)
    thread.start()
    r = client.get(f"{API}/jobs/{job_id}/events")
    thread.join()
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
    events = _parse_sse(r.text)
    assert all(e["event"] == "job" for e in events)
    states = [json.loads(e["data"]) for e in events]
    assert states[0]["status"] == "queued" and states[-1]["status"] == "succeeded"
    assert states[-1]["result"] == {"clips": [1]}
    progress = [s["progress"] for s in states]
    assert progress == sorted(progress) and 0.5 in progress
    assert [int(e["id"]) for e in events] == list(range(1, len(events) + 1))


def test_events_of_a_finished_job_end_at_once(client: TestClient, app_session: Session) -> None:
    job_id = make_job(app_session)
    jobs.request_cancel(app_session, job_id)
    events = _parse_sse(client.get(f"{API}/jobs/{job_id}/events").text)
    assert len(events) == 1 and json.loads(events[0]["data"])["status"] == "cancelled"
    r = client.get(f"{API}/jobs/999/events")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"


def test_events_report_a_deleted_job(client: TestClient, app_session: Session) -> None:
    job_id = make_job(app_session)
    factory = client.app.state.session_factory  # type: ignore[attr-defined]
    with client.stream("GET", f"{API}/jobs/{job_id}/events") as response:
        lines = response.iter_lines()
        assert next(lines)  # the job's first state is on its way: now it goes away
        with factory() as s:
            s.delete(s.get(Job, job_id))
            s.commit()
        text = "\n".join(lines)
    assert "event: gone" in text
