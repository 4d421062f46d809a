"""The main API flow on both catalogs: SQLite (embedded) and PostgreSQL (distributed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.queue import RecordingQueue
from app.settings import Settings
from tests.app.factories import add_clips, audio_bytes

API = "/api/v1"


@pytest.fixture
def any_client(db_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, RecordingQueue]]:
    queue = RecordingQueue()
    settings = Settings(data_dir=tmp_path / "data", database_url=db_url)
    with TestClient(create_app(settings, queue=queue)) as client:
        yield client, queue


def test_project_upload_run_cancel_resume_clips(any_client: tuple[TestClient, RecordingQueue]) -> None:
    client, queue = any_client
    pid = client.post(f"{API}/projects", json={"name": "A", "artist": "B"}).json()["id"]
    r = client.post(f"{API}/projects/{pid}/sources", files={"files": ("a.flac", audio_bytes("FLAC"), "audio/flac")})
    assert r.status_code == 201
    headers = {"Idempotency-Key": "same"}
    runs = [client.post(f"{API}/projects/{pid}/runs", json={"preset": "tiny"}, headers=headers) for _ in range(2)]
    assert [r.status_code for r in runs] == [202, 202] and runs[0].json()["id"] == runs[1].json()["id"]
    assert len(queue.sent) == 1
    run = runs[0].json()
    for _ in range(2):
        assert client.post(f"{API}/jobs/{run['job_id']}/cancel").json()["status"] == "cancelled"
    assert client.get(f"{API}/runs/{run['id']}").json()["status"] == "cancelled"
    assert client.post(f"{API}/runs/{run['id']}/resume").status_code == 202
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        add_clips(s, pid, 120)
    page = client.get(f"{API}/projects/{pid}/clips", params={"sort": "-rating", "limit": 50}).json()
    assert len(page["data"]) == 50 and page["next_cursor"]
    ratings = [c["rating"] for c in page["data"]]
    assert ratings == sorted(ratings, key=lambda r: -1 if r is None else r, reverse=True)
    assert client.delete(f"{API}/projects/{pid}").status_code == 204
