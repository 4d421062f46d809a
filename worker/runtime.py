"""What one worker process owns: settings, its catalog engine and sessions, media storage, and
how to publish a job's message.

Built once per process. A prefork pool child must not use the pooled connections it inherited
from its parent (SQLAlchemy "Using Connection Pools with Multiprocessing or os.fork()"): the
`worker_process_init` hook in worker/celery_app.py disposes the inherited engine with
`close=False` (leaving the parent's sockets alone) and builds a fresh Runtime for the child.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

from app.db import is_unreachable, make_engine, read_only_engine, session_factory, session_scope
from app.settings import Settings
from app.storage import Storage

DB_RETRY_S = 0.25  # between two tries to reach the catalog during an outage
Publish = Callable[[str, int, str], None]  # (task name, job id, queue)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_sessions: sessionmaker[Session]
    storage: Storage
    publish: Publish
    # Set when this process is asked to shut down: a running job stops between steps and hands
    # itself back to the queue (see worker/lease.py).
    shutdown: threading.Event = field(default_factory=threading.Event)
    pool_child: bool = False  # a prefork pool process (jobs run on its main thread)

    @classmethod
    def create(cls, settings: Settings, publish: Publish) -> Runtime:
        engine = make_engine(settings)
        storage = Storage(settings.media_dir)
        storage.ensure()
        return cls(
            settings=settings,
            engine=engine,
            sessions=session_factory(engine),
            read_sessions=session_factory(read_only_engine(engine)),
            storage=storage,
            publish=publish,
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One short write unit of work (commit on success). Never hold it across slow work."""
        with session_scope(self.sessions) as session:
            self._connect(session)
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A session that only reads (no write lock on SQLite)."""
        with self.read_sessions() as session:
            self._connect(session)
            yield session

    def _connect(self, session: Session) -> None:
        """Ride out a short PostgreSQL outage (a restart, a failover) before the unit of work
        starts: retry getting a connection for up to half the lease's stale time, the window in
        which the heartbeat still holds the job (worker/lease.py), then raise. An outage in the
        middle of a unit of work is not retried: it rolls back and the attempt ends."""
        if self.engine.dialect.name != "postgresql":
            return
        deadline = time.monotonic() + self.settings.job_stale_after_s / 2
        while True:
            try:
                session.connection()
                return
            except DBAPIError as exc:
                if not is_unreachable(exc) or time.monotonic() > deadline:
                    raise
                session.rollback()
                time.sleep(DB_RETRY_S)

    @contextmanager
    def job_running(self) -> Iterator[None]:
        """While a job runs in a pool child, SIGTERM means "stop between two steps", not "die".

        The worker's main process forwards its warm shutdown to busy children this way
        (worker/celery_app.py). Installed per job because billiard resets SIGTERM after the
        child's initializer; an idle child keeps billiard's own handler and exits.
        """
        previous = None
        if self.pool_child and threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, lambda _sig, _frame: self.shutdown.set())
        try:
            yield
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)

    def forget_inherited_connections(self) -> None:
        """In a forked child: drop the parent's pooled connections without closing them."""
        self.engine.dispose(close=False)

    def close(self) -> None:
        self.engine.dispose()


def owner_name(node: str, pid: int | None = None) -> str:
    """The lease owner written on a job: the Celery node name and the process id."""
    return f"{node}/{pid if pid is not None else os.getpid()}"


def dead_local_owner(owner: str | None, node: str) -> bool:
    """True when `owner` is a process of this very node (same Celery node name, so the same
    host and pid namespace) and that process no longer exists.

    Such a lease is known dead at once, without waiting for its heartbeat to go stale: a pool
    child killed by the OOM killer, or a whole worker that was SIGKILLed and restarted under
    the same node name. Celery node names are unique within a cluster (it warns otherwise).
    """
    if not owner or "/" not in owner:
        return False
    owner_node, _, pid_text = owner.rpartition("/")
    if owner_node != node or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return is_zombie(pid)


def is_zombie(pid: int) -> bool:
    # A killed pool child stays a zombie until the pool reaps it; it holds no lease any more.
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] == "Z"
    except OSError:
        return False
