"""Alembic on both databases: one head, up/down/up keeps data, models match the migrated DDL."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from app.catalog import Base
from app.contract.payloads import RunPayload
from app.db import engine_for_url
from app.migrate import alembic_config, downgrade, upgrade
from app.settings import Settings


@pytest.fixture(params=["sqlite", "postgres"])
def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    factory: Callable[[], str] = request.getfixturevalue("pg_database_factory")
    return factory()


def test_single_head() -> None:
    assert len(ScriptDirectory.from_config(alembic_config()).get_heads()) == 1


def test_up_down_up_keeps_seeded_rows_and_matches_models(empty_url: str, tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url=empty_url)
    upgrade(settings)
    downgrade(settings, "base")
    engine = engine_for_url(empty_url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(settings)

    engine = engine_for_url(empty_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO projects (name, artist, description, created_at, updated_at) "
            "VALUES ('a', 'b', '', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ))
    with engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    engine.dispose()
    assert diffs == []

    upgrade(settings)  # already at head: a rerun is a no-op
    engine = engine_for_url(empty_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM projects")).scalar() == 1
    engine.dispose()


def test_0002_versions_payloads_and_moves_hand_backs_to_their_column(
    empty_url: str, tmp_path: Path
) -> None:
    settings = Settings(data_dir=tmp_path, database_url=empty_url)
    upgrade(settings, "0001")
    engine = engine_for_url(empty_url)
    with engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO jobs (kind, task, queue, status, progress, message, attempt, "
            "cancel_requested, payload, created_at, updated_at) VALUES ('run', 'run-training', "
            "'gpu', 'queued', 0, '', 1, false, :payload, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
        ), {"payload": '{"run_id": 7, "handed_back": 2}'})
    engine.dispose()

    upgrade(settings)
    engine = engine_for_url(empty_url)
    with engine.connect() as conn:
        payload, handbacks = conn.execute(text("SELECT payload, handbacks FROM jobs")).one()
    engine.dispose()
    stored = payload if isinstance(payload, dict) else json.loads(payload)
    assert (stored, handbacks) == ({"run_id": 7, "v": 1}, 2)
    assert RunPayload.from_dict(stored) == RunPayload(run_id=7)

    downgrade(settings, "0001")
    engine = engine_for_url(empty_url)
    with engine.connect() as conn:
        payload = conn.execute(text("SELECT payload FROM jobs")).scalar_one()
    engine.dispose()
    stored = payload if isinstance(payload, dict) else json.loads(payload)
    assert stored == {"run_id": 7, "handed_back": 2}
