"""Fixtures shared by every test package: throwaway PostgreSQL databases.

Tests that need PostgreSQL (127.0.0.1:5432, trust auth, user postgres; override with
ALBUMBOT_TEST_PG_ADMIN) create their own uniquely named databases through `pg_database_factory`
and they are dropped at the end of the session. Without a reachable server those tests skip and
say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

PG_ADMIN = os.environ.get("ALBUMBOT_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")


def _pg_unreachable_reason() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "no server to test against"
        return f"PostgreSQL not reachable at {PG_ADMIN}: {exc}"
    return None


def create_pg_database(prefix: str = "albumbot_test") -> tuple[str, str]:
    """A new empty database on the PG_ADMIN server: (its name, its SQLAlchemy URL)."""
    import psycopg

    name = f"{prefix}_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    return name, f"{base}/{name}"


def drop_pg_databases(names: list[str]) -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_database_factory() -> Iterator[Callable[[], str]]:
    """Call it to get the SQLAlchemy URL of a new empty database (dropped after the session)."""
    reason = _pg_unreachable_reason()
    if reason:
        pytest.skip(reason)
    created: list[str] = []

    def create() -> str:
        name, url = create_pg_database()
        created.append(name)
        return url

    yield create
    drop_pg_databases(created)
