"""A checkpoint trained in one install, downloaded, and imported into another makes the very
same clip for the same seed there (real worker processes, two data folders)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.worker.conftest import make_stack
from tests.worker.harness import (
    API,
    WorkerProcess,
    get,
    new_project,
    start_run,
    tiny_run,
    wait_for,
    wait_run,
)

pytestmark = pytest.mark.slow
SEED = 4242


def _generate(client: TestClient, checkpoint_id: int) -> dict[str, Any]:
    r = client.post(f"{API}/checkpoints/{checkpoint_id}/generate",
                    json={"n": 1, "seconds": 0.5, "temperature": 1.0, "seed": SEED})
    assert r.status_code == 202, r.text
    job_id = r.json()["id"]
    job = wait_for(lambda: (j := get(client, f"/jobs/{job_id}"))["status"] in
                   ("succeeded", "failed") and j, 120, interval=0.2, what="the generate job")
    assert job["status"] == "succeeded", job["error"]
    (clip_id,) = job["result"]["clip_ids"]
    clip = dict(get(client, f"/clips/{clip_id}"))
    clip["audio"] = client.get(f"{API}/clips/{clip_id}/audio").content
    return clip


def test_an_imported_checkpoint_generates_the_same_clip_for_the_same_seed(tmp_path: Path) -> None:
    # home: train one epoch (no end-of-epoch clips, so the generated clip is index 0 in both)
    settings, env = make_stack(tmp_path / "home")
    worker = WorkerProcess(env, tmp_path / "home" / "worker.log", name="home@%h")
    with TestClient(create_app(settings)) as home:
        try:
            worker.start()
            pid = new_project(home, "Home")
            run = start_run(home, pid, {**tiny_run(1), "clips_per_epoch": 0})
            done = wait_run(home, run["id"], ("succeeded", "failed"), 180)
            assert done["status"] == "succeeded", done["error"]
            checkpoint = done["checkpoints"][0]
            made_home = _generate(home, checkpoint["id"])
            file = home.get(f"{API}/checkpoints/{checkpoint['id']}/file")
            assert file.status_code == 200
        finally:
            worker.kill()

    # away: another data folder and worker, the downloaded file imported into a new project
    settings, env = make_stack(tmp_path / "away")
    worker = WorkerProcess(env, tmp_path / "away" / "worker.log", name="away@%h")
    with TestClient(create_app(settings)) as away:
        try:
            worker.start()
            pid = int(away.post(f"{API}/projects", json={"name": "Away", "artist": "B"}).json()["id"])
            r = away.post(f"{API}/projects/{pid}/checkpoints/import",
                          files={"file": ("home.pt", file.content, "application/octet-stream")})
            assert r.status_code == 201, r.text
            assert r.json()["file"]["model"] == done["config"]["model"]
            made_away = _generate(away, r.json()["checkpoint"]["id"])
        finally:
            worker.kill()

    assert (made_away["index"], made_away["seed"]) == (made_home["index"], made_home["seed"])
    assert made_away["epoch"] == made_home["epoch"] == 1
    assert len(made_away["audio"]) > 1000 and made_away["audio"] == made_home["audio"]
