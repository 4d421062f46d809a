"""Curating at scale through the API: search by tag and notes, batch edits in one request (all or
nothing), DELETE for clips, checkpoints and runs with what goes stated first, 409 for what a song,
album or export uses, and the seeds of "generate more"."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Album, AlbumTrack, Checkpoint, Clip, Export, Marker, Run, Track
from app.services.clips import ClipFilter, list_clips
from app.storage import Storage
from tests.app.factories import add_clip_with_audio, add_clips, audio_bytes, make_project

API = "/api/v1"


def ids_of(session: Session, project_id: int, **filters: Any) -> set[int]:
    rows, _ = list_clips(session, project_id, filters=ClipFilter(**filters), limit=500)
    return {c.id for c in rows}


def test_search_by_tag_and_notes_on_both_databases(session: Session) -> None:
    project = make_project(session)
    add_clips(session, project.id, 12, epochs=2)
    clips = list(session.scalars(select(Clip).where(Clip.project_id == project.id).order_by(Clip.id)))
    tagged = {
        0: (["drone", "intro"], "a long DRONE, then 100% noise"),
        1: (["drones"], "drone_like"),
        2: (["Drone"], ""),
        3: (["a_b"], "nothing here"),
        4: (["intro"], "kick at 0:03"),
        5: (["Élan"], "café"),
    }
    for i, (tags, notes) in tagged.items():
        clips[i].tags, clips[i].notes = tags, notes
    session.commit()
    cid = [c.id for c in clips]
    # Whole tags only (not "drones"), ASCII case ignored (SQLite LIKE and PostgreSQL ILIKE agree).
    assert ids_of(session, project.id, tags=("drone",)) == {cid[0], cid[2]}
    assert ids_of(session, project.id, tags=("drone", "intro")) == {cid[0]}
    assert ids_of(session, project.id, tags=("Élan",)) == {cid[5]}
    # LIKE wildcards in the search are literal characters.
    assert ids_of(session, project.id, tags=("a_b",)) == {cid[3]}
    assert ids_of(session, project.id, tags=("a%",)) == set()
    assert ids_of(session, project.id, text="100%") == {cid[0]}
    assert ids_of(session, project.id, text="drone_") == {cid[1]}
    assert ids_of(session, project.id, text="drone") == {cid[0], cid[1]}
    assert ids_of(session, project.id, text="café") == {cid[5]}
    # Notes never match a tag search and tags never match a text search.
    assert ids_of(session, project.id, text="intro") == set()
    assert ids_of(session, project.id, tags=("kick",)) == set()
    # Search combines with the other filters.
    assert ids_of(session, project.id, tags=("intro",), epoch=clips[4].epoch) == {cid[0], cid[4]}
    assert ids_of(session, project.id, tags=("intro",), epoch=clips[1].epoch) == set()


def test_api_filters_clips_by_tag_and_q(client: TestClient, app_session: Session) -> None:
    project = make_project(app_session)
    add_clips(app_session, project.id, 6, epochs=1)
    clips = list(app_session.scalars(select(Clip).where(Clip.project_id == project.id)))
    clips[0].tags, clips[1].tags, clips[2].notes = ["keeper", "dark"], ["dark"], "Great riff"
    cid, url = [c.id for c in clips], f"{API}/projects/{project.id}/clips"
    app_session.commit()  # on SQLite a session's transaction holds the write lock
    got = client.get(url, params={"tag": "dark"}).json()["data"]
    assert {c["id"] for c in got} == {cid[0], cid[1]}
    got = client.get(url, params=[("tag", "dark"), ("tag", "keeper")]).json()["data"]
    assert [c["id"] for c in got] == [cid[0]]
    got = client.get(url, params={"q": "great RIFF"}).json()["data"]
    assert [c["id"] for c in got] == [cid[2]]
    assert client.get(url, params={"q": "x" * 201}).status_code == 422


def test_batch_edits_many_clips_in_one_request_all_or_nothing(
    client: TestClient, app_session: Session
) -> None:
    project = make_project(app_session)
    add_clips(app_session, project.id, 30, epochs=3)
    other = make_project(app_session, name="Other")
    add_clips(app_session, other.id, 2, epochs=1)
    ids = sorted(app_session.scalars(select(Clip.id).where(Clip.project_id == project.id)))
    foreign = app_session.scalars(select(Clip.id).where(Clip.project_id == other.id)).first()
    pid, url = project.id, f"{API}/projects/{project.id}/clips/batch"
    app_session.rollback()

    r = client.post(url, json={"ids": ids[:20], "kept": False, "rating": 2, "add_tags": ["meh"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["updated"] == 20 and body["ids"] == ids[:20] and body["removal"] is None
    assert all(c["kept"] is False and c["rating"] == 2 and "meh" in c["tags"] for c in body["data"])
    rows = {c.id: c for c in app_session.scalars(select(Clip).where(Clip.project_id == pid))}
    assert [i for i in ids if rows[i].kept is False and rows[i].rating == 2] == ids[:20]
    app_session.rollback()

    # Tags: added once at the end, removed where present, other tags kept; kept null clears.
    r = client.post(url, json={"ids": ids[:2], "add_tags": ["meh", "x"], "remove_tags": ["meh"],
                               "kept": None})
    assert r.status_code == 200, r.text
    assert [(c["tags"], c["kept"]) for c in r.json()["data"]] == [(["x"], None)] * 2

    # One bad id (another project's clip, a missing one): 422 names them, nothing changes.
    before = client.get(f"{API}/clips/{ids[25]}").json()
    r = client.post(url, json={"ids": [ids[25], foreign, 999_999], "kept": True})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["ids"] == sorted([foreign, 999_999]) and r.json()["field"] == "ids"
    assert str(foreign) in r.json()["detail"]
    assert client.get(f"{API}/clips/{ids[25]}").json()["kept"] == before["kept"]

    for bad in ({"ids": ids[:2]}, {"ids": [], "kept": True}, {"ids": ids[:2], "delete": True,
                "kept": True}, {"ids": ids[:2], "kept": True, "dry_run": True},
                {"ids": ids[:2], "rating": 6}, {"ids": ids[:2], "colour": "red"},
                {"ids": list(range(1, 1002)), "kept": True}):
        assert client.post(url, json=bad).status_code == 422, bad


def _clip_with_files(client: TestClient, session: Session, project_id: int) -> Clip:
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    clip = add_clip_with_audio(session, storage, project_id, audio_bytes(seconds=0.5),
                               peaks={"data": [0, 1]})
    session.add(Marker(clip_id=clip.id, time_s=0.1, label="here"))
    session.commit()
    assert client.get(f"{API}/clips/{clip.id}/spectrogram.png").status_code == 200
    return clip


def test_delete_clip_says_what_goes_then_removes_rows_and_files(
    client: TestClient, app_session: Session
) -> None:
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    project = make_project(app_session)
    clip = _clip_with_files(client, app_session, project.id)
    audio = storage.path(clip.audio_path)
    files = [audio, storage.path(clip.peaks_path or ""), *audio.parent.glob(f"{audio.name}.spec-*")]
    assert len(files) == 3 and all(f.is_file() for f in files)
    clip_id, audio_key = clip.id, clip.audio_path
    app_session.rollback()

    r = client.delete(f"{API}/clips/{clip_id}", params={"dry_run": "true"})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["dry_run"] and plan["clips"] == [clip_id] and plan["markers"] == 1
    assert plan["files"] == 3 and plan["bytes"] == sum(f.stat().st_size for f in files)
    assert audio_key in plan["paths"] and "1 clip(s), 1 marker(s), 3 file(s)" in plan["summary"]
    assert all(f.is_file() for f in files)
    assert client.get(f"{API}/clips/{clip_id}").status_code == 200

    r = client.delete(f"{API}/clips/{clip_id}")
    assert r.status_code == 200 and not r.json()["dry_run"] and r.json()["clips"] == [clip_id]
    assert not any(f.exists() for f in files)
    assert client.get(f"{API}/clips/{clip_id}").status_code == 404
    assert app_session.scalars(select(Marker).where(Marker.clip_id == clip_id)).first() is None
    app_session.rollback()
    assert client.delete(f"{API}/clips/{clip_id}").status_code == 404


def test_nothing_a_song_album_or_export_uses_can_be_deleted(
    client: TestClient, app_session: Session
) -> None:
    project = make_project(app_session)
    add_clips(app_session, project.id, 6, epochs=2)
    clips = list(app_session.scalars(select(Clip).where(Clip.project_id == project.id).order_by(Clip.id)))
    used = clips[0]
    track = Track(project_id=project.id, name="Opener", edl=[
        {"clip_id": used.id, "start_s": 0, "end_s": 1}])
    app_session.add(track)
    app_session.flush()
    album = Album(project_id=project.id, title="Debut", artist="Band")
    app_session.add(album)
    app_session.flush()
    app_session.add(AlbumTrack(album_id=album.id, position=0, track_id=track.id))
    export = Export(album_id=album.id, status="succeeded", formats=["flac"])
    app_session.add(export)
    app_session.commit()
    users = [{"kind": "track", "id": track.id, "name": "Opener", "clip_ids": [used.id]},
             {"kind": "album", "id": album.id, "name": "Debut"},
             {"kind": "export", "id": export.id, "name": "Debut (succeeded)"}]
    pid, cids, used_id = project.id, [c.id for c in clips], used.id
    attempts = (
        ("DELETE", f"{API}/clips/{used.id}", {}),
        ("DELETE", f"{API}/clips/{used.id}?dry_run=true", {}),
        ("DELETE", f"{API}/checkpoints/{used.checkpoint_id}", {}),
        ("DELETE", f"{API}/runs/{used.run_id}", {}),
        ("POST", f"{API}/projects/{project.id}/clips/batch",
         {"json": {"ids": cids, "delete": True}}),
    )
    app_session.query(Run).update({"status": "succeeded"})
    app_session.commit()

    for method, url, kw in attempts:
        r = client.request(method, url, **kw)
        assert r.status_code == 409, (url, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["users"] == users, url
        assert "Opener" in r.json()["detail"]
    assert len(list(app_session.scalars(select(Clip.id).where(Clip.project_id == pid)))) == 6
    app_session.rollback()

    # The clips no song names go; the one it names stays.
    r = client.post(f"{API}/projects/{pid}/clips/batch", json={"ids": cids[1:], "delete": True})
    assert r.status_code == 200, r.text
    assert r.json()["removal"]["clips"] == cids[1:]
    assert list(app_session.scalars(select(Clip.id).where(Clip.project_id == pid))) == [used_id]
    app_session.rollback()


def test_delete_checkpoint_and_run(client: TestClient, app_session: Session) -> None:
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    project = make_project(app_session)
    run = add_clips(app_session, project.id, 6, epochs=3)
    folder = storage.path(f"projects/{project.id}/runs/{run.id}")
    (folder / "checkpoints").mkdir(parents=True)
    for ck in run.checkpoints:
        ck.path = f"projects/{project.id}/runs/{run.id}/checkpoints/epoch-{ck.epoch:04d}.pt"
        storage.write_bytes(ck.path, b"x" * 100)
    run_id, pid = run.id, project.id
    first_id, first_path = run.checkpoints[0].id, run.checkpoints[0].path
    app_session.commit()
    app_session.rollback()

    # A running run and its checkpoints cannot go.
    assert client.delete(f"{API}/runs/{run_id}").status_code == 409
    r = client.delete(f"{API}/checkpoints/{first_id}")
    assert r.status_code == 409 and "cancel it first" in r.json()["detail"]
    app_session.query(Run).filter(Run.id == run_id).update({"status": "succeeded"})
    app_session.commit()

    r = client.delete(f"{API}/checkpoints/{first_id}", params={"dry_run": True})
    assert r.json()["checkpoints"] == [first_id] and len(r.json()["clips"]) == 2
    assert storage.path(first_path).is_file()
    r = client.delete(f"{API}/checkpoints/{first_id}")
    assert r.status_code == 200 and not storage.path(first_path).exists()
    assert [c["epoch"] for c in client.get(f"{API}/runs/{run_id}/checkpoints").json()["data"]] == [2, 3]

    r = client.delete(f"{API}/runs/{run_id}", params={"dry_run": True})
    plan = r.json()
    assert plan["runs"] == [run_id] and len(plan["checkpoints"]) == 2 and len(plan["clips"]) == 4
    assert plan["folders"] == 1 and plan["paths"][0] == f"projects/{pid}/runs/{run_id}"
    assert plan["bytes"] == 200 and folder.is_dir()
    assert client.delete(f"{API}/runs/{run_id}").status_code == 200
    assert not folder.exists()
    assert client.get(f"{API}/runs/{run_id}").status_code == 404
    assert app_session.scalars(select(Checkpoint).where(Checkpoint.run_id == run_id)).first() is None
    assert app_session.scalars(select(Clip).where(Clip.run_id == run_id)).first() is None
    assert app_session.scalars(select(Run.id).where(Run.id == run_id)).first() is None
    app_session.rollback()


def test_generate_more_draws_fresh_seeds_and_warns_on_a_repeated_one(
    client: TestClient, app_session: Session
) -> None:
    project = make_project(app_session)
    run = add_clips(app_session, project.id, 2, epochs=1)
    url = f"{API}/checkpoints/{run.checkpoints[0].id}/generate"
    app_session.rollback()
    a = client.post(url, json={"n": 2, "seconds": 1, "temperature": 0}).json()
    b = client.post(url, json={"n": 2, "seconds": 1}).json()
    assert a["seed"] != b["seed"] and a["warnings"] == b["warnings"] == []
    assert a["payload"]["temperature"] == 0  # greedy reaches the worker as 0
    first = client.post(url, json={"n": 2, "seconds": 1, "seed": 42})
    assert first.status_code == 202 and first.json()["seed"] == 42 and first.json()["warnings"] == []
    again = client.post(url, json={"n": 3, "seconds": 1, "seed": 42}).json()
    assert again["seed"] == 42 and len(again["warnings"]) == 1
    assert f"job {first.json()['id']}" in again["warnings"][0] and "seed 42" in again["warnings"][0]
    # The same seed on another checkpoint is new there.
    other = add_clips(app_session, project.id, 1, epochs=1)
    url = f"{API}/checkpoints/{other.checkpoints[0].id}/generate"
    app_session.rollback()
    r = client.post(url, json={"seed": 42})
    assert r.json()["warnings"] == []


def test_batch_and_delete_services_on_both_databases(session: Session, tmp_path: Any) -> None:
    """The same all-or-nothing edit, usage check and delete on SQLite and PostgreSQL."""
    import pytest

    from app.services import clip_batch, deletion
    from app.services.errors import InvalidInput

    storage = Storage(tmp_path / "media")
    project = make_project(session)
    add_clips(session, project.id, 8, epochs=2)
    ids = sorted(session.scalars(select(Clip.id).where(Clip.project_id == project.id)))
    edited = clip_batch.edit_clips(session, project.id, ids[:5], {"kept": False, "add_tags": ["x"]})
    assert [c.id for c in edited] == ids[:5]
    with pytest.raises(InvalidInput) as bad:
        clip_batch.edit_clips(session, project.id, [ids[5], 10**6], {"kept": True})
    assert bad.value.detail["ids"] == [10**6]
    session.rollback()
    assert session.get(Clip, ids[5]).kept is not True  # type: ignore[union-attr]
    session.add(Track(project_id=project.id, name="S", edl={"items": [{"clip_id": ids[0]}]}))
    session.commit()
    with pytest.raises(deletion.InUse) as used:
        clip_batch.delete_clips(session, storage, project.id, ids[:2], dry_run=False)
    assert [u.kind for u in used.value.users] == ["track"]
    session.rollback()
    removal = clip_batch.delete_clips(session, storage, project.id, ids[1:4], dry_run=False)
    assert removal.clips == ids[1:4]
    left = list(session.scalars(select(Clip.id).where(Clip.project_id == project.id)))
    assert sorted(left) == [ids[0], *ids[4:]]
