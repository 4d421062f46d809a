"""Insert-or-ignore on a natural key, for outputs a redelivered task may produce twice.

A clip is unique per (checkpoint_id, index), a checkpoint per (run_id, epoch). A worker that
inserts through `insert_ignore` gets no error and no duplicate when another copy of its task (or
its own earlier attempt) already inserted the row: the unique constraint is the last guard
(RELIABILITY 37), and this makes hitting it a no-op on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
    insert = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(dialect)
    if insert is None:
        raise NotImplementedError(f"insert_ignore does not support {dialect}")
    table = model.__table__
    stmt = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(key))
        .returning(table.c.id)
    )
    return session.execute(stmt).scalar_one_or_none()
