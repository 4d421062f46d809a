"""The one-line disk figure of the run and project pages (app/services/usage.py measures)."""

from __future__ import annotations

from fastapi import Request

from app.services.usage import Usage
from app.storage import Storage


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"  # pragma: no cover - the loop returns at GB


def disk_line(usage: Usage) -> str:
    """'checkpoints 1.7 GB · clips 30.2 MB · … · 1.8 GB on disk', non-empty categories only."""
    parts = [f"{k} {human_bytes(v)}" for k, v in usage.bytes.items() if v]
    return " · ".join([*parts, f"{human_bytes(usage.disk_bytes)} on disk"])


def storage_of(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage
