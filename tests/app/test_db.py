"""SQLite setup for several processes (RELIABILITY 34-36) and the session per request (39)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text

from app.catalog import Project
from app.db import engine_for_url, read_only_engine, session_factory
from tests.app.conftest import sqlite_copy


def test_every_pooled_sqlite_connection_has_the_pragmas(sqlite_template: Path, tmp_path: Path) -> None:
    engine = engine_for_url(sqlite_copy(sqlite_template, tmp_path), pool_size=3)
    # Three pooled DBAPI connections at once (raw: SQLAlchemy would BEGIN IMMEDIATE on each).
    conns = [engine.raw_connection() for _ in range(3)]
    try:
        for conn in conns:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000
            assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    finally:
        for conn in conns:
            conn.close()
        engine.dispose()


def test_write_transactions_begin_immediate(sqlite_template: Path, tmp_path: Path) -> None:
    url = sqlite_copy(sqlite_template, tmp_path)
    engine = engine_for_url(url)
    reader = read_only_engine(engine)
    other = engine_for_url(url)
    try:
        with engine.connect() as writer:
            writer.execute(select(1))  # BEGIN IMMEDIATE: holds the write lock from here on
            with other.connect() as conn:
                # On the raw connection: through SQLAlchemy it would BEGIN (and wait) first.
                conn.connection.driver_connection.execute("PRAGMA busy_timeout=0")  # type: ignore[union-attr]
                with pytest.raises(Exception, match="locked"):
                    conn.execute(select(1))
            with reader.connect() as r:  # a read-only transaction is not blocked (WAL)
                assert r.execute(select(func.count()).select_from(Project)).scalar() == 0
    finally:
        other.dispose()
        engine.dispose()


def _insert_projects(url: str, worker: int, n: int) -> int:
    engine = engine_for_url(url)
    factory = session_factory(engine)
    try:
        for i in range(n):
            with factory() as session:
                session.add(Project(name=f"w{worker}-{i}", artist="a"))
                session.commit()
    finally:
        engine.dispose()
    return n


def _increment(url: str, n: int) -> None:
    # Read-modify-write in Python: exact only because the transaction begins IMMEDIATE.
    engine = engine_for_url(url)
    factory = session_factory(engine)
    try:
        for _ in range(n):
            with factory() as session:
                project = session.get(Project, 1)
                assert project is not None
                project.description = str(int(project.description or "0") + 1)
                session.commit()
    finally:
        engine.dispose()


def test_four_processes_write_without_database_is_locked(sqlite_template: Path, tmp_path: Path) -> None:
    url = sqlite_copy(sqlite_template, tmp_path)
    ctx = multiprocessing.get_context("spawn")  # no pooled connection crosses a fork
    with ctx.Pool(4) as pool:
        done = pool.starmap(_insert_projects, [(url, w, 100) for w in range(4)])
    assert sum(done) == 400
    engine = engine_for_url(url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Project)).scalar() == 400
    engine.dispose()


def test_read_modify_write_from_processes_is_exact(sqlite_template: Path, tmp_path: Path) -> None:
    url = sqlite_copy(sqlite_template, tmp_path)
    engine = engine_for_url(url)
    with session_factory(engine)() as session:
        session.add(Project(name="counter", artist="a", description="0"))
        session.commit()
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        pool.starmap(_increment, [(url, 50)] * 4)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT description FROM projects WHERE id = 1")).scalar() == "200"
    engine.dispose()


def test_postgres_read_only_sessions_refuse_writes(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite read-only sessions are a locking mode, not an enforced one")
    with session_factory(read_only_engine(engine))() as session:
        session.add(Project(name="x", artist="y"))
        with pytest.raises(Exception, match="read-only"):
            session.commit()
