"""Opaque cursors for keyset pagination.

A cursor remembers the sort it belongs to and the last row's (key, id); the next page starts
strictly after that pair, so pages never skip or repeat rows when clips are added meanwhile, and
the database walks an index instead of counting an OFFSET.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from app.services.errors import InvalidInput

CursorKey = int | float | str | None


@dataclass(frozen=True)
class Cursor:
    sort: str
    key: CursorKey
    id: int


def encode_cursor(cursor: Cursor) -> str:
    raw = json.dumps([cursor.sort, cursor.key, cursor.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(text: str, *, sort: str) -> Cursor:
    """Parse a cursor made by `encode_cursor` for the same `sort`; InvalidInput otherwise."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        data: Any = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput("cursor is not valid; use next_cursor from the previous page") from None
    if (
        not isinstance(data, list)
        or len(data) != 3
        or not isinstance(data[2], int)
        or not isinstance(data[1], int | float | str | type(None))
    ):
        raise InvalidInput("cursor is not valid; use next_cursor from the previous page")
    if data[0] != sort:
        raise InvalidInput(f"cursor was made for sort={data[0]!r}, not sort={sort!r}")
    return Cursor(sort=data[0], key=data[1], id=data[2])
