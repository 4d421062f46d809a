"""Runs and generation: 202 + Location, idempotency, commit-then-enqueue, cancel and resume."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from app.catalog import Checkpoint, Job, Run
from app.queue import RecordingQueue, Sent
from tests.app.factories import audio_bytes

API = "/api/v1"


@pytest.fixture
def pid(client: TestClient) -> int:
    project = client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()
    files = {"files": ("a.wav", audio_bytes(), "audio/wav")}
    assert client.post(f"{API}/projects/{project['id']}/sources", files=files).status_code == 201
    return int(project["id"])


def test_start_run_returns_202_with_location_and_enqueues(client: TestClient, queue: RecordingQueue, pid: int) -> None:
    r = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny", "epochs": 2, "model": {"dim": 64}})
    assert r.status_code == 202, r.text
    run = r.json()
    assert r.headers["location"] == f"{API}/jobs/{run['job_id']}"
    assert run["status"] == "queued" and run["config"]["epochs"] == 2
    assert run["config"]["model"]["dim"] == 64 and run["config"]["train"]["epochs"] == 2
    assert queue.sent == [Sent("run-training", run["job_id"], "gpu")]
    job = client.get(r.headers["location"]).json()
    assert (job["kind"], job["status"], job["payload"]) == (
        "run", "queued", {"v": 1, "run_id": run["id"], "resume": False}
    )
    assert client.get(f"{API}/runs/{run['id']}").json()["id"] == run["id"]
    assert [x["id"] for x in client.get(f"{API}/projects/{pid}/runs").json()["data"]] == [run["id"]]


def test_empty_body_uses_paper_defaults(client: TestClient, pid: int) -> None:
    run = client.post(f"{API}/projects/{pid}/runs").json()
    assert run["config"]["preset"] == "paper" and run["config"]["model"]["dim"] == 1024
    assert run["config"]["sample_rate"] == 16000


def test_temperature_zero_means_greedy_through_to_the_plan(client: TestClient, pid: int) -> None:
    run = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny", "temperature": 0}).json()
    assert run["config"]["temperature"] == 0.0  # not turned into the default 1.0
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        from app.services.runs import get_run, plan_of

        assert plan_of(get_run(s, run["id"])).temperature == 0.0
    r = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny", "temperature": -0.1})
    assert r.status_code == 422


def test_idempotency_key_gives_the_same_job_once(client: TestClient, queue: RecordingQueue, pid: int) -> None:
    headers = {"Idempotency-Key": "abc-123"}
    first = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}, headers=headers)
    second = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.json()["id"] == second.json()["id"]
    assert first.headers["location"] == second.headers["location"]
    assert len(queue.sent) == 1
    other = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}, headers={"Idempotency-Key": "zzz"})
    assert other.json()["id"] != first.json()["id"] and len(queue.sent) == 2


@pytest.mark.parametrize(
    "body",
    [{"bogus": 1}, {"sample_rate": 44100}, {"epochs": 0}, {"model": {"not_a_field": 1}}, {"model": {"cell": "rnn"}}],
)
def test_invalid_config_is_422(client: TestClient, queue: RecordingQueue, pid: int, body: dict) -> None:
    r = client.post(f"{API}/projects/{pid}/runs", json=body)
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert queue.sent == []


def test_run_needs_source_tracks(client: TestClient, queue: RecordingQueue) -> None:
    pid = client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"]
    r = client.post(f"{API}/projects/{pid}/runs", json={})
    assert r.status_code == 409 and "source" in r.json()["detail"]
    assert queue.sent == []


def test_job_row_is_committed_before_the_message(client: TestClient, pid: int) -> None:
    seen: list[str] = []

    class Probe:
        def enqueue(self, task: str, job_id: int, *, queue: str) -> None:
            # Another session (as a worker would open) must already see the job.
            with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
                seen.append(s.get(Job, job_id).status)  # type: ignore[union-attr]

    client.app.state.queue = Probe()  # type: ignore[attr-defined]
    assert client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}).status_code == 202
    assert seen == ["queued"]


def test_broker_down_still_accepts_and_leaves_the_job_queued(client: TestClient, queue: RecordingQueue, pid: int) -> None:
    queue.fail = True
    r = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"})
    assert r.status_code == 202
    job = client.get(r.headers["location"]).json()
    assert job["status"] == "queued" and "broker" in job["message"]
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert s.get(Job, job["id"]).enqueued_at is None  # type: ignore[union-attr]


def test_cancel_queued_run_then_resume(client: TestClient, queue: RecordingQueue, pid: int) -> None:
    run = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}).json()
    for _ in range(2):
        r = client.post(f"{API}/runs/{run['id']}/cancel")
        assert r.status_code == 202 and r.json()["status"] == "cancelled"
    assert client.get(f"{API}/jobs/{run['job_id']}").json()["status"] == "cancelled"
    r = client.post(f"{API}/runs/{run['id']}/resume", headers={"Idempotency-Key": "k"})
    assert r.status_code == 202
    resumed = r.json()
    assert resumed["status"] == "queued" and resumed["job_id"] != run["job_id"]
    assert r.headers["location"] == f"{API}/jobs/{resumed['job_id']}"
    assert queue.sent[-1] == Sent("run-training", resumed["job_id"], "gpu")
    payload = client.get(f"{API}/jobs/{resumed['job_id']}").json()["payload"]
    assert payload == {"v": 1, "run_id": run["id"], "resume": True}
    r = client.post(f"{API}/runs/{run['id']}/resume", headers={"Idempotency-Key": "k"})  # replay
    assert r.status_code == 202 and r.json()["job_id"] == resumed["job_id"] and len(queue.sent) == 2
    assert client.post(f"{API}/runs/{run['id']}/resume").status_code == 409  # it is queued now


def test_checkpoints_and_generate(client: TestClient, queue: RecordingQueue, pid: int) -> None:
    run = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}).json()
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        s.add(Checkpoint(run_id=run["id"], epoch=1, step=50, train_nll_bits=6.5, valid_nll_bits=6.9, path="x.pt"))
        s.commit()
        ck_id = s.scalars(select(Checkpoint.id)).one()
    cks = client.get(f"{API}/runs/{run['id']}/checkpoints").json()["data"]
    assert [(c["epoch"], c["valid_nll_bits"]) for c in cks] == [(1, 6.9)]
    assert client.get(f"{API}/runs/{run['id']}").json()["checkpoints"][0]["id"] == ck_id
    r = client.post(f"{API}/checkpoints/{ck_id}/generate", json={"n": 3, "seconds": 5, "temperature": 0.9, "seed": 7})
    assert r.status_code == 202
    job = r.json()
    assert r.headers["location"] == f"{API}/jobs/{job['id']}"
    assert job["kind"] == "generate" and job["payload"] == {
        "v": 1, "checkpoint_id": ck_id, "run_id": run["id"], "n": 3, "seconds": 5.0,
        "temperature": 0.9, "seed": 7, "first_index": None, "prime": None,
    }
    assert queue.sent[-1] == Sent("generate-clips", job["id"], "gpu")
    r = client.post(f"{API}/checkpoints/{ck_id}/generate", json={"n": 2})
    assert isinstance(r.json()["payload"]["seed"], int)  # a random seed, fixed at submission
    greedy = client.post(f"{API}/checkpoints/{ck_id}/generate", json={"n": 1, "temperature": 0})
    assert greedy.status_code == 202 and greedy.json()["payload"]["temperature"] == 0.0
    assert client.post(f"{API}/checkpoints/{ck_id}/generate", json={"n": 0}).status_code == 422
    assert client.post(f"{API}/checkpoints/999/generate", json={}).status_code == 404


def test_deleting_a_project_cancels_its_queued_jobs(client: TestClient, pid: int) -> None:
    run = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}).json()
    assert client.delete(f"{API}/projects/{pid}").status_code == 204
    job = client.get(f"{API}/jobs/{run['job_id']}").json()
    assert job["status"] == "cancelled" and job["project_id"] is None
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        assert s.get(Run, run["id"]) is None


def test_dataset_key_depends_on_content_and_preparation_only() -> None:
    from dataclasses import replace

    from app.schemas.runs import RunConfigIn
    from app.services.datasets import dataset_key
    from app.services.plans import run_plan

    plan = run_plan(RunConfigIn(preset="tiny", epochs=3, chunks=64))
    key = dataset_key(["b" * 64, "a" * 64], plan)
    assert key == dataset_key(["a" * 64, "b" * 64], replace(plan, epochs=9, clips_per_epoch=7))
    assert key != dataset_key(["a" * 64], plan)
    assert key != dataset_key(["a" * 64, "b" * 64], replace(plan, chunks=65))
    assert key != dataset_key(["a" * 64, "b" * 64], replace(plan, seed=1))


def test_a_run_asks_for_data_parallel_gpus(client: TestClient, pid: int) -> None:
    default = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}).json()
    assert default["config"]["gpus"] == 1
    four = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny", "gpus": 4}).json()
    assert four["config"]["gpus"] == 4 and four["config"]["train"]["batch_size"] == 16
    every = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny", "gpus": "all"})
    assert every.status_code == 202 and every.json()["config"]["gpus"] == "all"
    for bad in (0, "two", 1.5):
        r = client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny", "gpus": bad})
        assert r.status_code == 422, (bad, r.text)
        assert "gpus" in r.text
