"""The no-curation album's cover is made by the best backend this install runs
(app/services/cover_backends.py), not always the mosaic."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.services import cover_backends
from tests.albums.conftest import Worker
from tests.albums.factories import API, add_run, job, make_project, storage_of, upload_image


def test_the_auto_album_cover_uses_the_best_available_backend(
    client: TestClient, worker: Worker, session: Session
) -> None:
    pid = make_project(client)
    add_run(session, storage_of(client), pid, epochs=1, per_epoch=2, seconds=31.0)
    upload_image(client, pid, "cover")
    r = client.post(f"{API}/projects/{pid}/albums/auto", json={"mode": "clips", "tracks": 1,
                                                              "seed": 4})
    assert r.status_code == 202, r.text
    worker.run_all()
    done = job(client, r.json()["id"])
    assert done["status"] == "succeeded", done
    cover = client.get(f"{API}/covers/{done['result']['cover_id']}").json()
    settings = client.app.state.settings  # type: ignore[attr-defined]
    expected = cover_backends.auto_album_backend(settings)
    assert cover["backend"] == expected
    listed = client.get(f"{API}/covers/backends").json()["data"]
    assert [b["name"] for b in listed if b["auto_album"]] == [expected]
