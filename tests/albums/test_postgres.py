"""The album flow on PostgreSQL (the distributed catalog): titles, covers, an album reordered by
PUT, check, transition, export and the no-curation album. Skips when no server is reachable."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Clip
from app.migrate import upgrade
from app.settings import Settings
from tests.albums.conftest import Worker
from tests.albums.factories import (
    API,
    add_run,
    job,
    make_project,
    make_track,
    storage_of,
    upload_image,
)
from tests.model.test_titles import DISCOGRAPHY

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(pg_database_factory: Callable[[], str], tmp_path: Path) -> Settings:
    """Overrides the SQLite catalog of conftest.py for this module."""
    values = Settings(data_dir=tmp_path / "data", database_url=pg_database_factory(),
                      heartbeat_interval_s=0.2, job_stale_after_s=5.0)
    upgrade(values)
    return values


def _run(client: TestClient, worker: Worker, path: str, body: dict) -> dict:
    r = client.post(f"{API}{path}", json=body)
    assert r.status_code == 202, r.text
    worker.run_all()
    done = job(client, r.json()["id"] if "job_id" not in r.json() else r.json()["job_id"])
    assert done["status"] == "succeeded", done
    return done


def test_the_album_flow_on_postgresql(client: TestClient, worker: Worker, session: Session) -> None:
    pid = make_project(client)
    run = add_run(session, storage_of(client), pid, epochs=2, per_epoch=2, seconds=32.0)
    clips = list(session.scalars(select(Clip.id).where(Clip.run_id == run.id).order_by(Clip.id)))
    session.rollback()
    client.put(f"{API}/projects/{pid}/titles", json=DISCOGRAPHY)
    _run(client, worker, f"/projects/{pid}/titles/generate", {"n": 50, "seed": 1})
    titles = client.get(f"{API}/projects/{pid}/titles/generated", params={"limit": 10}).json()
    assert len(titles["data"]) == 10 and titles["next_cursor"]
    word = titles["data"][0]["text"].split()[0]
    assert client.get(f"{API}/projects/{pid}/titles/generated", params={"q": word}).json()["data"]
    pinned = client.patch(f"{API}/titles/{titles['data'][0]['id']}", json={"pinned": True}).json()
    assert client.get(f"{API}/projects/{pid}/titles/generated",
                      params={"pinned": "true"}).json()["data"] == [pinned]

    upload_image(client, pid, "cover")
    cover = _run(client, worker, f"/projects/{pid}/covers/generate", {"backend": "mosaic"})
    cover_id = cover["result"]["cover_ids"][0]
    songs = [
        make_track(client, pid, [{"clip_id": c, "start_s": 0, "end_s": 31}], f"song {i}")["id"]
        for i, c in enumerate(clips[:2])
    ]
    credits = [{"role": "producer", "name": "Pro\x00ducer"}]
    body = {"title": "Pg", "artist": "Bot\x00s", "cover_id": cover_id, "release_date": "2026",
            "genre": "G", "label": "L", "upc": "036000291452",
            "tracks": [{"track_id": songs[0], "title": "One", "composer": "C", "isrc": "USS1Z2600001",
                        "credits": credits},
                       {"track_id": songs[1], "title": "Two", "composer": "D", "isrc": "USS1Z2600002"}]}
    album = client.post(f"{API}/projects/{pid}/albums", json=body).json()
    assert album["artist"] == "Bots"  # NUL dropped: PostgreSQL text cannot hold it
    assert album["tracks"][0]["credits"] == [{"role": "producer", "name": "Producer"}]  # JSON too
    body["tracks"].reverse()  # positions swap: the unique (album, position) must not trip
    r = client.put(f"{API}/albums/{album['id']}", json=body)
    assert r.status_code == 200, r.text
    assert [t["track_id"] for t in r.json()["tracks"]] == songs[::-1]
    assert client.get(f"{API}/albums/{album['id']}/check").json() == {
        "ok": True, "problems": [], "warnings": []
    }
    assert client.get(f"{API}/albums/{album['id']}/transition/1/audio").status_code == 200

    export = _run(client, worker, f"/albums/{album['id']}/exports", {})
    done = client.get(f"{API}/exports/{export['result']['export_id']}").json()
    zf = zipfile.ZipFile(io.BytesIO(client.get(done["download_url"]).content))
    flacs = sorted(n for n in zf.namelist() if n.endswith(".flac"))
    assert [n.rsplit("/", 1)[1] for n in flacs] == ["01 - Two.flac", "02 - One.flac"]
    assert sf.info(io.BytesIO(zf.read(flacs[0]))).subtype == "PCM_24"

    auto = [_run(client, worker, f"/projects/{pid}/albums/auto",
                 {"tracks": 2, "seconds": 30, "epoch": "all", "seed": 5}) for _ in range(2)]
    assert auto[0]["result"]["clip_ids"] == auto[1]["result"]["clip_ids"]
    assert auto[0]["result"]["titles"] == auto[1]["result"]["titles"]
