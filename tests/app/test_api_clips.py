"""The clip catalog: filters, sorts and keyset pages over 2,000 clips; curation; audio; peaks."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Clip
from app.services.clips import SORTS, ClipFilter, list_clips
from app.storage import Storage
from model.peaks import compute_peaks
from tests.app.factories import add_clip_with_audio, add_clips, audio_bytes, make_project, tone

API = "/api/v1"
N = 2000


def expected_order(clips: list[Clip], sort: str) -> list[int]:
    """The documented order: key then id, both descending for '-'; NULL is the lowest key."""
    name = sort.lstrip("-")
    attr = {"created": "id", "epoch": "epoch", "rating": "rating", "loudness": "loudness_lufs",
            "silence": "silence_ratio", "quality": "quality"}[name]

    def key(c: Clip) -> tuple[Any, ...]:
        v = getattr(c, attr)
        return (v is not None, v if v is not None else 0, c.id)

    return [c.id for c in sorted(clips, key=key, reverse=sort.startswith("-"))]


def walk(session: Session, project_id: int, sort: str, filters: ClipFilter, limit: int) -> list[int]:
    ids: list[int] = []
    cursor = None
    while True:
        rows, cursor = list_clips(session, project_id, filters=filters, sort=sort, cursor=cursor, limit=limit)
        ids += [c.id for c in rows]
        if cursor is None:
            return ids


def test_every_sort_pages_through_all_clips_in_order(session: Session) -> None:
    """On SQLite and PostgreSQL: pages never skip or repeat, NULLs sort the same on both."""
    project = make_project(session)
    add_clips(session, project.id, 600)
    other = make_project(session)
    add_clips(session, other.id, 50, seed=1)
    clips = list(session.scalars(select(Clip).where(Clip.project_id == project.id)))
    for sort in SORTS:
        assert walk(session, project.id, sort, ClipFilter(), limit=97) == expected_order(clips, sort), sort


def test_filters(session: Session) -> None:
    project = make_project(session)
    run = add_clips(session, project.id, 300)
    clips = list(session.scalars(select(Clip).where(Clip.project_id == project.id)))
    cases = {
        ClipFilter(epoch=2): [c for c in clips if c.epoch == 2],
        ClipFilter(min_rating=4): [c for c in clips if c.rating is not None and c.rating >= 4],
        ClipFilter(kept=True): [c for c in clips if c.kept is True],
        ClipFilter(kept=False, epoch=1): [c for c in clips if c.kept is False and c.epoch == 1],
        ClipFilter(undecided=True): [c for c in clips if c.kept is None],
        ClipFilter(run_id=run.id, min_rating=1): [c for c in clips if c.rating],
        ClipFilter(min_lufs=-30): [c for c in clips if c.loudness_lufs is not None and c.loudness_lufs >= -30],
        ClipFilter(max_lufs=-30, min_lufs=-40): [
            c for c in clips if c.loudness_lufs is not None and -40 <= c.loudness_lufs <= -30
        ],
        ClipFilter(max_silence=0.25): [c for c in clips if c.silence_ratio is not None and c.silence_ratio <= 0.25],
    }
    assert all(0 < len(expected) < len(clips) for expected in cases.values())
    for filters, expected in cases.items():
        assert walk(session, project.id, "-rating", filters, 40) == expected_order(expected, "-rating")


def test_api_lists_2000_clips_quickly(client: TestClient, app_session: Session) -> None:
    project = make_project(app_session)
    add_clips(app_session, project.id, N)
    url = f"{API}/projects/{project.id}/clips"
    start = time.perf_counter()
    seen, cursor, pages = [], None, 0
    while True:
        params: dict[str, Any] = {"sort": "-loudness", "limit": 200} | ({"cursor": cursor} if cursor else {})
        page = client.get(url, params=params).json()
        seen += page["data"]
        cursor, pages = page["next_cursor"], pages + 1
        if cursor is None:
            break
    elapsed = time.perf_counter() - start
    print(f"2,000 clips in ten pages of 200: {elapsed:.3f} s")  # measured, not asserted
    assert len(seen) == N and len({c["id"] for c in seen}) == N and pages == 10
    first = seen[0]
    assert first["audio_url"] == f"{API}/clips/{first['id']}/audio" and first["peaks_url"] is None
    r = client.get(url, params={"epoch": 3, "min_rating": 5, "kept": "true", "limit": 500})
    assert all(c["epoch"] == 3 and c["rating"] == 5 and c["kept"] is True for c in r.json()["data"])
    r = client.get(url, params={"min_lufs": -30, "max_silence": 0.5, "limit": 500})
    assert r.json()["data"] and all(
        c["loudness_lufs"] >= -30 and c["silence_ratio"] <= 0.5 for c in r.json()["data"]
    )
    assert client.get(url, params={"max_silence": 2}).status_code == 422
    r = client.get(url, params={"kept": "null", "limit": 500})
    assert all(c["kept"] is None for c in r.json()["data"])
    assert client.get(url, params={"sort": "bogus"}).status_code == 422
    assert client.get(url, params={"limit": 0}).status_code == 422
    cursor = client.get(url, params={"sort": "epoch", "limit": 1}).json()["next_cursor"]
    r = client.get(url, params={"sort": "rating", "cursor": cursor})
    assert r.status_code == 422 and "sort" in r.json()["detail"]


def test_uses_the_composite_indexes(client: TestClient, app_session: Session) -> None:
    from sqlalchemy import text

    plan = app_session.execute(text(
        "EXPLAIN QUERY PLAN SELECT id FROM clips WHERE project_id = 1 "
        "ORDER BY loudness_lufs DESC NULLS LAST, id DESC LIMIT 50"
    )).all()
    assert "ix_clips_project_id_loudness_id" in " ".join(str(r) for r in plan)


def test_patch_curation_fields(client: TestClient, app_session: Session) -> None:
    project = make_project(app_session)
    add_clips(app_session, project.id, 5)
    clip_id = first_clip_id(app_session)
    url = f"{API}/clips/{clip_id}"
    r = client.patch(url, json={"rating": 5, "kept": True, "tags": ["riff", "riff", "intro"], "notes": "great"})
    assert r.status_code == 200
    body = r.json()
    assert (body["rating"], body["kept"], body["tags"], body["notes"]) == (5, True, ["riff", "intro"], "great")
    r = client.patch(url, json={"kept": None})  # back to undecided; other fields untouched
    assert r.json()["kept"] is None and r.json()["rating"] == 5
    assert client.patch(url, json={"rating": None}).json()["rating"] is None
    for bad in ({"rating": 6}, {"rating": 0}, {"kept": "maybe"}, {"tags": [""]}, {"color": "red"}):
        assert client.patch(url, json=bad).status_code == 422, bad
    assert client.patch(f"{API}/clips/99999", json={"rating": 1}).status_code == 404


def test_markers(client: TestClient, app_session: Session) -> None:
    project = make_project(app_session)
    add_clips(app_session, project.id, 1)
    clip_id = first_clip_id(app_session)
    url = f"{API}/clips/{clip_id}/markers"
    a = client.post(url, json={"time_s": 2.5, "label": "drop"}).json()
    client.post(url, json={"time_s": 0.5})
    assert [m["time_s"] for m in client.get(url).json()["data"]] == [0.5, 2.5]
    assert client.delete(f"{API}/markers/{a['id']}").status_code == 204
    assert client.delete(f"{API}/markers/{a['id']}").status_code == 404
    assert client.post(url, json={"time_s": -1}).status_code == 422


def first_clip_id(session: Session) -> int:
    clip_id = session.scalars(select(Clip.id).order_by(Clip.id)).first()
    # End the transaction: on SQLite it holds the write lock (BEGIN IMMEDIATE) and the app's
    # own writes would wait for it.
    session.rollback()
    assert clip_id is not None
    return clip_id


@pytest.fixture
def audio_clip(client: TestClient, app_session: Session) -> tuple[int, bytes]:
    project = make_project(app_session)
    data = audio_bytes("WAV", 1.0)
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    clip = add_clip_with_audio(app_session, storage, project.id, data, peaks=compute_peaks(tone(), 16000))
    return clip.id, data


def test_audio_ranges(client: TestClient, audio_clip: tuple[int, bytes]) -> None:
    clip_id, data = audio_clip
    url, n = f"{API}/clips/{clip_id}/audio", len(data)
    full = client.get(url)
    assert full.status_code == 200 and full.content == data
    assert full.headers["accept-ranges"] == "bytes" and full.headers["content-type"] == "audio/wav"
    assert full.headers["x-content-type-options"] == "nosniff"

    r = client.get(url, headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and r.content == data[:100]
    assert r.headers["content-range"] == f"bytes 0-99/{n}" and r.headers["content-length"] == "100"
    r = client.get(url, headers={"Range": f"bytes=-{n + 500}"})
    assert r.status_code == 206 and r.content == data
    r = client.get(url, headers={"Range": "bytes=-10"})
    assert r.status_code == 206 and r.content == data[-10:]
    r = client.get(url, headers={"Range": f"bytes={n}-"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{n}"
    assert client.get(url, headers={"Range": "items=0-5"}).status_code == 200
    r = client.get(url, headers={"Range": f"bytes=0-10,{n + 10}-{n + 20}"})
    assert r.status_code == 206 and r.content == data[:11]
    r = client.get(url, headers={"Range": "bytes=0-10,20-30"})
    assert r.status_code == 200 and r.content == data

    etag = full.headers["etag"]
    r = client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    assert r.status_code == 206
    r = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert r.status_code == 200 and r.content == data

    start = time.perf_counter()
    many = "bytes=" + ",".join(f"{i}-{i}" for i in range(10_000))
    assert client.get(url, headers={"Range": many}).status_code in (200, 206)
    assert time.perf_counter() - start < 2


def test_head_has_gets_headers_and_no_body(client: TestClient, audio_clip: tuple[int, bytes]) -> None:
    clip_id, data = audio_clip
    url = f"{API}/clips/{clip_id}/audio"
    for headers in ({}, {"Range": "bytes=10-19"}):
        got, head = client.get(url, headers=headers), client.head(url, headers=headers)
        assert head.status_code == got.status_code and head.content == b""
        for name in ("content-length", "content-range", "content-type", "etag", "accept-ranges"):
            assert head.headers.get(name) == got.headers.get(name), name


def test_peaks(client: TestClient, audio_clip: tuple[int, bytes]) -> None:
    clip_id, _ = audio_clip
    clip = client.get(f"{API}/clips/{clip_id}").json()
    r = client.get(clip["peaks_url"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc["version"] == 2 and doc["length"] == len(doc["peaks"][0]) and doc["duration"] == 1.0


def test_missing_clip_media_is_404(client: TestClient, app_session: Session) -> None:
    project = make_project(app_session)
    add_clips(app_session, project.id, 1)  # rows whose files were never written, no peaks
    clip_id = first_clip_id(app_session)
    assert client.get(f"{API}/clips/{clip_id}/audio").status_code == 404
    assert client.get(f"{API}/clips/{clip_id}/peaks").status_code == 404
    assert client.get(f"{API}/clips/..%2f..%2fetc%2fpasswd/audio").status_code in (404, 422)
