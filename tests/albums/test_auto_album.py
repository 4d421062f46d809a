"""The no-curation album (modes clips and epochs here; generate runs in test_worker_e2e.py)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.albums.conftest import Worker
from tests.albums.factories import API, add_run, job, make_project, storage_of, upload_image
from tests.model.test_titles import DISCOGRAPHY


@pytest.fixture
def project(client: TestClient, session: Session) -> int:
    """Three epochs of three 35 s clips, a discography and an album cover."""
    pid = make_project(client)
    add_run(session, storage_of(client), pid, epochs=3, per_epoch=3, seconds=35.0)
    client.put(f"{API}/projects/{pid}/titles", json=DISCOGRAPHY)
    upload_image(client, pid, "cover")
    return pid


def _auto(client: TestClient, worker: Worker, pid: int, **body: object) -> dict:
    r = client.post(f"{API}/projects/{pid}/albums/auto", json=body)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"{API}/jobs/{r.json()['id']}"
    assert r.json()["kind"] == "auto-album"
    worker.run_all()
    done = job(client, r.json()["id"])
    assert done["status"] == "succeeded", done
    return done


def _release(client: TestClient, result: dict) -> zipfile.ZipFile:
    r = client.get(result["download_url"])
    assert r.status_code == 200, r.text
    return zipfile.ZipFile(io.BytesIO(r.content))


def test_the_same_seed_picks_the_same_clips_and_titles(
    client: TestClient, worker: Worker, project: int
) -> None:
    body = {"mode": "clips", "tracks": 3, "seconds": 31, "epoch": "all", "seed": 11}
    first = _auto(client, worker, project, **body)
    second = _auto(client, worker, project, **body)
    assert first["payload"]["pieces"] == second["payload"]["pieces"]
    a, b = first["result"], second["result"]
    assert a["clip_ids"] == b["clip_ids"] and len(set(a["clip_ids"])) == 3
    assert a["titles"] == b["titles"] and a["title"] == b["title"]
    assert a["album_id"] != b["album_id"] and a["seed"] == 11
    assert not {t.lower() for t in a["titles"]} & {t.lower() for t in DISCOGRAPHY}
    other = _auto(client, worker, project, **{**body, "seed": 12})
    assert other["payload"]["pieces"] != first["payload"]["pieces"]

    album = client.get(a["album_url"]).json()
    assert album["title"] == a["title"] and album["artist"] == "albumbot"
    assert [t["title"] for t in album["tracks"]] == a["titles"]
    assert [t["duration_s"] for t in album["tracks"]] == pytest.approx([31.0] * 3, abs=1e-3)
    assert album["cover_id"] == a["cover_id"] is not None
    export = client.get(a["export_url"]).json()
    assert export["status"] == "succeeded" and export["album_id"] == a["album_id"]
    zf = _release(client, a)
    manifest = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith("manifest.json"))))
    assert [t["clip_ids"] for t in manifest["tracks"]] == [[c] for c in a["clip_ids"]]
    assert manifest["checks"] == []
    # Each track is one section of one clip, the excerpt the plan chose.
    for piece, track_id in zip(first["payload"]["pieces"], a["track_ids"], strict=True):
        edl = client.get(f"{API}/tracks/{track_id}").json()["edl"]
        assert len(edl["items"]) == 1
        item = edl["items"][0]
        assert (item["clip_id"], item["start_s"], item["end_s"]) == (
            piece["clip_id"], piece["start_s"], piece["end_s"]
        )
        # Its history starts at revision 1, like a song made in the studio.
        revisions = client.get(f"{API}/tracks/{track_id}/revisions").json()
        assert [r["revision"] for r in revisions["data"]] == [1], revisions


def test_clips_of_the_last_epoch_by_default(client: TestClient, worker: Worker, project: int) -> None:
    done = _auto(client, worker, project, tracks=2, seed=1)
    assert {p["epoch"] for p in done["payload"]["pieces"]} == {3}
    assert all(p["start_s"] == 0 and p["end_s"] == p["duration_s"] for p in done["payload"]["pieces"])


def test_epochs_mode_plays_one_excerpt_per_epoch_in_training_order(
    client: TestClient, worker: Worker, project: int
) -> None:
    done = _auto(client, worker, project, mode="epochs", seed=5, title="Deep The Bots")
    pieces = done["payload"]["pieces"]
    assert [p["epoch"] for p in pieces] == [1, 2, 3]
    assert all(p["end_s"] - p["start_s"] == pytest.approx(30.0) for p in pieces)
    result = done["result"]
    assert result["title"] == "Deep The Bots" and len(result["titles"]) == 3
    zf = _release(client, result)
    flacs = sorted(n for n in zf.namelist() if n.endswith(".flac"))
    assert len(flacs) == 3
    durations = [sf.info(io.BytesIO(zf.read(n))).duration for n in flacs]
    assert durations == pytest.approx([32.0, 32.0, 30.0], abs=0.01)  # 30 s + the 2 s gaps
    manifest = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith("manifest.json"))))
    epochs = {c["id"]: c["epoch"] for c in manifest["clips"]}
    assert [epochs[t["clip_ids"][0]] for t in manifest["tracks"]] == [1, 2, 3]


def test_without_discography_or_cover_it_still_makes_a_release_ready_album(
    client: TestClient, worker: Worker, session: Session
) -> None:
    """No titles and no artwork uploaded: placeholder titles, and a cover drawn from the
    album's own sound, in the zip as cover.jpg and embedded as the front cover of every track."""
    from mutagen.flac import FLAC

    pid = make_project(client)
    add_run(session, storage_of(client), pid, epochs=2, per_epoch=1, seconds=31.0)
    done = _auto(client, worker, pid, mode="epochs", seed=2)
    result = done["result"]
    assert result["titles"] == ["Epoch 1", "Epoch 2"] and result["title"] == "Untitled"
    assert result["cover_id"] is not None
    assert any("drawn from the album's own sound" in n for n in result["notes"])
    assert any("placeholders" in n for n in result["notes"])
    assert result["problems"] == []
    cover = client.get(f"{API}/projects/{pid}/covers").json()["data"][0]
    assert cover["id"] == result["cover_id"]
    zf = _release(client, result)
    names = zf.namelist()
    assert any(n.endswith("/cover.jpg") for n in names)
    flacs = [n for n in names if n.endswith(".flac")]
    assert len(flacs) == 2
    for name in flacs:
        pictures = FLAC(io.BytesIO(zf.read(name))).pictures
        assert [p.type for p in pictures] == [3], name  # the front cover
    manifest = json.loads(zf.read(next(n for n in names if n.endswith("manifest.json"))))
    assert manifest["cover"]["from_sound"] == result["clip_ids"]


def test_requests_that_cannot_be_met_are_refused_up_front(
    client: TestClient, project: int
) -> None:
    url = f"{API}/projects/{project}/albums/auto"
    r = client.post(url, json={"mode": "clips", "tracks": 4, "epoch": 2})
    assert r.status_code == 409 and "at most 3" in r.json()["detail"]
    assert client.post(url, json={"mode": "epochs", "epoch": 2}).status_code == 422
    assert client.post(url, json={"mode": "generate", "epoch": "all"}).status_code == 422
    assert client.post(url, json={"epoch": 9, "mode": "generate"}).status_code == 409
    assert client.post(url, json={"run_id": 999}).status_code == 404
    empty = make_project(client, name="Untrained")
    r = client.post(f"{API}/projects/{empty}/albums/auto", json={})
    assert r.status_code == 409 and "no trained epochs" in r.json()["detail"]


class _Killed(BaseException):
    """Stands in for the worker process dying: not an Exception, so nothing records a failure."""


def test_a_redelivered_job_makes_one_album(
    client: TestClient, worker: Worker, project: int, session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from app.catalog import Album, Export, Job, utcnow
    from worker import album_runners

    r = client.post(f"{API}/projects/{project}/albums/auto", json={"tracks": 2, "seed": 4})
    job_id = r.json()["id"]

    def die(*args: object, **kwargs: object) -> None:
        raise _Killed

    with monkeypatch.context() as m:
        m.setattr(album_runners.release_build, "build_release", die)
        with pytest.raises(_Killed):
            worker.run_all()
    assert job(client, job_id)["status"] == "running"
    session.execute(update(Job).where(Job.id == job_id).values(
        heartbeat_at=utcnow() - timedelta(minutes=10)))  # the dead worker's lease went stale
    session.commit()
    worker.queue.enqueue("auto-album", job_id, queue="cpu")  # the sweeper's redelivery
    worker.run_all()
    done = job(client, job_id)
    assert done["status"] == "succeeded" and done["attempt"] == 2
    albums = session.scalar(select(func.count()).select_from(Album).where(Album.project_id == project))
    exports = session.scalar(select(func.count()).select_from(Export).where(Export.job_id == job_id))
    session.rollback()
    assert (albums, exports) == (1, 1)
    assert client.get(done["result"]["download_url"]).status_code == 200
