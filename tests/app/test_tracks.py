"""Tracks API: EDL validation as problem+json naming the field, revisions, the cached render
(identical for a revision, HTTP Range), zero-crossing snap, lane auto-align, mono-sum check."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip, Run
from app.storage import Storage
from tests.app.factories import make_project
from tests.plans import tiny_plan

API = "/api/v1"
SR = 16000


def clicks(seconds: float, period_s: float, start_s: float = 0.0, seed: int = 0) -> np.ndarray:
    """Noise bursts every `period_s` from `start_s`: clear onsets for auto-align."""
    rng = np.random.default_rng(seed)
    x = np.zeros(int(seconds * SR), dtype=np.float32)
    burst = (rng.standard_normal(400) * np.exp(-np.arange(400) / 80)).astype(np.float32) * 0.5
    t = start_s
    while t < seconds - 0.05:
        i = int(t * SR)
        x[i : i + 400] += burst[: len(x[i : i + 400])]
        t += period_s
    return x


def add_clip(session: Session, storage: Storage, project_id: int, run: Run, epoch: int,
             audio: np.ndarray, index: int = 0) -> Clip:
    ck = next(c for c in run.checkpoints if c.epoch == epoch)
    key = storage.new_key(project_id, "clips", ".wav")
    buf = io.BytesIO()
    sf.write(buf, audio, SR, format="WAV", subtype="PCM_16")
    storage.write_bytes(key, buf.getvalue())
    clip = Clip(
        checkpoint_id=ck.id, project_id=project_id, run_id=run.id, epoch=epoch, index=index,
        seed=index, temperature=1.0, sample_rate=SR, duration_s=len(audio) / SR, audio_path=key,
    )
    session.add(clip)
    session.commit()
    return clip


@pytest.fixture
def studio(client: TestClient, app_session: Session) -> dict[str, int]:
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    project = make_project(app_session)
    run = Run(project_id=project.id, config=tiny_plan(), status="succeeded")
    app_session.add(run)
    app_session.flush()
    for epoch in (1, 2):
        app_session.add(Checkpoint(run_id=run.id, epoch=epoch, step=epoch, path=f"ck{epoch}"))
    app_session.commit()
    t = np.arange(2 * SR) / SR
    a = add_clip(app_session, storage, project.id, run, 1, (0.4 * np.sin(2 * np.pi * 220 * t)).astype(np.float32))
    b = add_clip(app_session, storage, project.id, run, 2, clicks(2.0, 0.25, 0.1), index=1)
    c = add_clip(app_session, storage, project.id, run, 2, clicks(2.0, 0.25, 0.17, seed=1), index=2)
    return {"project": project.id, "a": a.id, "b": b.id, "c": c.id}


def test_create_list_get_delete(client: TestClient, studio: dict[str, int]) -> None:
    r = client.post(f"{API}/projects/{studio['project']}/tracks", json={"name": "Song"})
    assert r.status_code == 201, r.text
    track = r.json()
    assert r.headers["location"] == f"{API}/tracks/{track['id']}"
    assert track["revision"] == 1 and track["edl"]["items"] == [] and track["duration_s"] == 0
    listed = client.get(f"{API}/projects/{studio['project']}/tracks").json()["data"]
    assert [t["id"] for t in listed] == [track["id"]] and listed[0]["items"] == 0
    assert client.get(f"{API}/tracks/{track['id']}").json()["name"] == "Song"
    assert client.get(f"{API}/tracks/{track['id']}/audio").status_code == 409  # nothing to render
    assert client.delete(f"{API}/tracks/{track['id']}").status_code == 204
    assert client.get(f"{API}/tracks/{track['id']}").status_code == 404
    assert client.get(f"{API}/projects/999/tracks").status_code == 404


def test_invalid_edl_is_a_422_problem_naming_each_field(client: TestClient, studio: dict[str, int]) -> None:
    pid = studio["project"]
    bad = {"items": [
        {"clip_id": studio["a"], "start_s": 0.5, "end_s": 0.2},
        {"clip_id": studio["a"], "start_s": 0, "end_s": 1, "repeat": 0, "pan": 3},
        {"clip_id": 987654, "start_s": 0, "end_s": 1},
    ], "crossfade_s": -1}
    r = client.post(f"{API}/projects/{pid}/tracks", json={"edl": bad})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    fields = {e["field"] for e in body["errors"]}
    assert {"items[0].end_s", "items[1].repeat", "items[1].pan", "crossfade_s"} <= fields
    assert "items[0].end_s" in body["detail"]
    err = next(e for e in body["errors"] if e["field"] == "items[0].end_s")
    assert err["loc"] == ["body", "edl", "items", 0, "end_s"] and err["index"] == 0
    # Well-typed but unknown clip, and a section past the clip's end (2 s long)
    r = client.post(f"{API}/projects/{pid}/tracks", json={"edl": [
        {"clip_id": 987654, "start_s": 0, "end_s": 1},
        {"clip_id": studio["a"], "start_s": 1, "end_s": 3.5},
    ]})
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"items[0].clip_id", "items[1].end_s"}
    # A clip of another project is unknown here
    other = client.post(f"{API}/projects", json={"name": "x", "artist": "y"}).json()["id"]
    r = client.post(f"{API}/projects/{other}/tracks", json={"edl": [
        {"clip_id": studio["a"], "start_s": 0, "end_s": 1}]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "items[0].clip_id"
    # Unknown fields are named too
    r = client.post(f"{API}/projects/{pid}/tracks", json={"edl": [
        {"clip_id": studio["a"], "start_s": 0, "end_s": 1, "volume": 3}]})
    assert r.json()["errors"][0]["field"] == "items[0].volume"


def test_put_saves_revisions_and_keeps_history(client: TestClient, studio: dict[str, int]) -> None:
    tid = client.post(f"{API}/projects/{studio['project']}/tracks", json={}).json()["id"]
    item = {"clip_id": studio["a"], "start_s": 0.0, "end_s": 1.0}
    r = client.put(f"{API}/tracks/{tid}", json={"edl": [item], "base_revision": 1})
    assert r.status_code == 200 and r.json()["revision"] == 2
    assert r.json()["edl"]["items"][0]["repeat"] == 1  # normalised with defaults
    assert r.json()["duration_s"] == pytest.approx(1.0)
    r = client.put(f"{API}/tracks/{tid}", json={"edl": {"items": [{**item, "repeat": 3}]}, "name": "Riff"})
    assert r.json()["revision"] == 3 and r.json()["name"] == "Riff"
    assert r.json()["duration_s"] == pytest.approx(3.0)
    # A stale base revision is refused and changes nothing
    r = client.put(f"{API}/tracks/{tid}", json={"edl": [], "base_revision": 2})
    assert r.status_code == 409 and r.json()["revision"] == 3
    # An invalid edit changes nothing either
    r = client.put(f"{API}/tracks/{tid}", json={"edl": [{**item, "end_s": -1}]})
    assert r.status_code == 422
    assert client.get(f"{API}/tracks/{tid}").json()["revision"] == 3
    revs = client.get(f"{API}/tracks/{tid}/revisions").json()["data"]
    assert [r["revision"] for r in revs] == [1, 2, 3]
    assert revs[0]["edl"]["items"] == [] and revs[2]["edl"]["items"][0]["repeat"] == 3
    assert client.get(f"{API}/tracks/{tid}/revisions/2").json()["edl"]["items"][0]["repeat"] == 1
    assert client.get(f"{API}/tracks/{tid}/revisions/9").status_code == 404


def test_render_is_served_cached_identical_and_ranged(client: TestClient, studio: dict[str, int]) -> None:
    edl = {"items": [
        {"clip_id": studio["a"], "start_s": 0.0, "end_s": 1.0, "fade_in_s": 0.1},
        {"clip_id": studio["b"], "start_s": 0.5, "end_s": 1.5, "crossfade_s": 0.05, "repeat": 2},
        {"clip_id": studio["c"], "start_s": 0.0, "end_s": 1.0, "lane": 1, "offset_s": 0.25},
    ], "lanes": {"0": {"pan": -1}, "1": {"pan": 1}}}
    track = client.post(f"{API}/projects/{studio['project']}/tracks", json={"edl": edl}).json()
    url = track["audio_url"]
    assert url.endswith("?revision=1")
    first = client.get(url)
    assert first.status_code == 200 and first.headers["content-type"] == "audio/wav"
    assert first.headers["accept-ranges"] == "bytes"
    audio, rate = sf.read(io.BytesIO(first.content), dtype="int16", always_2d=True)
    assert rate == 44100 and audio.shape[1] == 2
    assert sf.info(io.BytesIO(first.content)).subtype == "PCM_16"
    assert audio.shape[0] == round(track["duration_s"] * 44100)
    assert not audio[: int(0.25 * 44100), 1].any()  # lane 1 is hard right and starts at 0.25 s
    again = client.get(f"{API}/tracks/{track['id']}/audio")
    assert again.content == first.content and again.headers["etag"] == first.headers["etag"]
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == first.content[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(first.content)}"
    assert client.get(url, headers={"Range": f"bytes={len(first.content)}-"}).status_code == 416
    assert client.head(url).headers["content-length"] == str(len(first.content))
    # Rendering again from scratch gives the same bytes (deterministic), and a new revision a new file
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    for f in storage.path(f"projects/{studio['project']}/tracks/{track['id']}").glob("render-*"):
        f.unlink()
    assert client.get(url).content == first.content
    edl["items"][0]["gain_db"] = -6.0
    r = client.put(f"{API}/tracks/{track['id']}", json={"edl": edl}).json()
    newer = client.get(r["audio_url"]).content
    assert newer != first.content
    assert client.get(url).content == first.content  # revision 1 is still rendered as it was


def test_zero_crossing_snap(client: TestClient, studio: dict[str, int]) -> None:
    # 220 Hz sine from 0: crossings every 1/440 s.
    r = client.get(f"{API}/clips/{studio['a']}/zero-crossings", params={"t": [0.1013, 1.5]})
    assert r.status_code == 200, r.text
    times = r.json()["times"]
    for want, got in zip((0.1013, 1.5), times, strict=True):
        assert abs(got * 440 - round(got * 440)) * (SR / 440) <= 1  # within a sample of a crossing
        assert abs(got - want) <= 0.005
    assert client.get(f"{API}/clips/999/zero-crossings", params={"t": 1}).status_code == 404
    assert client.get(f"{API}/clips/{studio['a']}/zero-crossings").status_code == 422


def test_auto_align_and_mono_check(client: TestClient, studio: dict[str, int]) -> None:
    edl = {"items": [
        {"clip_id": studio["b"], "start_s": 0.0, "end_s": 2.0, "lane": 0},
        {"clip_id": studio["c"], "start_s": 0.0, "end_s": 2.0, "lane": 1},
    ], "lanes": {"0": {"pan": -1}, "1": {"pan": 1}}}
    tid = client.post(f"{API}/projects/{studio['project']}/tracks", json={"edl": edl}).json()["id"]
    r = client.post(f"{API}/tracks/{tid}/align", json={})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["shift_s"] == pytest.approx(0.07, abs=0.004)  # lane 1's bursts are 70 ms later
    assert body["lanes"]["1"]["offset_s"] == 0.0
    assert body["lanes"]["0"]["offset_s"] == pytest.approx(0.07, abs=0.004)
    assert body["lanes"]["0"]["pan"] == -1 and body["lanes"]["1"]["pan"] == 1
    check = client.get(f"{API}/tracks/{tid}/mono-check").json()
    assert check["revision"] == 1 and check["warning"] is False
    # A polarity-inverted copy on the other lane cancels in mono
    assert client.post(f"{API}/tracks/{tid}/align", json={"lane_a": 0, "lane_b": 0}).status_code == 422
    inverted = {"items": [
        {"clip_id": studio["a"], "start_s": 0.0, "end_s": 1.0, "lane": 0},
        {"clip_id": studio["a"], "start_s": 1.0 / 440, "end_s": 1.0 + 1.0 / 440, "lane": 1},
    ], "lanes": {"0": {"pan": -1}, "1": {"pan": 1}}}
    client.put(f"{API}/tracks/{tid}", json={"edl": inverted})
    check = client.get(f"{API}/tracks/{tid}/mono-check").json()
    assert check["revision"] == 2 and check["warning"] is True and "mono" in check["message"]


def test_tracks_on_both_databases(db_url: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Revisions (SELECT ... FOR UPDATE on PostgreSQL), render and delete on each catalog."""
    from app.main import create_app
    from app.queue import RecordingQueue
    from app.settings import Settings

    settings = Settings(data_dir=tmp_path / "data", database_url=db_url)
    with TestClient(create_app(settings, queue=RecordingQueue())) as client:
        storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
        with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
            project = make_project(s)
            run = Run(project_id=project.id, config=tiny_plan(), status="succeeded")
            s.add(run)
            s.flush()
            s.add(Checkpoint(run_id=run.id, epoch=1, step=1, path="ck"))
            s.commit()
            s.refresh(run)
            clip = add_clip(s, storage, project.id, run, 1, clicks(1.0, 0.2))
            pid, cid = project.id, clip.id
        tid = client.post(f"{API}/projects/{pid}/tracks", json={"name": "T"}).json()["id"]
        edl = [{"clip_id": cid, "start_s": 0.0, "end_s": 0.5, "repeat": 2}]
        assert client.put(f"{API}/tracks/{tid}", json={"edl": edl, "base_revision": 1}).json()["revision"] == 2
        assert client.put(f"{API}/tracks/{tid}", json={"edl": edl, "base_revision": 1}).status_code == 409
        audio = client.get(f"{API}/tracks/{tid}/audio")
        assert audio.status_code == 200 and sf.info(io.BytesIO(audio.content)).frames == 44100
        assert client.delete(f"{API}/projects/{pid}").status_code == 204
        assert client.get(f"{API}/tracks/{tid}").status_code == 404
