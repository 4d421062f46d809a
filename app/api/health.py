"""Liveness and readiness: the process answers and the catalog database is reachable."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import text

from app.api.deps import ReadSessionDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz(session: ReadSessionDep) -> dict[str, str]:
    session.execute(text("SELECT 1"))  # OperationalError -> 503 problem
    return {"status": "ok", "database": "ok"}
