"""FastAPI dependencies as `Annotated` aliases. Everything comes from `app.state`, which
`create_app(settings)` fills, so tests build an app per settings object."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from app import auth
from app.api.rate_limits import RateLimit
from app.queue import TaskQueue
from app.settings import Settings
from app.storage import Storage


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed (rolled back if uncommitted) when the request ends."""
    with request.app.state.session_factory() as session:
        yield session


def get_read_session(request: Request) -> Iterator[Session]:
    """A session whose transactions only read: on SQLite they take no write lock."""
    with request.app.state.read_session_factory() as session:
        yield session


def get_storage(request: Request) -> Storage:
    storage: Storage = request.app.state.storage
    return storage


def get_queue(request: Request) -> TaskQueue:
    queue: TaskQueue = request.app.state.queue
    return queue


SettingsDep = Annotated[Settings, Depends(get_settings)]
# Catalog ids are 32-bit on PostgreSQL (INTEGER keys): larger numbers are refused with a 422 that
# says so, instead of reaching the database driver (an OverflowError, a 500).
MAX_ID = 2**31 - 1
ResourceId = Annotated[int, Path(ge=0, le=MAX_ID, description="a catalog id", examples=[1])]
# scope="function": the session closes when the handler returns, before the response is sent,
# so no transaction (on SQLite: no lock, no WAL snapshot) lives on while a body streams out.
# Handlers therefore build their response models before returning.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
ReadSessionDep = Annotated[Session, Depends(get_read_session, scope="function")]
StorageDep = Annotated[Storage, Depends(get_storage)]
QueueDep = Annotated[TaskQueue, Depends(get_queue)]
# Visible ASCII, spaces only inside, at most 200 (app.services.jobs.MAX_IDEMPOTENCY_KEY): the
# schema says what the service accepts, so a key the schema admits is never refused later.
IDEMPOTENCY_KEY_PATTERN = r"^[!-~]([ -~]{0,198}[!-~])?$"
# Route dependencies: the rate-limit buckets of job-starting POSTs and of uploads.
LIMIT_JOBS = Depends(RateLimit("jobs"))
LIMIT_UPLOADS = Depends(RateLimit("uploads"))
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="repeat a POST with the same key to get the same job instead of a second one",
        pattern=IDEMPOTENCY_KEY_PATTERN,
    ),
]

# A page cursor is a token the server issued (app/pagination.py: unpadded URL-safe base64); the
# schema narrows it to that alphabet, and one that does not decode is a 422 that says so.
CursorQuery = Annotated[
    str | None,
    Query(
        pattern=r"^[A-Za-z0-9_-]+$",
        max_length=2048,
        description="next_cursor of the previous page (same sort and filters)",
    ),
]

bearer = HTTPBearer(auto_error=False, description="the value of ALBUMBOT_API_TOKEN")


async def require_token(
    request: Request,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Programs: the bearer token. Browsers: the curator's session cookie plus CSRF proof on
    changes (app/auth.py). Otherwise 401 with `WWW-Authenticate: Bearer`."""
    expected = settings.api_token
    if expected is None:
        return
    if credentials is None and auth.has_session(request, expected):
        await auth.check_csrf(request, expected)
        return
    given = credentials.credentials if credentials is not None else ""
    if not auth.same(given, expected):
        raise HTTPException(
            status_code=401,
            detail="missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
