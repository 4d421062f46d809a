"""Disk full and read-only media, on a real filesystem: the media folder is a small tmpfs the
test mounts (and fills with a file, or remounts read-only); the catalog lives elsewhere.

An upload, a checkpoint, a clip and an export each fail with a readable reason, leave no partial
file, and leave the catalog as it was: every row's file exists, every media file has its row,
and the same work succeeds once space is back.
"""

from __future__ import annotations

import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip, SourceTrack
from app.contract.kinds import EXPORT, GENERATE, RUN
from app.queue import RecordingQueue
from app.settings import Settings
from app.storage import storage_failure
from tests.albums.conftest import rt, session  # noqa: F401 - fixtures reused
from tests.albums.factories import add_run, make_track
from tests.app.conftest import sqlite_copy
from tests.worker.harness import API, album_files, tiny_run, wait_for
from worker import album_runners, runners
from worker.lease import execute
from worker.runtime import Runtime

RUNNERS: dict[str, tuple[Any, Any]] = {
    RUN.task: (RUN, runners.run_training),
    GENERATE.task: (GENERATE, runners.generate_more),
    EXPORT.task: (EXPORT, album_runners.run_export),
}
MEDIA_MB = 24


def _mount(folder: Path) -> str | None:
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={MEDIA_MB}m", "tmpfs", str(folder)],
        capture_output=True, text=True, check=False,
    )
    return None if done.returncode == 0 else (done.stderr.strip() or "mount failed")


@pytest.fixture
def settings(sqlite_template: Path, tmp_path: Path) -> Iterator[Settings]:
    data_dir = tmp_path / "data"
    s = Settings(
        data_dir=data_dir, database_url=sqlite_copy(sqlite_template, data_dir),
        heartbeat_interval_s=0.2, job_stale_after_s=5.0, train_threads=1,
        train_segment_epochs=0,  # whole runs per task, as these tests count them
    )
    reason = _mount(s.media_dir)
    if reason:
        pytest.skip(f"cannot mount a tmpfs for the media folder (needs root): {reason}")
    try:
        yield s
    finally:
        subprocess.run(["umount", "-l", str(s.media_dir)], check=False)


class Disk:
    """The media filesystem: fill it up, free it, make it read-only."""

    def __init__(self, root: Path) -> None:
        self.root, self.filler = root, root / "filler.bin"

    def fill(self) -> None:
        with open(self.filler, "ab", buffering=0) as f:
            block = b"\0" * (1 << 16)
            try:
                while f.write(block):
                    pass
            except OSError:
                pass  # ENOSPC: full

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)

    def read_only(self, on: bool) -> None:
        mode = "remount,ro" if on else "remount,rw"
        subprocess.run(["mount", "-o", mode, str(self.root)], check=True)

    def stray_files(self) -> list[str]:
        """Temp files and partial files: anything under .tmp, anything hidden."""
        return sorted(
            str(p.relative_to(self.root)) for p in self.root.rglob("*")
            if p.is_file() and p != self.filler
            and (p.name.startswith(".") or ".tmp" in p.relative_to(self.root).parts)
        )


@pytest.fixture
def disk(settings: Settings) -> Disk:
    return Disk(settings.media_dir)


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def client(settings: Settings, queue: RecordingQueue) -> Iterator[TestClient]:
    from app.main import create_app

    with TestClient(create_app(settings, queue=queue)) as c:
        yield c


def run_queued(rt: Runtime, queue: RecordingQueue) -> list[dict[str, Any] | None]:  # noqa: F811
    """Run what the API queued through the real runners and leases (no Celery)."""
    results = []
    while queue.sent:
        sent = queue.sent.pop(0)
        if sent.task not in RUNNERS:
            continue  # clip analysis: not what these tests are about
        kind, runner = RUNNERS[sent.task]
        try:
            results.append(execute(rt, "test@disk", sent.job_id, kind, runner))
        except Exception:  # noqa: BLE001 - the job row records it; tests read the row
            results.append(None)
    return results


def assert_consistent(session: Session, disk: Disk, *, checkpoints: bool = True) -> None:  # noqa: F811
    """No partial file; every row's file exists; every clip or checkpoint file has its row.
    (`checkpoints=False`: rows inserted by a factory, which point at no file.)"""
    session.expire_all()
    assert disk.stray_files() == []
    root = disk.root
    clips = session.scalars(select(Clip)).all()
    ckpts = session.scalars(select(Checkpoint)).all() if checkpoints else []
    sources = session.scalars(select(SourceTrack)).all()
    for key in [c.audio_path for c in clips] + [c.peaks_path for c in clips if c.peaks_path]:
        assert (root / key).is_file(), key
    for key in [k.path for k in ckpts] + [s.path for s in sources]:
        assert (root / key).is_file(), key
    assert {str(p.relative_to(root)) for p in root.rglob("clips/*.wav")} == {
        c.audio_path for c in clips
    }
    assert {str(p.relative_to(root)) for p in root.rglob("checkpoints/epoch-*.pt")} == {
        k.path for k in ckpts
    }
    assert {str(p.relative_to(root)) for p in root.rglob("sources/*")} == {s.path for s in sources}
    session.rollback()


def new_project(client: TestClient) -> int:
    r = client.post(f"{API}/projects", json={"name": "Album", "artist": "Band"})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_an_upload_to_full_or_read_only_media_is_refused_and_leaves_nothing(
    client: TestClient, disk: Disk, session: Session  # noqa: F811
) -> None:
    pid = new_project(client)
    disk.fill()
    r = client.post(f"{API}/projects/{pid}/sources", files=album_files(seconds=4.0))
    assert r.status_code == 507, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "media storage is full" in r.json()["detail"] and "Traceback" not in r.text
    assert client.get(f"{API}/projects/{pid}/sources").json()["data"] == []
    assert_consistent(session, disk)

    disk.free()
    disk.read_only(True)
    try:
        r = client.post(f"{API}/projects/{pid}/sources", files=album_files(seconds=4.0))
        assert r.status_code == 507, r.text
        assert "media storage is read-only" in r.json()["detail"]
    finally:
        disk.read_only(False)
    assert client.get(f"{API}/projects/{pid}/sources").json()["data"] == []
    assert_consistent(session, disk)

    # Space back: the same upload is kept, once.
    r = client.post(f"{API}/projects/{pid}/sources", files=album_files(seconds=4.0))
    assert r.status_code == 201, r.text
    assert len(client.get(f"{API}/projects/{pid}/sources").json()["data"]) == 2
    assert_consistent(session, disk)


def test_a_checkpoint_and_clips_on_a_full_disk_fail_readably_and_resume_exactly(
    client: TestClient, disk: Disk, session: Session, rt: Runtime, queue: RecordingQueue  # noqa: F811
) -> None:
    pid = new_project(client)
    assert client.post(f"{API}/projects/{pid}/sources", files=album_files()).status_code == 201
    run = client.post(f"{API}/projects/{pid}/runs", json=tiny_run(2, segments=16, clips=0)).json()
    folder = disk.root / f"projects/{pid}/runs/{run['id']}/checkpoints"

    # The disk fills up as soon as epoch 1's checkpoint is in place: epoch 2's cannot be written.
    def fill_after_epoch_1() -> None:
        wait_for(lambda: (folder / "epoch-0001.pt").is_file(), 120, interval=0.005)
        disk.fill()

    filler = threading.Thread(target=fill_after_epoch_1, daemon=True)
    filler.start()
    run_queued(rt, queue)
    filler.join()
    failed = client.get(f"{API}/runs/{run['id']}").json()
    assert failed["status"] == "failed", failed
    assert "media storage is full" in failed["error"], failed["error"]
    assert sorted(p.name for p in folder.glob("*")) == ["epoch-0001.pt"]  # no partial epoch 2
    assert_consistent(session, disk)

    # Space back: the run resumes from epoch 1 and ends with both epochs, each once.
    disk.free()
    r = client.post(f"{API}/runs/{run['id']}/resume")
    assert r.status_code == 202, r.text
    run_queued(rt, queue)
    done = client.get(f"{API}/runs/{run['id']}").json()
    assert done["status"] == "succeeded", done
    ckpts = client.get(f"{API}/runs/{run['id']}/checkpoints").json()["data"]
    assert [k["epoch"] for k in ckpts] == [1, 2]
    assert_consistent(session, disk)

    # Clips on a full disk: the generate job fails readably, no clip file or row appears.
    disk.fill()
    body = {"n": 2, "seconds": 0.5, "seed": 7}
    r = client.post(f"{API}/checkpoints/{ckpts[-1]['id']}/generate", json=body)
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    run_queued(rt, queue)
    job = client.get(f"{API}/jobs/{job_id}").json()
    assert job["status"] == "failed" and "media storage is full" in job["error"], job
    assert session.scalars(select(Clip)).all() == []
    assert_consistent(session, disk)

    disk.free()
    r = client.post(f"{API}/checkpoints/{ckpts[-1]['id']}/generate", json=body)
    run_queued(rt, queue)
    session.expire_all()
    assert len(session.scalars(select(Clip)).all()) == 2
    assert_consistent(session, disk)


def test_an_export_on_a_full_disk_fails_readably_and_leaves_no_partial_release(
    client: TestClient, disk: Disk, session: Session, rt: Runtime, queue: RecordingQueue  # noqa: F811
) -> None:
    pid = new_project(client)
    made = add_run(session, client.app.state.storage, pid, epochs=1, per_epoch=1, seconds=6.0)  # type: ignore[attr-defined]
    clip_id = session.scalars(select(Clip.id).where(Clip.run_id == made.id)).one()
    session.rollback()
    track = make_track(client, pid, [{"clip_id": clip_id, "start_s": 0, "end_s": 5}], "a")
    r = client.post(f"{API}/projects/{pid}/albums", json={
        "title": "Full", "artist": "Band", "tracks": [{"track_id": track["id"], "title": "A"}],
    })
    assert r.status_code == 201, r.text
    album_id = r.json()["id"]

    disk.fill()
    r = client.post(f"{API}/albums/{album_id}/exports")
    assert r.status_code == 202, r.text
    export_id = r.json()["id"]
    run_queued(rt, queue)
    failed = client.get(f"{API}/exports/{export_id}").json()
    assert failed["status"] == "failed", failed
    assert "media storage is full" in failed["error"], failed
    assert client.get(f"{API}/exports/{export_id}/download").status_code == 409
    assert [p for p in disk.root.rglob("*.zip")] == []
    assert_consistent(session, disk, checkpoints=False)

    disk.free()
    r = client.post(f"{API}/albums/{album_id}/exports")
    run_queued(rt, queue)
    done = client.get(f"{API}/exports/{r.json()['id']}").json()
    assert done["status"] == "succeeded", done
    assert client.get(done["download_url"]).status_code == 200
    assert len(list(disk.root.rglob("*.zip"))) == 1
    assert_consistent(session, disk, checkpoints=False)


def test_a_write_at_the_storage_boundary_on_a_full_disk_leaves_no_temp_file(
    client: TestClient, disk: Disk
) -> None:
    storage = client.app.state.storage  # type: ignore[attr-defined]
    disk.fill()
    with pytest.raises(OSError) as raised:
        storage.write_bytes("projects/1/peaks/x.json", b"x" * 100_000)
    assert storage_failure(raised.value) is not None
    assert not (disk.root / "projects/1/peaks/x.json").exists()
    assert storage.refusing_writes() is not None
    assert disk.stray_files() == []
    disk.free()
    assert storage.refusing_writes() is None
