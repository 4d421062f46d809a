"""Disk budget (issue 13 item 2) on a real run folder: checkpoint files, clip WAVs, a track, an
album. What retention keeps and removes, the dry run that removes nothing, albums that still
export after pruning, usage figures equal to `du` on the media folder, and abandoned temp files
swept at worker start."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip
from app.contract.kinds import RETENTION
from app.queue import RecordingQueue
from app.storage import Storage
from tests.albums.conftest import Worker
from tests.albums.factories import API, add_run, make_project, make_track, storage_of
from worker.lease import execute
from worker.retention_runner import run_retention
from worker.temp_sweep import sweep_temp

EPOCHS = 5


def _checkpoint_files(session: Session, storage: Storage, run_id: int) -> dict[int, Path]:
    """Real checkpoint files in the run folder, where the trainer puts them; sizes differ."""
    rng = np.random.default_rng(0)
    files = {}
    for ck in session.scalars(select(Checkpoint).where(Checkpoint.run_id == run_id)):
        key = f"projects/{ck.run.project_id}/runs/{run_id}/checkpoints/epoch-{ck.epoch:04d}.pt"
        files[ck.epoch] = storage.write_bytes(key, rng.bytes(40_000 + 1_000 * ck.epoch))
        session.execute(update(Checkpoint).where(Checkpoint.id == ck.id).values(path=key))
    session.commit()
    return files


def _du(path: Path) -> int:
    out = subprocess.run(["du", "-s", "-B1", str(path)], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[0])


def test_retention_keeps_what_is_used_and_albums_still_export(
    client: TestClient, worker: Worker, queue: RecordingQueue, session: Session
) -> None:
    storage = storage_of(client)
    pid = make_project(client)
    run_id = add_run(session, storage, pid, epochs=EPOCHS, per_epoch=1, seconds=4.0).id
    files = _checkpoint_files(session, storage, run_id)
    clips = {c.epoch: c.id for c in session.scalars(select(Clip).where(Clip.run_id == run_id))}
    session.rollback()  # on SQLite our session's transaction would hold the write lock
    # Epoch 1's clip is on a track of an album; epoch 2's is kept; epoch 3's is rated; epoch
    # 4's is rejected; epoch 5 is the newest.
    track = make_track(client, pid, [{"clip_id": clips[1], "start_s": 0.0, "end_s": 3.5}], "t")
    assert client.patch(f"{API}/clips/{clips[2]}", json={"kept": True}).status_code == 200
    assert client.patch(f"{API}/clips/{clips[3]}", json={"rating": 1}).status_code == 200
    assert client.patch(f"{API}/clips/{clips[4]}", json={"kept": False}).status_code == 200
    r = client.post(f"{API}/projects/{pid}/albums", json={
        "title": "Kept", "artist": "Band", "tracks": [{"track_id": track["id"], "title": "One"}],
    })
    assert r.status_code == 201, r.text
    album_id = r.json()["id"]

    media = storage.root
    usage = client.get(f"{API}/projects/{pid}/usage").json()
    assert usage["disk_bytes"] == _du(media / "projects" / str(pid))
    assert usage["bytes"]["checkpoints"] == sum(p.stat().st_size for p in files.values())
    assert usage["files"]["clips"] == EPOCHS
    run_usage = client.get(f"{API}/runs/{run_id}/usage").json()
    for page in (f"/runs/{run_id}", f"/projects/{pid}"):  # the run and project pages show it
        html = client.get(page).text
        assert "Disk: checkpoints " in html and " on disk" in html, page
    assert run_usage["disk_bytes"] == _du(media / "projects" / str(pid) / "runs" / str(run_id))

    dry = client.get(f"{API}/runs/{run_id}/retention", params={"keep_last": 1}).json()
    going = {c["epoch"] for c in dry["checkpoints"] if not c["keep"]}
    assert going == {4}
    reasons = {c["epoch"]: c["reason"] for c in dry["checkpoints"]}
    assert "track" in reasons[1] and "newest" in reasons[5]
    assert "kept or rated" in reasons[2] and "kept or rated" in reasons[3]
    assert dry["freed_bytes"] == files[4].stat().st_size
    assert all(p.exists() for p in files.values())  # a dry run removes nothing

    r = client.post(f"{API}/runs/{run_id}/retention", json={"keep_last": 1})
    assert r.status_code == 202 and r.headers["location"] == f"{API}/jobs/{r.json()['id']}"
    assert [s.task for s in queue.sent] == [RETENTION.task]
    sent = queue.sent.pop()
    result = execute(worker.rt, "test@retention", sent.job_id, RETENTION, run_retention)
    assert result == {"removed_epochs": [4], "freed_bytes": dry["freed_bytes"]}
    assert client.get(f"{API}/jobs/{sent.job_id}").json()["status"] == "succeeded"
    assert {e for e, p in files.items() if not p.exists()} == {4}
    # Rows, clips and their audio all stay; the usage figures follow the disk.
    audio = list(session.scalars(select(Clip.audio_path).where(Clip.run_id == run_id)))
    session.rollback()
    assert len(audio) == EPOCHS and all(storage.path(key).exists() for key in audio)
    after = client.get(f"{API}/projects/{pid}/usage").json()
    assert after["disk_bytes"] == _du(media / "projects" / str(pid))
    assert after["bytes"]["checkpoints"] == usage["bytes"]["checkpoints"] - dry["freed_bytes"]
    again = client.get(f"{API}/runs/{run_id}/retention", params={"keep_last": 1}).json()
    assert again["freed_bytes"] == 0  # idempotent

    r = client.post(f"{API}/albums/{album_id}/exports", json={"formats": ["flac"]})
    assert r.status_code == 202, r.text
    worker.run_all()
    export = client.get(f"{API}/exports/{r.json()['id']}").json()
    assert export["status"] == "succeeded", export
    assert client.get(export["download_url"]).status_code == 200


def test_retention_refuses_to_drop_the_newest(client: TestClient, session: Session) -> None:
    pid = make_project(client)
    run_id = add_run(session, storage_of(client), pid, epochs=1, per_epoch=1, seconds=1.0).id
    session.rollback()
    assert client.post(f"{API}/runs/{run_id}/retention", json={"keep_last": 0}).status_code == 422
    assert client.get(f"{API}/runs/{run_id}/retention?keep_last=0").status_code == 422
    assert client.post(f"{API}/runs/999999/retention").status_code == 404
    assert client.get(f"{API}/runs/999999/usage").status_code == 404
    assert client.get(f"{API}/projects/999999/usage").status_code == 404


def test_abandoned_temp_files_are_swept_fresh_ones_stay(tmp_path: Path) -> None:
    tmp = tmp_path / ".tmp"
    tmp.mkdir()
    old, fresh = tmp / "killed-write", tmp / "being-written"
    old.write_bytes(b"x" * 10)
    fresh.write_bytes(b"y")
    an_hour_ago = time.time() - 7200
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert sweep_temp(tmp) == [old]
    assert fresh.exists() and not old.exists()
    assert sweep_temp(tmp_path / "missing") == []
