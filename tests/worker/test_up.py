"""`albumbot up --demo`: the demo project (in-process) and the embedded studio as real processes."""

from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from app.catalog import Project, Run, SourceImage, SourceTitle, SourceTrack
from app.db import make_engine, session_factory
from app.demo import DEMO_TITLES, demo_cover, ensure_demo
from app.migrate import upgrade
from app.queue import RecordingQueue, Sent
from app.settings import Settings
from tests.worker.harness import ROOT, children_of, subprocess_env, wait_for


def test_the_demo_project_is_made_once_through_the_services(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    upgrade(settings)
    queue = RecordingQueue()
    first = ensure_demo(settings, queue=queue)
    again = ensure_demo(settings, queue=queue)
    assert (again.project_id, again.run_id) == (first.project_id, first.run_id)
    assert queue.sent == [Sent("run-training", queue.sent[0].job_id, "gpu")]

    engine = make_engine(settings)
    with session_factory(engine)() as s:
        count = lambda model: s.scalar(select(func.count()).select_from(model))  # noqa: E731
        assert (count(Project), count(Run), count(SourceTrack)) == (1, 1, 3)
        assert count(SourceTitle) == len(DEMO_TITLES) >= 40
        assert s.scalars(select(SourceImage.role)).all() == ["cover"]
        run = s.get(Run, first.run_id)
        assert run is not None and run.config["preset"] == "tiny"
        seconds = sum(s.scalars(select(SourceTrack.duration_s)))
        assert 120 <= seconds <= 300  # "a few minutes" of drums, bass and chords
    engine.dispose()


def test_the_demo_cover_is_a_square_png() -> None:
    image = Image.open(io.BytesIO(demo_cover(size=300)))
    assert (image.format, image.size, image.mode) == ("PNG", (300, 300), "RGB")
    assert demo_cover(size=300) == demo_cover(size=300)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.load(response)


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        for child in children_of(todo.pop()):
            found.append(child)
            todo.append(child)
    return found


@pytest.mark.slow
def test_up_serves_trains_and_stops_everything_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = subprocess_env({"ALBUMBOT_DATA_DIR": str(tmp_path / "data")})
    log = tmp_path / "up.log"
    with open(log, "wb") as out:
        up = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "up", "--demo", "--port", str(port)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        wait_for(lambda: "albumbot studio: http://127.0.0.1" in log.read_text() or up.poll() is not None,
                 90, what="the studio URL")
        assert up.poll() is None, log.read_text()[-3000:]
        assert api(port, "/healthz")["status"] == "ok"
        (project,) = api(port, "/api/v1/projects")["data"]
        (run,) = api(port, f"/api/v1/projects/{project['id']}/runs")["data"]
        wait_for(lambda: api(port, f"/api/v1/jobs/{run['job_id']}")["status"] == "running", 60,
                 what="the demo run training")
        # web, two workers (gpu, cpu), their pool children (the idle cpu worker forks its child
        # a moment after the gpu worker has started training, on a loaded machine)
        wait_for(lambda: len(descendants(up.pid)) >= 5, 30, what="both workers' pool children")
        processes = descendants(up.pid)

        up.send_signal(signal.SIGINT)  # Ctrl-C
        assert up.wait(40) == 0
        for pid in processes:  # no orphans
            assert not os.path.exists(f"/proc/{pid}") or _zombie(pid), pid
    finally:
        if up.poll() is None:
            os.killpg(up.pid, signal.SIGKILL)
        for pid in descendants(up.pid):
            os.kill(pid, signal.SIGKILL)

    settings = Settings(data_dir=tmp_path / "data")
    engine = make_engine(settings)
    with session_factory(engine)() as s:
        run_row = s.get(Run, run["id"])
        assert run_row is not None and run_row.status == "queued"  # handed back; continues next time
    engine.dispose()
    assert "handed back to the queue" in log.read_text()


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_up_and_worker_refuse_bad_arguments() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--queues", "gpu,video"],
        cwd=ROOT, capture_output=True, text=True, env=subprocess_env({}),
    )
    assert out.returncode == 2 and "--queues" in out.stderr
    gpus = subprocess.run(
        [sys.executable, "-m", "app.cli", "worker", "--queues", "gpu", "--gpus", "two"],
        cwd=ROOT, capture_output=True, text=True, env=subprocess_env({}),
    )
    assert gpus.returncode == 2
    assert gpus.stderr.strip().splitlines() == [
        "albumbot worker: error: --gpus takes 'all' or a count >= 1, got 'two'"]
    assert Settings(gpus="all").gpus == "all" and Settings(gpus="4").gpus == "4"
    with pytest.raises(ValueError, match="gpus"):
        Settings(gpus="0")
