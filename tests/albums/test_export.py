"""Exports: the release zip decoded file by file, loudness and peaks, tags and cover, safe names,
the manifest, identical re-exports, frozen revisions, the download."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import zipfile
from pathlib import PurePosixPath

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audio.tags import tag_text
from app.catalog import Clip
from model.loudness import integrated_lufs, true_peak_dbtp
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

HOSTILE = "../../x"
LONG = "Very Long: " + "ä/\\b" * 72 + "\x00end"  # 300 characters with separators and a NUL


@pytest.fixture
def album(client: TestClient, worker: Worker, session: Session) -> dict:
    """Two 34 s tracks from two clips, a picked cover, hostile titles, joined by a crossfade."""
    pid = make_project(client, artist="The Beatles")
    run = add_run(session, storage_of(client), pid, epochs=2, per_epoch=1, seconds=35.0)
    clips = list(session.scalars(select(Clip.id).where(Clip.run_id == run.id).order_by(Clip.id)))
    session.rollback()
    a = make_track(client, pid, [{"clip_id": clips[0], "start_s": 0.5, "end_s": 34.5}], "a")
    b = make_track(client, pid, {"items": [
        {"clip_id": clips[1], "start_s": 0, "end_s": 20, "lane": 0},
        {"clip_id": clips[0], "start_s": 5, "end_s": 25, "lane": 1, "gain_db": -6},
        {"clip_id": clips[1], "start_s": 20, "end_s": 34},
    ], "lanes": {"0": {"pan": -1}, "1": {"pan": 1, "offset_s": 0.25}}}, "b")
    upload_image(client, pid, "cover")
    r = client.post(f"{API}/projects/{pid}/covers/generate", json={"backend": "mosaic", "seed": 3})
    worker.run_all()
    cover_id = job(client, r.json()["id"])["result"]["cover_ids"][0]
    client.patch(f"{API}/covers/{cover_id}", json={"picked": True})
    r = client.post(f"{API}/projects/{pid}/albums", json={
        "title": "Deep Bot", "artist": "Dadabots", "cover_id": cover_id,
        "tracks": [{"track_id": a["id"], "title": HOSTILE, "crossfade_ms": 2000},
                   {"track_id": b["id"], "title": LONG}],
    })
    assert r.status_code == 201, r.text
    return {**r.json(), "clips": clips}


def _export(client: TestClient, worker: Worker, album_id: int, **body: object) -> dict:
    r = client.post(f"{API}/albums/{album_id}/exports", json=body or None)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"{API}/jobs/{r.json()['job_id']}"
    assert r.json()["status"] == "queued" and r.json()["download_url"] is None
    assert client.get(f"{API}/exports/{r.json()['id']}/download").status_code == 409
    worker.run_all()
    done = client.get(f"{API}/exports/{r.json()['id']}").json()
    assert done["status"] == "succeeded", job(client, done["job_id"])
    return dict(done)


def _download(client: TestClient, export: dict) -> bytes:
    r = client.get(export["download_url"])
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    assert len(r.content) == export["size_bytes"]
    return r.content


def _manifest(data: bytes) -> dict:
    zf = zipfile.ZipFile(io.BytesIO(data))
    return dict(json.loads(zf.read(next(n for n in zf.namelist() if n.endswith("manifest.json")))))


def test_the_release_zip_is_mastered_tagged_safe_and_documented(
    client: TestClient, worker: Worker, album: dict
) -> None:
    export = _export(client, worker, album["id"], formats=["flac", "mp3", "wav"])
    data = _download(client, export)
    zf = zipfile.ZipFile(io.BytesIO(data))
    names = zf.namelist()
    for name in names:  # RELIABILITY 26: relative, no "..", no drive, no separators in parts
        path = PurePosixPath(name)
        assert not path.is_absolute() and ".." not in path.parts and "\\" not in name
        assert "\x00" not in name and ":" not in name
        assert all(len(part.encode()) <= 255 for part in path.parts)
    root = "Dadabots - Deep Bot (" + str(album["created_at"][:4]) + ")"
    assert {PurePosixPath(n).parts[0] for n in names} == {root}

    flacs = sorted(n for n in names if n.endswith(".flac"))
    assert PurePosixPath(flacs[0]).name == "01 - _.._x.flac"
    assert PurePosixPath(flacs[1]).name.startswith("02 - Very Long_ ä_")
    audio = []
    for name in flacs:
        info = sf.info(io.BytesIO(zf.read(name)))
        assert (info.samplerate, info.channels, info.subtype) == (44100, 2, "PCM_24")
        samples, _ = sf.read(io.BytesIO(zf.read(name)), always_2d=True)
        audio.append(samples.T)
        assert true_peak_dbtp(samples.T, 44100) <= -1.0
    assert integrated_lufs(np.concatenate(audio, axis=1), 44100) == pytest.approx(-14.0, abs=0.5)

    cover = zf.read(f"{root}/cover.jpg")
    assert Image.open(io.BytesIO(cover)).size == (1400, 1400)
    for number, (name, title) in enumerate(zip(flacs, (HOSTILE, LONG), strict=True), start=1):
        tags = FLAC(io.BytesIO(zf.read(name)))
        assert tags["TITLE"] == [tag_text(title)] and "\x00" not in tags["TITLE"][0]
        assert tags["ARTIST"] == ["Dadabots"] and tags["ALBUM"] == ["Deep Bot"]
        assert tags["TRACKNUMBER"] == [str(number)] and tags["TRACKTOTAL"] == ["2"]
        assert [(p.type, p.data) for p in tags.pictures] == [(3, cover)]
    for name in (n for n in names if n.endswith(".wav")):
        samples, sr = sf.read(io.BytesIO(zf.read(name)), always_2d=True)
        assert sr == 44100 and samples.shape[1] == 2
    tracklist = zf.read(f"{root}/tracklist.txt").decode()
    assert "Dadabots - Deep Bot" in tracklist and "../../x" in tracklist

    manifest = json.loads(zf.read(f"{root}/manifest.json"))
    assert manifest["album"]["title"] == "Deep Bot" and manifest["album"]["artist"] == "Dadabots"
    assert manifest["cover"]["id"] == album["cover_id"] and manifest["cover"]["backend"] == "mosaic"
    tracks = manifest["tracks"]
    assert [t["title"] for t in tracks] == [HOSTILE, LONG.replace("\x00", "")]
    assert [t["track_id"] for t in tracks] == [t["track_id"] for t in album["tracks"]]
    assert [t["revision"] for t in tracks] == [t["revision"] for t in album["tracks"]]
    assert [t["file"] for t in tracks] == [PurePosixPath(n).name for n in flacs]
    assert tracks[0]["crossfade_after_ms"] == 2000 and tracks[1]["crossfade_after_ms"] is None
    assert tracks[1]["edl"]["lanes"]["1"]["pan"] == 1.0
    assert sorted({c for t in tracks for c in t["clip_ids"]}) == album["clips"]
    assert {c["id"] for c in manifest["clips"]} == set(album["clips"])
    assert {c["epoch"] for c in manifest["clips"]} == {1, 2}
    assert manifest["runs"][0]["seed"] == 3
    for t, samples in zip(tracks, audio, strict=True):
        assert t["integrated_lufs"] == pytest.approx(integrated_lufs(samples, 44100), abs=0.05)
        assert t["true_peak_dbtp"] <= -1.0
    assert manifest["mastering"]["album_integrated_lufs"] == pytest.approx(-14.0, abs=0.1)
    assert manifest["checks"] == []
    mp3s = sorted(n for n in names if n.endswith(".mp3"))
    if shutil.which("ffmpeg") is None:  # the export says so instead of failing
        assert mp3s == [] and any("ffmpeg" in note for note in manifest["notes"])
    else:  # listening copies, tagged
        assert len(mp3s) == 2 and not any("ffmpeg" in note for note in manifest["notes"])
        mp3 = MP3(io.BytesIO(zf.read(mp3s[0])))
        assert mp3.info.length > 1 and str(mp3.tags["TALB"]) == "Deep Bot"
    assert {f["name"] for f in manifest["files"]} == set(names) - {f"{root}/manifest.json"}
    for entry in manifest["files"]:
        assert hashlib.sha256(zf.read(entry["name"])).hexdigest() == entry["sha256"]


def test_the_same_album_exports_to_the_same_bytes(
    client: TestClient, worker: Worker, album: dict
) -> None:
    first = _export(client, worker, album["id"])
    second = _export(client, worker, album["id"])
    assert first["id"] != second["id"]
    assert _download(client, first) == _download(client, second)
    assert job(client, first["job_id"])["result"]["sha256"] == job(client, second["job_id"])["result"]["sha256"]


def test_an_export_renders_the_revisions_it_was_asked_for(
    client: TestClient, worker: Worker, album: dict
) -> None:
    r = client.post(f"{API}/albums/{album['id']}/exports", json={})
    track = album["tracks"][0]
    edited = client.put(f"{API}/tracks/{track['track_id']}", json={
        "edl": [{"clip_id": album["clips"][1], "start_s": 0, "end_s": 31}]
    })
    assert edited.json()["revision"] == track["revision"] + 1
    worker.run_all()
    export = client.get(f"{API}/exports/{r.json()['id']}").json()
    manifest = _manifest(_download(client, export))
    assert manifest["tracks"][0]["revision"] == track["revision"]
    assert manifest["tracks"][0]["clip_ids"] == [album["clips"][0]]


def test_the_download_is_an_attachment_with_ranges(
    client: TestClient, worker: Worker, album: dict
) -> None:
    export = _export(client, worker, album["id"])
    r = client.get(export["download_url"], headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100
    assert r.content[:2] == b"PK"
    disposition = r.headers["content-disposition"]
    year = album["created_at"][:4]
    assert disposition == (
        f'attachment; filename="Dadabots - Deep Bot ({year}).zip"; '
        f"filename*=UTF-8''Dadabots%20-%20Deep%20Bot%20%28{year}%29.zip"
    )
    assert export["filename"] == f"Dadabots - Deep Bot ({year}).zip"
    head = client.head(export["download_url"])
    assert head.status_code == 200 and head.headers["content-length"] == str(export["size_bytes"])
    listed = client.get(f"{API}/albums/{album['id']}/exports").json()["data"]
    assert [e["id"] for e in listed] == [export["id"]]
    zips = list(storage_of(client).root.glob("projects/*/exports/*.zip"))
    assert len(zips) == 1
    assert client.delete(f"{API}/albums/{album['id']}").status_code == 204
    assert client.get(f"{API}/exports/{export['id']}").status_code == 404
    assert not zips[0].exists()  # deleting the album deletes its release files


def test_exports_need_tracks_and_known_formats(client: TestClient, worker: Worker) -> None:
    pid = make_project(client)
    album = client.post(f"{API}/projects/{pid}/albums", json={"title": "T", "artist": "A"}).json()
    assert client.post(f"{API}/albums/{album['id']}/exports", json={}).status_code == 409
    r = client.post(f"{API}/albums/{album['id']}/exports", json={"formats": ["ogg"]})
    assert r.status_code == 422
    assert client.post(f"{API}/albums/999/exports", json={}).status_code == 404
    assert client.get(f"{API}/exports/999").status_code == 404


def test_a_cancelled_export_never_runs(client: TestClient, worker: Worker, album: dict) -> None:
    r = client.post(f"{API}/albums/{album['id']}/exports", json={})
    client.post(f"{API}/jobs/{r.json()['job_id']}/cancel")
    worker.run_all()
    export = client.get(f"{API}/exports/{r.json()['id']}").json()
    assert export["status"] == "cancelled" and export["download_url"] is None
