"""Fixtures for the album tests: a migrated SQLite catalog, the API with a recording queue, and a
worker Runtime on the same catalog that runs what the API queued, through the real runners and
leases (`worker.lease.execute`) but without Celery. tests/albums/test_worker_e2e.py goes through
a real worker process instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from app.contract.kinds import AUTO_ALBUM, COVERS, EXPORT, TITLES, JobKind
from app.queue import RecordingQueue
from app.settings import Settings
from tests.app.conftest import client, queue, sqlite_copy, sqlite_template  # noqa: F401 - fixtures reused (with this folder's `settings`)
from tests.worker.conftest import embedded  # noqa: F401 - the real-worker stack, reused
from worker import album_runners
from worker.lease import execute
from worker.runtime import Runtime

# task name -> (kind, runner), as worker/album_tasks.py registers them
RUNNERS: dict[str, tuple[JobKind[Any], Any]] = {
    kind.task: (kind, runner)
    for kind, runner in (
        (TITLES, album_runners.run_titles),
        (COVERS, album_runners.run_covers),
        (EXPORT, album_runners.run_export),
        (AUTO_ALBUM, album_runners.run_auto_album),
    )
}


@pytest.fixture
def settings(sqlite_template: Path, tmp_path: Path) -> Settings:
    """A migrated SQLite catalog of its own, with fast job leases."""
    data_dir = tmp_path / "data"
    return Settings(
        data_dir=data_dir, database_url=sqlite_copy(sqlite_template, data_dir),
        heartbeat_interval_s=0.2, job_stale_after_s=5.0,
        # TestClient's client ("testclient") is not loopback: no rate limits in these tests
        # (tests/app/test_rate_limit.py tests them).
        rate_limit_enabled=False,
    )


@pytest.fixture
def rt(settings: Settings) -> Iterator[Runtime]:
    runtime = Runtime.create(settings, lambda task, job_id, queue: None)
    yield runtime
    runtime.close()


@pytest.fixture
def session(rt: Runtime) -> Iterator[Session]:
    with rt.sessions() as s:
        yield s


@dataclass
class Worker:
    """Runs the jobs the API queued, one after the other, like a cpu worker would."""

    rt: Runtime
    queue: RecordingQueue

    def run_all(self) -> list[dict[str, Any] | None]:
        results = []
        while self.queue.sent:
            sent = self.queue.sent.pop(0)
            try:
                kind, runner = RUNNERS[sent.task]
                results.append(execute(self.rt, "test@albums", sent.job_id, kind, runner))
            except Exception:  # noqa: BLE001 - the job row records it; tests read the row
                results.append(None)
        return results


@pytest.fixture
def worker(rt: Runtime, queue: RecordingQueue) -> Worker:
    return Worker(rt, queue)
