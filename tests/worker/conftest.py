"""Stacks for worker tests: a migrated catalog, a broker, a real worker process, an API client.

`embedded`: SQLite + the filesystem broker in a fresh data dir (what `albumbot up` runs).
`distributed`: PostgreSQL (a database of its own) + Redis (a DB number of its own, flushed at the
end) on 127.0.0.1, skipped with the reason when either is not reachable.
Each is module-scoped: the tests of a module share one worker, and create their own projects.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings
from tests.worker.harness import WorkerProcess, subprocess_env
from worker.runtime import Runtime

if TYPE_CHECKING:
    from redis import Redis

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
_LOCK = "albumbot-test-owner"


@dataclass
class Stack:
    settings: Settings
    env: dict[str, str]  # ALBUMBOT_* for worker processes on this stack
    client: TestClient
    data_dir: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    @property
    def worker(self) -> WorkerProcess:
        return self.workers[-1]

    def new_worker(self, name: str = "test@%h", **env: str) -> WorkerProcess:
        """A worker process on this stack (not started); `env` overrides ALBUMBOT_* values."""
        log = self.data_dir / f"worker-{len(self.workers)}.log"
        worker = WorkerProcess({**self.env, **env}, log, name=name)
        self.workers.append(worker)
        return worker

    def stop_workers(self) -> None:
        # Idle by now: SIGKILL loses nothing and skips the ~8 s of a warm shutdown.
        for worker in self.workers:
            worker.kill()


def make_stack(data_dir: Path, **settings_values: str) -> tuple[Settings, dict[str, str]]:
    # Rate limits off: a module's tests share one app and one Redis bucket, and TestClient's
    # client ("testclient") is not loopback (tests/app/test_rate_limit.py tests the limits).
    settings_values.setdefault("rate_limit_enabled", "false")
    settings = Settings(data_dir=data_dir, **settings_values)  # type: ignore[arg-type]
    upgrade(settings)
    env = {"ALBUMBOT_DATA_DIR": str(data_dir), "ALBUMBOT_DATABASE_URL": settings.database_url}
    if settings.broker_url:
        env["ALBUMBOT_BROKER_URL"] = settings.broker_url
    return settings, subprocess_env(env)


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("embedded")
    settings, env = make_stack(data_dir)
    yield from running_stack(settings, env, data_dir)


def running_stack(
    settings: Settings, env: dict[str, str], data_dir: Path, *, worker: bool = True
) -> Iterator[Stack]:
    """The app on `settings` with (by default) one worker started; every worker the test
    started is stopped at the end. Use as `yield from running_stack(...)` in a fixture."""
    with TestClient(create_app(settings)) as client:
        stack = Stack(settings, env, client, data_dir)
        try:
            if worker:
                stack.new_worker().start()
            yield stack
        finally:
            stack.stop_workers()


def claim_redis_db() -> Redis | None:
    """A client of a Redis DB number nobody else uses now (empty, and marked as ours), or None
    when all of 1..15 hold keys. Flush it (only it) when done. Raises redis.RedisError when
    Redis is not reachable."""
    import redis

    for db in range(15, 0, -1):
        r = redis.Redis(REDIS_HOST, REDIS_PORT, db=db, socket_connect_timeout=2)
        if r.dbsize() == 0 and r.set(_LOCK, str(os.getpid()), nx=True):
            return r
    return None


@pytest.fixture(scope="module")
def redis_db() -> Iterator[int]:
    """A Redis DB number nobody else uses now; flushed (only it) afterwards."""
    import redis

    try:
        taken = claim_redis_db()
    except redis.RedisError as exc:
        pytest.skip(f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}")
    if taken is None:
        pytest.skip("no free Redis DB number (all of 1..15 hold keys)")
    try:
        yield int(taken.connection_pool.connection_kwargs["db"])
    finally:
        taken.flushdb()


@pytest.fixture(scope="module")
def distributed(
    tmp_path_factory: pytest.TempPathFactory, redis_db: int, pg_database_factory: Callable[[], str]
) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("distributed")
    settings, env = make_stack(
        data_dir,
        database_url=pg_database_factory(),
        broker_url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
    )
    yield from running_stack(settings, env, data_dir)


# -- in-process fixtures for unit tests of the lease, the sweeper and the runners -------------


@dataclass
class Recorded:
    """A Runtime whose `publish` only records (task, job id, queue)."""

    rt: Runtime
    sent: list[tuple[str, int, str]]


@pytest.fixture(scope="session")
def catalog_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("worker-template") / "albumbot.sqlite3"
    upgrade(Settings(data_dir=path.parent, database_url=f"sqlite:///{path}"))
    return path


@pytest.fixture
def recorded(tmp_path: Path, catalog_template: Path) -> Iterator[Recorded]:
    db = tmp_path / "albumbot.sqlite3"
    shutil.copy(catalog_template, db)
    settings = Settings(
        data_dir=tmp_path,
        database_url=f"sqlite:///{db}",
        heartbeat_interval_s=0.05,
        job_stale_after_s=1.0,
        sweep_interval_s=1.0,
        republish_after_s=60.0,
        max_attempts=3,
        train_segment_epochs=0,  # execute() runs a whole run: no broker here to chain segments
    )
    sent: list[tuple[str, int, str]] = []
    rt = Runtime.create(settings, lambda task, job_id, queue: sent.append((task, job_id, queue)))
    try:
        yield Recorded(rt, sent)
    finally:
        rt.close()
