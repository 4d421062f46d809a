"""Search in the curator's words: clips by tag and by text in their notes, as SQL conditions
that SQLite and PostgreSQL evaluate alike.

Tags are stored as a JSON list (a TEXT column on SQLite, `json` on PostgreSQL, both holding the
text SQLAlchemy wrote with `json.dumps`). A tag is found by looking for its own JSON encoding,
quotes included, in that text: `"drone"` matches the tag `drone` and never `drones` or a note.
Both searches ignore ASCII case (ILIKE on PostgreSQL, lower() LIKE lower() on SQLite).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import ColumnElement, Text, cast

from app.catalog import Clip

ESCAPE = "\\"


def like_literal(text: str) -> str:
    """`text` with LIKE's wildcards (and the escape character) escaped."""
    return text.replace(ESCAPE, ESCAPE * 2).replace("%", ESCAPE + "%").replace("_", ESCAPE + "_")


def tag_condition(tag: str) -> ColumnElement[bool]:
    """Clips whose tags include `tag` (whole tag, ASCII case ignored)."""
    needle = like_literal(json.dumps(tag.strip()))
    return cast(Clip.tags, Text).ilike(f"%{needle}%", escape=ESCAPE)


def text_condition(text: str) -> ColumnElement[bool]:
    """Clips whose notes contain `text` (ASCII case ignored)."""
    return Clip.notes.ilike(f"%{like_literal(text)}%", escape=ESCAPE)


def search_conditions(
    *, tags: Sequence[str] = (), text: str | None = None
) -> list[ColumnElement[bool]]:
    """Every tag of `tags` (all of them), and `text` in the notes; blank values are ignored."""
    out = [tag_condition(t) for t in tags if t.strip()]
    if text is not None and text.strip():
        out.append(text_condition(text.strip()))
    return out
