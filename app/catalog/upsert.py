"""Insert-or-ignore on a natural key, for outputs a redelivered task may produce twice.

A clip is unique per (checkpoint_id, index), a checkpoint per (run_id, epoch). A worker that
inserts through `insert_ignore` gets no error and no duplicate when another copy of its task (or
its own earlier attempt) already inserted the row: the unique constraint is the last guard
(RELIABILITY 37), and this makes hitting it a no-op on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from app.catalog.base import Base


def insert_ignore(
    session: Session,
    model: type[Base],
    values: Mapping[str, Any],
    *,
    key: Sequence[str],
) -> int | None:
    """Insert one row unless a row with the same `key` columns exists; no commit.

    Returns the new row's id, or None when the row already existed. Column defaults declared in
    Python (timestamps, empty JSON) are applied as for ORM inserts.
    """
    dialect = session.get_bind().dialect.name
    table = cast(Table, model.__table__)
    stmt: sqlite.Insert | postgresql.Insert
    if dialect == "sqlite":
        stmt = sqlite.insert(table)
    elif dialect == "postgresql":
        stmt = postgresql.insert(table)
    else:
        raise NotImplementedError(f"insert_ignore does not support {dialect}")
    query = stmt.values(**values).on_conflict_do_nothing(index_elements=list(key))
    return session.execute(query.returning(table.c.id)).scalar_one_or_none()
