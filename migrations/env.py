"""Alembic environment: metadata from app.catalog, database from the app's settings.

Where the connection comes from, first match wins:
1. `config.attributes["connection"]`: app.migrate passes a connection of its own engine;
2. `-x url=...` on the alembic command line;
3. `sqlalchemy.url` set on the Config;
4. Settings from the environment (ALBUMBOT_DATABASE_URL / ALBUMBOT_DATA_DIR).
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy.engine import Connection

from app.catalog import Base
from app.db import engine_for_url

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if url:
        return url
    from app.settings import get_settings  # an entry point: the alembic command line

    return get_settings().database_url


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )


def _migrate(connection: Connection) -> None:
    sqlite = connection.dialect.name == "sqlite"
    raw: Any = connection.connection.driver_connection if sqlite else None
    if sqlite:
        # Batch mode drops and recreates tables; with foreign keys on, dropping a parent table
        # would cascade-delete its children. The pragma is a no-op inside a transaction, so set it
        # on the raw connection before SQLAlchemy begins one.
        raw.execute("PRAGMA foreign_keys=OFF")
    try:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
        if sqlite:
            problems = raw.execute("PRAGMA foreign_key_check").fetchall()
            if problems:
                raise RuntimeError(f"migration broke foreign keys: {problems[:5]}")
    finally:
        if sqlite:
            raw.execute("PRAGMA foreign_keys=ON")


def run_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=_url().startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    engine = engine_for_url(_url())
    try:
        with engine.connect() as conn:
            _migrate(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
