"""Every error as RFC 9457 `application/problem+json`: domain errors, HTTP errors (404/405 from
routing included), request validation (422) and unexpected exceptions (500, no traceback)."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from app.api.allow import allowed_methods
from app.services.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    TooLarge,
    UnsupportedMedia,
)
from app.storage import storage_failure

logger = logging.getLogger(__name__)
RETRY_AFTER_DB_S = 5  # a PostgreSQL restart or failover usually takes a few seconds
PROBLEM_JSON = "application/problem+json"
# OpenAPI `responses` of a route: status -> description and content.
Responses = dict[int | str, dict[str, Any]]
PROBLEM: dict[str, Any] = {"content": {PROBLEM_JSON: {}}}  # a documented problem+json answer
STATUS_OF: dict[type[DomainError], int] = {
    NotFound: 404,
    Conflict: 409,
    InvalidInput: 422,
    UnsupportedMedia: 415,
    TooLarge: 413,
}


def problem(
    status: int,
    detail: str | None = None,
    *,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": HTTPStatus(status).phrase}
    body["status"] = status
    if detail:
        body["detail"] = detail
    body.update(jsonable_encoder({k: v for k, v in extra.items() if v is not None}))
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def _status_of(exc: DomainError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS_OF:
            return STATUS_OF[cls]
    return 400


async def on_domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    status = _status_of(exc)
    # After a 413 the rest of the body is still on its way; closing the connection stops it
    # instead of letting the server read (and discard) all of it.
    headers = {"Connection": "close"} if status == 413 else None
    return problem(status, exc.message, headers=headers, **exc.detail)


async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    headers = dict(exc.headers) if exc.headers is not None else None
    if exc.status_code == 405:  # Allow lists every route of the path (app/api/allow.py)
        allow = allowed_methods(request)
        if allow:
            headers = {**(headers or {}), "Allow": allow}
    return problem(exc.status_code, str(exc.detail), headers=headers)


async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    summary = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors[:5])
    return problem(422, f"invalid request: {summary}", errors=errors)


async def on_database_down(request: Request, exc: Exception) -> JSONResponse:
    # One line, no traceback: an outage is expected, and the pool (pre-ping) recovers by itself.
    logger.error("catalog unavailable on %s %s: %s", request.method, request.url.path,
                 str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
    return problem(503, "the catalog database is unavailable; try again shortly",
                   headers={"Retry-After": str(RETRY_AFTER_DB_S)})


async def on_storage_error(request: Request, exc: Exception) -> JSONResponse:
    reason = storage_failure(exc)
    if reason is None:
        return await on_unexpected(request, exc)
    logger.error("media storage refused a write on %s %s: %s",
                 request.method, request.url.path, exc)
    return problem(507, reason)


async def on_out_of_range(request: Request, exc: Exception) -> JSONResponse:
    # A number the database cannot store (an id past 2**31 on PostgreSQL, 2**63 on SQLite) that
    # no schema bound caught: the request is wrong, not the server.
    logger.info("out-of-range value on %s %s: %s", request.method, request.url.path, exc)
    return problem(422, "a number in the request is out of range for the catalog")


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem(500, "internal error; the server log has the details")


def install(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, on_domain_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    # The catalog going away, however the driver reports it: 503 with Retry-After.
    for unreachable in (OperationalError, InterfaceError, DisconnectionError, PoolTimeout):
        app.add_exception_handler(unreachable, on_database_down)
    app.add_exception_handler(OSError, on_storage_error)  # disk full, read-only media: 507
    app.add_exception_handler(OverflowError, on_out_of_range)
    app.add_exception_handler(DataError, on_out_of_range)
    app.add_exception_handler(Exception, on_unexpected)
