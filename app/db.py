"""Engines and sessions for the catalog.

SQLite (the embedded default) is made safe for several processes writing at once (web + worker):
WAL so readers never block writers, a busy timeout so writers wait instead of failing, foreign keys
on, and `BEGIN IMMEDIATE` for write transactions. Python's sqlite3 otherwise begins lazily, and a
read-then-write transaction that upgrades its lock fails at once with SQLITE_BUSY_SNAPSHOT whatever
the busy timeout (RELIABILITY 34-36). PostgreSQL gets `pool_pre_ping` to survive server restarts,
and a connect timeout so that an unreachable server fails a request (503, app/api/problems.py)
instead of hanging it (RELIABILITY 41).

Consequence for every caller: on SQLite a transaction of a normal session holds the database's
write lock from its first statement, reads included, until commit/rollback/close. Keep units of
work short (`session_scope`), never keep a session open across slow work (decoding, training,
generating), and read through `read_only_engine` sessions where nothing is written.
After a fork, call `engine.dispose(close=False)` in the child before using the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from app.settings import Settings

SQLITE_BUSY_TIMEOUT_MS = 10_000
# Seconds to wait for a PostgreSQL connection (TCP + startup) before giving up; libpq's default
# is to wait forever on a host that does not answer. A `connect_timeout` in the URL wins.
PG_CONNECT_TIMEOUT_S = 5
# Execution option that marks an engine's transactions as read-only (see read_only_engine).
_READ_ONLY = "albumbot_read_only"


def make_engine(settings: Settings, **kwargs: Any) -> Engine:
    return engine_for_url(settings.database_url, **kwargs)


def engine_for_url(url: str, **kwargs: Any) -> Engine:
    """An engine for `url` with this project's per-connection setup."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        connect_args = {"check_same_thread": False, **kwargs.pop("connect_args", {})}
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        event.listen(engine, "connect", _sqlite_on_connect)
        event.listen(engine, "begin", _sqlite_on_begin)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")  # psycopg 3, not psycopg2
    connect_args = dict(kwargs.pop("connect_args", {}))
    if "connect_timeout" not in parsed.query:
        connect_args.setdefault("connect_timeout", PG_CONNECT_TIMEOUT_S)
    return create_engine(parsed, pool_pre_ping=True, connect_args=connect_args, **kwargs)


def is_unreachable(exc: BaseException) -> bool:
    """True for the errors of a catalog that went away (server restarting, network cut, pool
    exhausted while it was gone), as opposed to a bad statement or a broken constraint."""
    if isinstance(exc, DisconnectionError | PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        orig = type(exc.orig).__module__ if exc.orig is not None else ""
        # psycopg's OperationalError/InterfaceError: connection refused, closed, timed out.
        # (SQLite's OperationalError, e.g. "database is locked", is not an outage.)
        name = type(exc.orig).__name__ if exc.orig is not None else ""
        return orig.startswith("psycopg") and name in ("OperationalError", "InterfaceError")
    return False


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take transaction control away from sqlite3 so _sqlite_on_begin decides how to BEGIN.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL makes NORMAL durable against application crashes; only power loss may lose the
        # last transactions, never corrupt the file.
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    # Read-only sessions take no lock (WAL readers see a snapshot); everything else takes the
    # write lock up front, where busy_timeout applies.
    if conn.get_execution_options().get(_READ_ONLY):
        conn.exec_driver_sql("BEGIN")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def read_only_engine(engine: Engine) -> Engine:
    """The same pool, with transactions that only read (deferred BEGIN / READ ONLY)."""
    if engine.dialect.name == "postgresql":
        return engine.execution_options(**{_READ_ONLY: True}, postgresql_readonly=True)
    return engine.execution_options(**{_READ_ONLY: True})


def session_factory(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: services return ORM objects that routes serialize after commit.
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One short unit of work: commit on success, roll back on error, always close."""
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
