"""The web application: `create_app(settings)` builds it; nothing here reads the environment.

`app.main` must stay importable without torch or worker code (tests/app/test_imports.py).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI

from app.api import accepted, api_router, health, problems, rate_limits
from app.api.deps import require_token
from app.api.urls import API_PREFIX
from app.body_limit import RequestBodyLimit
from app.body_timeout import BodyReadTimeout
from app.db import make_engine, read_only_engine, session_factory
from app.queue import CeleryQueue, TaskQueue
from app.rate_limit import make_limiter
from app.schemas.common import Problem
from app.settings import Settings
from app.storage import Storage
from app.web import install as install_pages

# Routes whose bodies are uploads: they get the large limit, every other body the small one.
UPLOAD_PATHS = (
    rf"{API_PREFIX}/projects/[^/]+/sources", rf"{API_PREFIX}/projects/[^/]+/images",
    rf"{API_PREFIX}/projects/[^/]+/checkpoints/import", rf"{API_PREFIX}/projects/import",
)


# Every operation's errors, documented once: RFC 9457 problems for any status not listed.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    "default": {
        "description": "an error, as an RFC 9457 problem (detail says what was wrong)",
        "model": Problem,
        "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
        },
    }
}


def create_app(settings: Settings, *, queue: TaskQueue | None = None) -> FastAPI:
    """The FastAPI app for `settings`. `queue` replaces the Celery publisher (tests).

    The schema must already be migrated (`app.migrate.upgrade(settings)`).
    """
    engine = make_engine(settings)
    storage = Storage(settings.media_dir)
    storage.ensure()
    publisher = queue if queue is not None else CeleryQueue(settings)
    limiter = make_limiter(settings.broker_url) if settings.rate_limit_enabled else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if isinstance(publisher, CeleryQueue):
            publisher.close()
        if limiter is not None:
            limiter.close()
        engine.dispose()

    app = FastAPI(
        title="albumbot",
        version="1",
        summary="Train SampleRNN on an album, curate its clips into new albums.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory(engine)
    app.state.read_session_factory = session_factory(read_only_engine(engine))
    app.state.storage = storage
    app.state.queue = publisher
    app.state.rate_limiter = limiter
    app.state.rate_limit_policies = rate_limits.policies(settings)

    auth = [Depends(require_token)] if settings.api_token else []
    app.include_router(
        api_router(), prefix=API_PREFIX, dependencies=auth, responses=ERROR_RESPONSES
    )
    app.include_router(health.router, include_in_schema=False)  # open /healthz for orchestrators
    install_pages(app)  # the studio's HTML pages and /static (open like /healthz; see app/web)
    problems.install(app)
    accepted.document(app)
    rate_limits.document(app)
    app.add_middleware(accepted.RetryAfterOnAccepted)
    app.add_middleware(
        RequestBodyLimit,
        default_limit=settings.max_body_bytes,
        upload_limit=settings.max_request_bytes,
        upload_paths=UPLOAD_PATHS,
    )
    app.add_middleware(  # outermost: the deadline covers every reader of the body
        BodyReadTimeout,
        idle_s=settings.body_idle_timeout_s,
        grace_s=settings.body_grace_s,
        min_rate_bps=settings.body_min_rate_bps,
    )
    return app
