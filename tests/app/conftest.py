"""Fixtures for app tests: migrated catalogs (SQLite file or PostgreSQL), settings, API client."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from app.catalog import Base
from app.db import engine_for_url, session_factory
from app.main import create_app
from app.migrate import upgrade
from app.queue import RecordingQueue
from app.settings import Settings


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite catalog migrated once; tests copy it (migrating per test would dominate)."""
    path = tmp_path_factory.mktemp("template") / "catalog.sqlite3"
    upgrade(Settings(data_dir=path.parent, database_url=f"sqlite:///{path}"))
    return path


@pytest.fixture(scope="session")
def pg_migrated_url(pg_database_factory: Callable[[], str]) -> str:
    url = pg_database_factory()
    upgrade(Settings(database_url=url))
    return url


def sqlite_copy(template: Path, directory: Path) -> str:
    directory.mkdir(parents=True, exist_ok=True)
    dest = directory / "albumbot.sqlite3"
    shutil.copy(template, dest)
    return f"sqlite:///{dest}"


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, sqlite_template: Path, tmp_path: Path) -> str:
    """A migrated, empty catalog on each database."""
    if request.param == "sqlite":
        return sqlite_copy(sqlite_template, tmp_path / "db")
    url: str = request.getfixturevalue("pg_migrated_url")
    engine = engine_for_url(url)
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = engine_for_url(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with session_factory(engine)() as session:
        yield session


@pytest.fixture
def make_settings(sqlite_template: Path, tmp_path: Path) -> Callable[..., Settings]:
    """Settings on a fresh data dir with a migrated SQLite catalog; keyword overrides."""

    def make(**overrides: Any) -> Settings:
        data_dir = tmp_path / "data"
        values: dict[str, Any] = {
            "data_dir": data_dir,
            "database_url": sqlite_copy(sqlite_template, data_dir),
            "sse_poll_s": 0.05,
            # TestClient's client ("testclient") is not loopback, so job POSTs would be rate
            # limited; tests/app/test_rate_limit.py tests the limits with them on.
            "rate_limit_enabled": False,
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def queue() -> RecordingQueue:
    return RecordingQueue()


@pytest.fixture
def client(settings: Settings, queue: RecordingQueue) -> Iterator[TestClient]:
    with TestClient(create_app(settings, queue=queue)) as c:
        yield c


@pytest.fixture
def app_session(client: TestClient) -> Iterator[Session]:
    """A session on the client's own catalog, for arranging and checking rows directly."""
    with client.app.state.session_factory() as s:  # type: ignore[attr-defined]
        yield s
