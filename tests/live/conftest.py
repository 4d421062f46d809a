"""Live clips on a real stack: the radio tests' trained `tiny` checkpoint (an embedded stack:
SQLite, filesystem broker, a real worker process) and the web app on a loopback port, plus the
helpers the live tests share."""

from __future__ import annotations

import http.client
import threading
import time
from typing import Any

import httpx

from tests.radio.conftest import Trained, trained  # noqa: F401 - the shared fixtures
from tests.web.conftest import chromium  # noqa: F401
from tests.worker.harness import API, wait_for

__all__ = ["Listener", "api", "checkpoint_id", "generate", "wait_live", "wait_job"]


def api(base: str, method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{base}{API}{path}", timeout=30, **kw)


def checkpoint_id(base: str, run_id: int) -> int:
    r = api(base, "GET", f"/runs/{run_id}/checkpoints")
    assert r.status_code == 200, r.text
    return int(r.json()["data"][-1]["id"])


def generate(base: str, checkpoint: int, *, seconds: float, seed: int, n: int = 1) -> int:
    """Queue `n` clips of `seconds`; returns the job's id."""
    r = api(base, "POST", f"/checkpoints/{checkpoint}/generate",
            json={"n": n, "seconds": seconds, "seed": seed, "temperature": 1.0})
    assert r.status_code == 202, r.text
    return int(r.json()["id"])


def wait_live(base: str, project_id: int, job_id: int) -> dict[str, Any]:
    """The job's first live clip, as soon as the studio can see it."""
    def found() -> dict[str, Any] | None:
        r = api(base, "GET", f"/projects/{project_id}/live-clips")
        assert r.status_code == 200, r.text
        mine = [c for c in r.json()["data"] if c["job_id"] == job_id]
        return mine[0] if mine else None

    return wait_for(found, 120, interval=0.02, what=f"a live clip of job {job_id}")


def wait_job(base: str, job_id: int, status: str = "succeeded") -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        job = api(base, "GET", f"/jobs/{job_id}").json()
        return job if job["status"] in ("succeeded", "failed", "cancelled") else None

    job = wait_for(done, 180, what=f"job {job_id} to end")
    assert job["status"] == status, job
    return job


class Listener(threading.Thread):
    """Reads a live clip's stream from start to end, noting when each part arrived."""

    def __init__(self, port: int, path: str) -> None:
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.data = bytearray()
        self.status = 0
        self.headers: dict[str, str] = {}
        self.first_audio_at: float | None = None  # monotonic time of the first sample
        self.ended_at: float | None = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            conn.request("GET", f"{API}{self.path}")
            r = conn.getresponse()
            self.status = r.status
            self.headers = {k.lower(): v for k, v in r.getheaders()}
            while piece := r.read1(65536):
                self.data += piece
                if self.first_audio_at is None and len(self.data) > 44:
                    self.first_audio_at = time.monotonic()
            self.ended_at = time.monotonic()
            conn.close()
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            self.error = exc
