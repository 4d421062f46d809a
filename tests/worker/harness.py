"""Real worker processes for tests, and the small helpers the worker tests share.

A `WorkerProcess` is `python -m app.cli worker` in its own session (process group), configured
only through `ALBUMBOT_*` environment variables like a deployed worker. Tests stop it by pid in
teardown; `kill()` SIGKILLs the whole group (node loss), `kill_children()` only the pool
children (the OOM killer).
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import soundfile as sf
from fastapi.testclient import TestClient

from model.synth import demo_album

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"
T = TypeVar("T")

# Fast lease timing for tests: heartbeats every 0.3 s, orphaned after 3 s, sweeps every second.
WORKER_ENV = {
    "ALBUMBOT_HEARTBEAT_INTERVAL_S": "0.3",
    "ALBUMBOT_JOB_STALE_AFTER_S": "3",
    "ALBUMBOT_SWEEP_INTERVAL_S": "1",
    "ALBUMBOT_REPUBLISH_AFTER_S": "30",
    "ALBUMBOT_MAX_ATTEMPTS": "3",
    "ALBUMBOT_TRAIN_THREADS": "1",
    "ALBUMBOT_GENERATE_THREADS": "1",
    "ALBUMBOT_VISIBILITY_TIMEOUT_S": "60",
    # These tests count one attempt per run; segments (one message per epoch, an attempt each)
    # are tested on their own (test_segments.py), with the production default of 1.
    "ALBUMBOT_TRAIN_SEGMENT_EPOCHS": "0",
    "OMP_NUM_THREADS": "1",
}


def tiny_run(epochs: int, *, segments: int = 8, clips: int = 2, seconds: float = 0.5) -> dict[str, Any]:
    """A run config that trains in well under a second per epoch on one CPU thread."""
    return {
        "preset": "tiny",
        "epochs": epochs,
        "clips_per_epoch": clips,
        "clip_seconds": seconds,
        "chunks": 8,
        "seed": 3,
        "model": {"dim": 32},
        "train": {"max_segments_per_chunk": segments},
    }


def subprocess_env(values: dict[str, str]) -> dict[str, str]:
    """This process's environment without any ALBUMBOT_* variable, plus `values`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALBUMBOT_")}
    env.update(WORKER_ENV)
    env.update(values)
    return env


class WorkerProcess:
    def __init__(
        self, env: dict[str, str], log: Path, *, name: str = "test@%h", pool: str = "prefork",
        queues: str = "gpu,cpu",
    ) -> None:
        self.env, self.log_path, self.name, self.pool = env, log, name, pool
        self.queues = queues
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "worker", "--queues", self.queues,
                 "--concurrency", "1", "--pool", self.pool, "--name", self.name],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        start = self.log_path.stat().st_size if self.log_path.exists() else 0
        wait_for(lambda: " ready." in self.log()[start:] or self._exited(), timeout, what="worker ready")
        assert not self._exited(), f"worker exited at start:\n{self.log()[-3000:]}"
        return self

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def children(self) -> list[int]:
        return children_of(self.pid)

    def kill(self) -> None:
        """SIGKILL the whole process group (main process and pool children) and reap it."""
        if self.process is not None:
            try:
                os.killpg(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(10)

    def kill_children(self) -> list[int]:
        pids = self.children()
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return pids

    def stop(self, timeout: float = 30.0) -> float:
        """Warm shutdown (SIGTERM); SIGKILL the group if it takes over `timeout`. Returns the
        seconds it took."""
        if self.process is None or self.process.poll() is not None:
            return 0.0
        t0 = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        took = time.monotonic() - t0
        self.kill()
        return took

    def _exited(self) -> bool:
        return self.process is not None and self.process.poll() is not None


def children_of(pid: int) -> list[int]:
    """Live child processes of `pid` (from /proc; no psutil)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.append(int(entry))
    return found


def wait_for(check: Callable[[], T], timeout: float, *, interval: float = 0.1, what: str = "") -> T:
    """Poll `check` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what or check}")
        time.sleep(interval)


def album_files(seconds: float = 8.0, tracks: int = 2, seed: int = 1) -> list[tuple[str, tuple[str, bytes, str]]]:
    """A synthesized album as multipart `files` fields (WAV, 16 kHz)."""
    files = []
    for name, audio in demo_album(seconds, 16000, tracks, seed=seed):
        buf = io.BytesIO()
        sf.write(buf, audio, 16000, format="WAV", subtype="PCM_16")
        files.append(("files", (f"{name}.wav", buf.getvalue(), "audio/wav")))
    return files


def new_project(client: TestClient, name: str = "Album") -> int:
    project = client.post(f"{API}/projects", json={"name": name, "artist": "Band"}).json()
    r = client.post(f"{API}/projects/{project['id']}/sources", files=album_files())
    assert r.status_code == 201, r.text
    return int(project["id"])


def start_run(client: TestClient, project_id: int, config: dict[str, Any]) -> dict[str, Any]:
    r = client.post(f"{API}/projects/{project_id}/runs", json=config)
    assert r.status_code == 202, r.text
    return dict(r.json())


def get(client: TestClient, path: str) -> Any:
    r = client.get(f"{API}{path}")
    assert r.status_code == 200, r.text
    return r.json()


def run_state(client: TestClient, run_id: int) -> dict[str, Any]:
    return dict(get(client, f"/runs/{run_id}"))


def clips_of(client: TestClient, project_id: int, run_id: int) -> list[dict[str, Any]]:
    return list(get(client, f"/projects/{project_id}/clips?run={run_id}&sort=created&limit=500")["data"])


def wait_run(client: TestClient, run_id: int, statuses: tuple[str, ...], timeout: float) -> dict[str, Any]:
    return wait_for(
        lambda: (r := run_state(client, run_id))["status"] in statuses and r,
        timeout,
        interval=0.2,
        what=f"run {run_id} to become {'/'.join(statuses)}",
    )
