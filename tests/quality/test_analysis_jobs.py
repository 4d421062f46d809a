"""The analysis job end to end on a real catalog (SQLite, files in media storage), through the
real runner and lease: clips get flags, closeness to the uploaded album, quality; epochs get a
style distance; the API filters and sorts by them; a backfill yields, resumes and cancels."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip, Job
from model.analysis import ANALYSIS_VERSION
from tests.model import signals as s
from tests.quality.conftest import (
    API,
    SR,
    Worker,
    add_epochs,
    album_tracks,
    make_project,
    storage_of,
    upload_album,
)
from worker.runtime import Runtime


@pytest.fixture
def catalog(client: TestClient, session: Session) -> dict:
    """An album of three tracks and a run of two epochs: epoch 1 noise, silence and a loop,
    epoch 2 music, a noisy copy of track 2 from 12.5 s, and a drone."""
    pid = make_project(client)
    tracks = album_tracks()
    source_ids = upload_album(client, pid, tracks)
    copy = s.with_noise(tracks[1][round(12.5 * SR) : round(20.5 * SR)], 20.0)
    run, ids = add_epochs(session, storage_of(client), pid, [
        [s.white_noise(6.0), s.silence(6.0), s.looped(before=1.0, period=0.5, repeats=12)],
        [s.music(8.0, seed=5), copy, s.drone(6.0)],
    ])
    return {"project": pid, "run": run.id, "sources": source_ids, "clips": ids}


def _analyse(client: TestClient, worker: Worker, pid: int, **body: object) -> dict:
    r = client.post(f"{API}/projects/{pid}/analysis", json=body or None)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"{API}/jobs/{r.json()['id']}"
    assert r.json()["kind"] == "analyze" and worker.queue.sent[-1].queue == "cpu"
    worker.run_all()
    done = client.get(r.headers["location"]).json()
    assert done["status"] == "succeeded", done
    return done


def _clip(client: TestClient, clip_id: int) -> dict:
    return client.get(f"{API}/clips/{clip_id}").json()


def test_a_backfill_flags_every_clip_and_finds_the_copy(
    client: TestClient, worker: Worker, catalog: dict
) -> None:
    done = _analyse(client, worker, catalog["project"])
    assert done["result"]["analysed"] == 6 and done["result"]["album_indexed"]
    assert done["progress"] == 1.0
    (noise, silent, loop), (music, copy, drone) = catalog["clips"]
    names = {cid: {f["name"] for f in _clip(client, cid)["flags"]} for cid in sum(catalog["clips"], [])}
    assert names[noise] == {"noise"} and names[silent] == {"silent"} and names[loop] == {"loop"}
    assert names[music] == set() and names[copy] == {"copied"} and names[drone] == {"drone"}

    c = _clip(client, copy)
    assert c["closeness"]["source_track_id"] == catalog["sources"][1]
    assert c["closeness"]["source_offset_s"] - c["closeness"]["clip_offset_s"] == pytest.approx(12.5, abs=0.1)
    assert c["closeness"]["copied"] and c["originality"] < 0.2
    assert c["closeness"]["source_audio_url"] == f"{API}/sources/{catalog['sources'][1]}/audio"
    assert c["analysis_version"] == ANALYSIS_VERSION and c["analyzed_at"]
    m = _clip(client, music)
    assert m["originality"] > 0.9 and not m["closeness"]["copied"]
    assert set(m["flag_scores"]) == {"silent", "noise", "exploded", "drone", "loop", "dc", "clipped", "copied"}
    assert m["style_distance"] > 0 and 0 < m["quality"] <= 1
    loop_flag = _clip(client, loop)["flags"][0]
    assert loop_flag["details"]["period_s"] == pytest.approx(0.5, abs=0.01)
    assert loop_flag["reason"].startswith("repeats a 0.50 s segment from 1.0 s")


def test_best_first_and_flag_filters(client: TestClient, worker: Worker, catalog: dict) -> None:
    _analyse(client, worker, catalog["project"])
    pid = catalog["project"]
    (noise, silent, loop), (music, copy, drone) = catalog["clips"]
    best = client.get(f"{API}/projects/{pid}/clips", params={"sort": "-quality"}).json()["data"]
    order = [c["id"] for c in best]
    assert order[0] == music and order[-1] == silent
    assert [c["quality"] for c in best] == sorted((c["quality"] for c in best), reverse=True)
    # keyset pages walk the same order
    page1 = client.get(f"{API}/projects/{pid}/clips", params={"sort": "-quality", "limit": 4}).json()
    page2 = client.get(f"{API}/projects/{pid}/clips", params={"sort": "-quality", "limit": 4,
                                                              "cursor": page1["next_cursor"]}).json()
    assert [c["id"] for c in page1["data"] + page2["data"]] == order

    def ids(**params: object) -> set[int]:
        r = client.get(f"{API}/projects/{pid}/clips", params=params)
        assert r.status_code == 200, r.text
        return {c["id"] for c in r.json()["data"]}

    assert ids(flag="copied") == {copy}
    assert ids(flag="loop") == {loop}
    assert ids(flag="none") == {music}
    assert ids(flag="clean") == {music, loop, drone}
    assert ids(flag="any") == {noise, silent, loop, copy, drone}
    assert ids(flag="unanalysed") == set()
    assert ids(flag="copied", epoch=1) == set()
    assert client.get(f"{API}/projects/{pid}/clips", params={"flag": "bogus"}).status_code == 422


def test_each_epoch_gets_a_style_distance_and_its_flagged_share(
    client: TestClient, worker: Worker, catalog: dict
) -> None:
    _analyse(client, worker, catalog["project"])
    checkpoints = client.get(f"{API}/runs/{catalog['run']}/checkpoints").json()["data"]
    first, second = checkpoints
    assert first["analyzed_clips"] == second["analyzed_clips"] == 3
    assert first["flagged_share"] == 1.0 and second["flagged_share"] == pytest.approx(2 / 3, abs=1e-3)
    assert second["copied_share"] == pytest.approx(1 / 3, abs=1e-3)
    assert first["style_distance"] > second["style_distance"] > 0  # noise is further from the album


def test_a_second_backfill_skips_what_is_analysed_and_redo_does_all(
    client: TestClient, worker: Worker, catalog: dict
) -> None:
    _analyse(client, worker, catalog["project"])
    again = _analyse(client, worker, catalog["project"])
    assert again["result"]["analysed"] == 0
    redo = _analyse(client, worker, catalog["project"], redo=True)
    assert redo["result"]["analysed"] == 6


def test_the_same_idempotency_key_queues_one_backfill(client: TestClient, catalog: dict) -> None:
    url = f"{API}/projects/{catalog['project']}/analysis"
    a = client.post(url, headers={"Idempotency-Key": "k1"})
    b = client.post(url, headers={"Idempotency-Key": "k1"})
    assert a.status_code == b.status_code == 202 and a.json()["id"] == b.json()["id"]
    assert client.post(f"{API}/projects/999/analysis").status_code == 404
    assert client.post(url, json={"redo": "yes please"}).status_code == 422


def test_a_long_backfill_yields_to_other_jobs_and_carries_on(
    client: TestClient, worker: Worker, catalog: dict, session: Session,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from worker import analysis as runner

    monkeypatch.setattr(runner, "BATCH", 2)
    slow = Runtime.create(worker.rt.settings.model_copy(update={"analysis_slice_s": 1e-6}),
                          worker.rt.publish)
    worker.rt = slow
    r = client.post(f"{API}/projects/{catalog['project']}/analysis")
    job_id = r.json()["id"]
    worker.queue.sent.clear()
    worker.queue.enqueue("analyze-clips", job_id, queue="cpu")
    worker.run_all(limit=1)  # one slice
    row = session.get(Job, job_id, populate_existing=True)
    assert row.status == "queued" and row.handbacks == 1
    assert row.progress == pytest.approx(2 / 6, abs=1e-3) and "2 of 6" in row.message
    assert (row.payload["done"], row.payload["total"]) == (2, 6)
    session.rollback()  # this session writes (BEGIN IMMEDIATE on SQLite): let the worker in
    assert [s.job_id for s in worker.queue.sent] == [job_id]  # published again, at the back
    worker.run_all()
    assert worker.errors == []
    session.expire_all()
    done = session.get(Job, job_id)
    assert done.status == "succeeded" and done.progress == 1.0 and done.handbacks == 2
    analysed = session.scalars(select(Clip.analysis_version).where(Clip.project_id == catalog["project"]))
    assert set(analysed) == {ANALYSIS_VERSION}
    slow.close()


def test_a_cancelled_backfill_stops_and_keeps_what_it_wrote(
    client: TestClient, worker: Worker, catalog: dict, session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from worker import analysis as runner

    r = client.post(f"{API}/projects/{catalog['project']}/analysis")
    job_id = r.json()["id"]
    real = runner.analyze
    calls = []

    def analyse_then_cancel(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            client.post(f"{API}/jobs/{job_id}/cancel")
            import time

            time.sleep(0.5)  # the heartbeat (every 0.2 s) carries the cancel to the runner
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "analyze", analyse_then_cancel)
    monkeypatch.setattr(runner, "BATCH", 1)
    worker.run_all()
    row = session.get(Job, job_id, populate_existing=True)
    assert row.status == "cancelled"
    analysed = session.scalars(select(Clip.id).where(Clip.analysis_version.is_not(None))).all()
    assert 1 <= len(analysed) < 6


def test_a_project_without_sources_gets_flags_but_no_closeness(
    client: TestClient, worker: Worker, session: Session
) -> None:
    pid = make_project(client)
    _, ids = add_epochs(session, storage_of(client), pid, [[s.white_noise(4.0), s.music(6.0)]])
    done = _analyse(client, worker, pid)
    assert done["result"]["album_indexed"] is False
    noise, music = (_clip(client, i) for i in ids[0])
    assert [f["name"] for f in noise["flags"]] == ["noise"] and music["flags"] == []
    assert noise["closeness"] is None and music["style_distance"] is None
    assert music["quality"] > noise["quality"]
    ck = session.scalars(select(Checkpoint)).one()
    assert ck.analyzed_clips == 2 and ck.style_distance is None


def test_the_source_audio_serves_ranges(client: TestClient, catalog: dict) -> None:
    url = f"{API}/sources/{catalog['sources'][0]}/audio"
    whole = client.get(url)
    assert whole.status_code == 200 and whole.headers["content-type"] == "audio/wav"
    part = client.get(url, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100
    assert client.head(url).status_code == 200
    assert client.get(f"{API}/sources/99999/audio").status_code == 404
    assert np.frombuffer(whole.content[:4], np.uint8).tobytes() == b"RIFF"
