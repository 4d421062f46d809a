"""Bring the catalog schema to a revision with Alembic, from code (CLI, `albumbot up`, tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

from app.db import make_engine
from app.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def alembic_config() -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    _run(settings, lambda cfg: command.upgrade(cfg, revision))


def downgrade(settings: Settings, revision: str) -> None:
    _run(settings, lambda cfg: command.downgrade(cfg, revision))


def upgrade_engine(engine: Engine, revision: str = "head") -> None:
    """Upgrade through an existing engine (keeps its per-connection setup)."""
    cfg = alembic_config()
    with engine.connect() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()


def _run(settings: Settings, action: Callable[[Config], None]) -> None:
    engine = make_engine(settings)
    try:
        cfg = alembic_config()
        with engine.connect() as conn:
            cfg.attributes["connection"] = conn
            action(cfg)
            conn.commit()
    finally:
        engine.dispose()
