"""202 answers and idempotency (UX.md rows 43 and 46): every 202 carries `Retry-After`; an
`Idempotency-Key` sent again with the same request answers the first job, with another request
422 problem+json naming that job."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.catalog import Checkpoint, Job
from app.queue import RecordingQueue
from app.schemas.runs import RunConfigIn
from app.services.jobs import request_sha256
from tests.app.factories import audio_bytes

API = "/api/v1"


@pytest.fixture
def pid(client: TestClient) -> int:
    project = client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()
    files = {"files": ("a.wav", audio_bytes(), "audio/wav")}
    assert client.post(f"{API}/projects/{project['id']}/sources", files=files).status_code == 201
    return int(project["id"])


def _checkpoint(client: TestClient, run_id: int) -> int:
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        s.add(Checkpoint(run_id=run_id, epoch=1, step=50, train_nll_bits=6.5, valid_nll_bits=6.9,
                         path="x.pt"))
        s.commit()
        return int(s.scalars(select(Checkpoint.id).where(Checkpoint.run_id == run_id)).one())


def test_every_202_answer_says_when_to_poll(client: TestClient, pid: int) -> None:
    run = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"})
    ck = _checkpoint(client, run.json()["id"])
    answers = {
        "create run": run,
        "generate": client.post(f"{API}/checkpoints/{ck}/generate", json={"n": 1, "seconds": 2}),
        "cancel run": client.post(f"{API}/runs/{run.json()['id']}/cancel"),
        "resume run": client.post(f"{API}/runs/{run.json()['id']}/resume"),
        "cancel job": client.post(f"{API}/jobs/{run.json()['job_id']}/cancel"),
    }
    for name, r in answers.items():
        assert r.status_code == 202, (name, r.text)
        assert r.headers["retry-after"] == "2", name
        assert name == "cancel job" or r.headers["location"].startswith(f"{API}/jobs/")
    # Other answers do not get it, and the schema documents it on every 202.
    assert "retry-after" not in client.get(f"{API}/projects/{pid}").headers
    schema = client.get(f"{API}/openapi.json").json()
    accepted = [
        (path, method, op["responses"]["202"])
        for path, ops in schema["paths"].items() for method, op in ops.items()
        if "202" in op.get("responses", {})
    ]
    assert len(accepted) >= 9
    for path, method, answer in accepted:
        assert "Retry-After" in answer.get("headers", {}), (method, path)


def test_the_same_key_and_body_give_the_first_job(
    client: TestClient, queue: RecordingQueue, pid: int
) -> None:
    headers = {"Idempotency-Key": "k-1"}
    first = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny", "epochs": 3},
                        headers=headers)
    # The same request written differently: key order, and a default spelled out.
    again = client.post(
        f"{API}/projects/{pid}/runs",
        content='{"epochs": 3,   "preset": "tiny", "seed": null}',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 202
    assert again.json()["id"] == first.json()["id"] and len(queue.sent) == 1
    assert again.headers["retry-after"] == "2"


def test_the_same_key_with_another_body_is_422_naming_the_first_job(
    client: TestClient, queue: RecordingQueue, pid: int
) -> None:
    headers = {"Idempotency-Key": "k-2"}
    first = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}, headers=headers)
    r = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny", "epochs": 9},
                    headers=headers)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["status"] == 422 and problem["job_id"] == first.json()["job_id"]
    assert "Idempotency-Key" in problem["detail"] and "different request" in problem["detail"]
    assert len(queue.sent) == 1
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert s.scalar(select(Job.request_sha256).where(Job.id == first.json()["job_id"])) == (
            request_sha256(RunConfigIn(preset="tiny"))
        )
    # The same key on another endpoint or target is another key altogether.
    ck = _checkpoint(client, first.json()["id"])
    other = client.post(f"{API}/checkpoints/{ck}/generate", json={"n": 1, "seconds": 2},
                        headers=headers)
    assert other.status_code == 202


def test_a_reused_key_is_422_on_every_job_endpoint(client: TestClient, pid: int) -> None:
    run = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}).json()
    ck = _checkpoint(client, run["id"])
    url = f"{API}/checkpoints/{ck}/generate"
    headers = {"Idempotency-Key": "gen"}
    assert client.post(url, json={"n": 1, "seconds": 2, "seed": 1}, headers=headers).status_code == 202
    assert client.post(url, json={"n": 1, "seconds": 2, "seed": 1}, headers=headers).status_code == 202
    r = client.post(url, json={"n": 2, "seconds": 2, "seed": 1}, headers=headers)
    assert r.status_code == 422 and "different request" in r.json()["detail"]


def test_jobs_stored_before_request_hashes_keep_answering(
    client: TestClient, queue: RecordingQueue, pid: int
) -> None:
    headers = {"Idempotency-Key": "old"}
    first = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}, headers=headers)
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        job = s.get(Job, first.json()["job_id"])
        assert job is not None
        job.request_sha256 = None  # as revision 0004 leaves jobs submitted before it
        s.commit()
    r = client.post(f"{API}/projects/{pid}/runs", json={"preset": "paper"}, headers=headers)
    assert r.status_code == 202 and r.json()["id"] == first.json()["id"]
