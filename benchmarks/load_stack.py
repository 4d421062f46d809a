"""The studio benchmarks/load.py measures: a throwaway data dir, a catalog (SQLite, or a fresh
PostgreSQL database), a broker (the embedded filesystem one, or a free Redis DB number), the web
app as its own `albumbot web` process (uvicorn on a loopback port) and two single-process
workers, one per queue, as `albumbot up` runs them. Everything it made is removed on exit.

Workers use the production lease timing (heartbeat 1 s) and one torch thread each, so on two
cores training has one and the web app, the client and the cpu worker share the other.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx

from app.migrate import upgrade
from app.settings import Settings
from tests.conftest import create_pg_database, drop_pg_databases
from tests.worker.conftest import REDIS_HOST, REDIS_PORT, claim_redis_db
from tests.worker.harness import ROOT, WorkerProcess, wait_for
from tests.worker.own_servers import free_port

THREADS = {"OMP_NUM_THREADS": "1", "ALBUMBOT_TRAIN_THREADS": "1",
           "ALBUMBOT_GENERATE_THREADS": "1"}


class WebProcess:
    """`python -m app.cli web --no-migrate` on a free loopback port, in its own session."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env, self.log_path, self.port = env, log, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> WebProcess:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "web", "--no-migrate", "--port", str(self.port)],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_for(self._ready, timeout, interval=0.2, what="the web app")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise RuntimeError(f"the web app exited:\n{self.log_path.read_text()[-3000:]}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


class Studio:
    """Context manager: the running stack. `workers=False` starts the web app only."""

    def __init__(self, db: str, *, workers: bool = True) -> None:
        self.db, self.with_workers = db, workers
        self.broker = "redis" if db == "postgres" else "filesystem"
        self._exit = ExitStack()
        self.data_dir = Path(tempfile.mkdtemp(prefix="albumbot-load-"))
        self._exit.callback(shutil.rmtree, self.data_dir, ignore_errors=True)
        self.settings = Settings(data_dir=self.data_dir)
        self.workers: dict[str, WorkerProcess] = {}

    def __enter__(self) -> Studio:
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self._exit.close()

    def pids(self) -> dict[str, int]:
        """The main process of each role (a worker's pool children are its own)."""
        out = {"web": self.web.pid}
        out |= {f"worker_{queue}": worker.pid for queue, worker in self.workers.items()}
        return out

    def _start(self) -> None:
        values: dict[str, Any] = {"data_dir": self.data_dir}
        if self.db == "postgres":
            name, url = create_pg_database("albumbot_load")
            self._exit.callback(drop_pg_databases, [name])
            redis = claim_redis_db()
            if redis is None:
                raise RuntimeError("no free Redis DB number (all of 1..15 hold keys)")
            self._exit.callback(redis.flushdb)
            db_number = redis.connection_pool.connection_kwargs["db"]
            values |= {"database_url": url,
                       "broker_url": f"redis://{REDIS_HOST}:{REDIS_PORT}/{db_number}"}
        self.settings = Settings(**values)
        upgrade(self.settings)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ALBUMBOT_")}
        env |= THREADS | {"ALBUMBOT_DATA_DIR": str(self.data_dir),
                          "ALBUMBOT_DATABASE_URL": self.settings.database_url}
        if self.settings.broker_url:
            env["ALBUMBOT_BROKER_URL"] = self.settings.broker_url
        self.web = WebProcess(env, self.data_dir / "web.log")
        self._exit.callback(self.web.stop)
        self.web.start()
        if not self.with_workers:
            return
        for queue in ("gpu", "cpu"):
            worker = WorkerProcess(env, self.data_dir / f"worker-{queue}.log",
                                   name=f"load-{queue}@%h", queues=queue)
            self._exit.callback(worker.stop)
            self.workers[queue] = worker.start(timeout=120)
