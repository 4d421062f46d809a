"""Albums: CRUD and validation, the timeline, joins, the pre-export check, play transition."""

from __future__ import annotations

import io

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.services.albums import assemble
from tests.albums.factories import (
    API,
    add_clip,
    add_run,
    clip_audio,
    make_project,
    make_track,
    storage_of,
)


@pytest.fixture
def studio(client: TestClient, session: Session) -> dict:
    """A project with one run of clips (35 s each) and three tracks made of them."""
    pid = make_project(client)
    run = add_run(session, storage_of(client), pid, epochs=2, per_epoch=2, seconds=35.0)
    clips = [c.id for ck in run.checkpoints for c in _clips(session, ck.id)]
    clipped = add_clip(session, storage_of(client), run, np.clip(8 * clip_audio(32.0, 5), -1, 1))
    session.rollback()
    tracks = [
        make_track(client, pid, [{"clip_id": clips[0], "start_s": 0, "end_s": 34}], "a"),
        make_track(client, pid, [{"clip_id": clips[1], "start_s": 1, "end_s": 33}], "b"),
        make_track(client, pid, [{"clip_id": clips[2], "start_s": 0, "end_s": 10}], "short"),
    ]
    return {"project": pid, "clips": clips, "clipped": clipped, "tracks": [t["id"] for t in tracks]}


def _clips(session: Session, checkpoint_id: int) -> list:
    from sqlalchemy import select

    from app.catalog import Clip

    return list(session.scalars(select(Clip).where(Clip.checkpoint_id == checkpoint_id).order_by(Clip.index)))


def _album(client: TestClient, pid: int, tracks: list[dict], **fields: object) -> dict:
    body = {"title": "Coditany of Timeness", "artist": "Krallbot", "tracks": tracks, **fields}
    r = client.post(f"{API}/projects/{pid}/albums", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"{API}/albums/{r.json()['id']}"
    return dict(r.json())


def test_create_read_replace_delete_with_a_timeline(client: TestClient, studio: dict) -> None:
    pid, (a, b, c) = studio["project"], studio["tracks"]
    album = _album(client, pid, [
        {"track_id": a, "title": "One", "gap_ms": 1500},
        {"track_id": b, "title": "Two", "crossfade_ms": 4000},
        {"track_id": c, "title": "Three"},
    ])
    rows = album["tracks"]
    assert [t["number"] for t in rows] == [1, 2, 3]
    assert [(t["gap_ms"], t["crossfade_ms"]) for t in rows] == [(1500, None), (None, 4000), (2000, None)]
    assert [t["duration_s"] for t in rows] == pytest.approx([34.0, 32.0, 10.0], abs=1e-3)
    assert [t["start_s"] for t in rows] == pytest.approx([0.0, 35.5, 63.5], abs=1e-3)
    assert album["duration_s"] == pytest.approx(73.5, abs=1e-3)
    assert client.get(f"{API}/albums/{album['id']}").json() == album
    assert [x["id"] for x in client.get(f"{API}/projects/{pid}/albums").json()["data"]] == [album["id"]]

    r = client.put(f"{API}/albums/{album['id']}", json={
        "title": "Reordered", "artist": "Krallbot",
        "tracks": [{"track_id": b, "title": "Two", "gap_ms": 0}, {"track_id": a, "title": "One"}],
    })
    assert r.status_code == 200, r.text
    assert [t["track_id"] for t in r.json()["tracks"]] == [b, a]
    assert r.json()["duration_s"] == pytest.approx(66.0, abs=1e-3)  # gapless segue
    assert client.delete(f"{API}/albums/{album['id']}").status_code == 204
    assert client.get(f"{API}/albums/{album['id']}").status_code == 404


def test_bad_albums_are_422_naming_the_field(client: TestClient, studio: dict) -> None:
    pid, (a, _, _) = studio["project"], studio["tracks"]
    other = make_project(client, name="Other")
    foreign = make_track(client, other, [], "elsewhere")["id"]
    body = {"title": "X", "artist": "Y", "tracks": [{"track_id": a}, {"track_id": foreign}]}
    r = client.post(f"{API}/projects/{pid}/albums", json=body)
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "tracks", 1, "track_id"]
    both = {"title": "X", "artist": "Y", "tracks": [{"track_id": a, "gap_ms": 0, "crossfade_ms": 10}]}
    assert client.post(f"{API}/projects/{pid}/albums", json=both).status_code == 422
    assert client.post(f"{API}/projects/{pid}/albums", json={"title": "", "artist": "Y"}).status_code == 422
    long_gap = {"title": "X", "artist": "Y", "tracks": [{"track_id": a, "gap_ms": 60_000}]}
    assert client.post(f"{API}/projects/{pid}/albums", json=long_gap).status_code == 422
    r = client.post(f"{API}/projects/{pid}/albums", json={"title": "X", "artist": "Y", "cover_id": 99})
    assert r.status_code == 422 and "cover" in r.json()["detail"]
    assert client.post(f"{API}/projects/999/albums", json={"title": "X", "artist": "Y"}).status_code == 404


def test_check_lists_what_a_distributor_would_refuse(
    client: TestClient, session: Session, studio: dict
) -> None:
    pid, (a, b, short) = studio["project"], studio["tracks"]
    clip = studio["clips"][3]
    silent_end = make_track(client, pid, [
        {"clip_id": clip, "start_s": 0, "end_s": 20},
        {"clip_id": clip, "start_s": 0, "end_s": 20, "gain_db": -120},
    ], "fades to nothing")["id"]
    loud = make_track(client, pid, [{"clip_id": studio["clipped"], "start_s": 0, "end_s": 31}],
                      "clipped")["id"]
    empty = make_track(client, pid, [], "empty")["id"]
    album = _album(client, pid, [
        {"track_id": a, "title": "Fine"},
        {"track_id": short, "title": "Short"},
        {"track_id": silent_end, "title": "Silent end"},
        {"track_id": b, "title": ""},
        {"track_id": loud, "title": "Loud"},
        {"track_id": empty, "title": "Empty"},
    ])
    r = client.get(f"{API}/albums/{album['id']}/check")
    assert r.status_code == 200, r.text
    check = r.json()
    problems = check["problems"]
    assert check["ok"] is False
    assert problems[0] == "The album has no cover: pick one."
    assert any(p.startswith("Track 6 “Empty” cannot be rendered") for p in problems)
    # Tracks are checked as released: with the 2 s gap that follows them.
    assert any(p.startswith("Track 2 “Short” is 12.0 s long") for p in problems)
    assert "Track 3 “Silent end” ends with 22.0 s of silence (at most 10 s)." in problems
    assert "Track 4 has no title." in problems
    assert any(p.startswith("Track 5 “Loud” is clipped") for p in problems)
    assert not any(p.startswith("Track 1 ") for p in problems)


def test_sound_tracks_leave_only_the_missing_cover_to_fix(client: TestClient, studio: dict) -> None:
    pid, (a, b, _) = studio["project"], studio["tracks"]
    album = _album(client, pid, [{"track_id": a, "title": "One"}, {"track_id": b, "title": "Two"}])
    check = client.get(f"{API}/albums/{album['id']}/check").json()
    assert (check["ok"], check["problems"]) == (False, ["The album has no cover: pick one."])
    assert len(check["warnings"]) == 6  # no metadata given: date, genre, label, UPC, ...


def test_play_transition_renders_the_join(client: TestClient, studio: dict) -> None:
    pid, (a, b, c) = studio["project"], studio["tracks"]
    album = _album(client, pid, [
        {"track_id": a, "title": "One", "gap_ms": 1500},
        {"track_id": b, "title": "Two", "crossfade_ms": 3000},
        {"track_id": c, "title": "Three"},
    ])
    url = f"{API}/albums/{album['id']}/transition"
    gap = client.get(f"{url}/1/audio")
    assert gap.status_code == 200 and gap.headers["content-type"] == "audio/wav"
    audio, sr = sf.read(io.BytesIO(gap.content), always_2d=True)
    assert sr == 44100 and audio.shape[1] == 2
    assert audio.shape[0] == round(21.5 * sr)  # 10 s + 1.5 s gap + 10 s
    assert np.abs(audio[round(10.2 * sr) : round(11.3 * sr)]).max() == 0.0
    fade = client.get(f"{url}/2/audio")
    faded, _ = sf.read(io.BytesIO(fade.content), always_2d=True)
    assert faded.shape[0] == round(17 * sr)  # 10 s + 10 s − 3 s of overlap
    part = client.get(f"{url}/1/audio", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert client.get(f"{url}/3/audio").status_code == 404
    assert client.get(f"{url}/0/audio").status_code == 404


def test_assemble_appends_gaps_and_overlaps_crossfades_with_equal_power() -> None:
    sr = 1000
    one, two = np.ones((2, 3000), np.float32), np.ones((2, 2000), np.float32)
    gapped = assemble([one, two], [0.5, 0.0], sr)
    assert [x.shape[1] for x in gapped] == [3500, 2000]
    assert gapped[0][:, 3000:].max() == 0.0
    faded = assemble([one, two], [-1.0, 0.0], sr)
    assert [x.shape[1] for x in faded] == [3000, 1000]
    ramp = faded[0][0, 2000:]
    assert ramp.min() >= 1.0 and ramp.max() <= np.sqrt(2) + 1e-6  # sin + cos of equal power
    capped = assemble([one, np.ones((2, 100), np.float32)], [-5.0, 0.0], sr)
    assert [x.shape[1] for x in capped] == [3000, 0]
    assert assemble([one], [3.0], sr)[0].shape[1] == 3000  # the last join is ignored
