"""Rate limits on the routes that start jobs or take uploads (RELIABILITY 32), as a dependency.

`dependencies=[LIMIT_JOBS]` or `[LIMIT_UPLOADS]` (aliases in app/api/deps.py) on a route counts
each request against the client's bucket (app/rate_limit.py). The dependency runs after the token
check (router-level dependencies come first), so a wrong token is a 401 that costs nothing, and
before the handler reads the body, so a refused upload is not received. Every counted answer
carries the IETF `RateLimit-*` headers; a refused one is a 429 problem with `Retry-After`.

Who is a client: with `ALBUMBOT_API_TOKEN` set, the token's holder (one budget for everyone who
has it, keyed by a digest, never the token itself); without one, the client's address. uvicorn
takes that address from `X-Forwarded-For` only when the proxy is trusted (`--forwarded-allow-ips`,
127.0.0.1 by default), so a client cannot pick its own key. Loopback clients (the studio on one
machine, the browser tests) are exempt unless `rate_limit_exempt_loopback` is false.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.routing import iter_route_contexts

from app.api.problems import PROBLEM_JSON
from app.rate_limit import Decision, Limiter, Policy
from app.settings import Settings

BUCKET_WORDS = {"jobs": "job submissions", "uploads": "uploads"}


def policies(settings: Settings) -> dict[str, Policy]:
    burst = settings.rate_limit_burst
    return {
        "jobs": Policy("jobs", settings.rate_limit_jobs_per_minute, burst),
        "uploads": Policy("uploads", settings.rate_limit_uploads_per_minute, burst),
    }


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:  # not an address (TestClient's "testclient", a unix socket)
        return False


def client_key(request: Request, settings: Settings) -> str:
    """The bucket owner: the token's holder when a token guards the API (the auth dependency
    has checked it by now), else the client's address. Hashed, so no key spells either."""
    if settings.api_token is not None:
        who = "token:" + settings.api_token
    else:
        who = "addr:" + (request.client.host if request.client else "unknown")
    return hashlib.sha256(who.encode()).hexdigest()[:32]


def headers(decision: Decision, policy: Policy) -> dict[str, str]:
    """draft-ietf-httpapi-ratelimit-headers: the burst as the limit, what is left of it, the
    seconds until it is whole again, and the policy (burst per window, plus the steady rate)."""
    window_s = math.ceil(policy.burst * policy.interval_ms / 1000)
    values = {
        "RateLimit-Limit": str(policy.burst),
        "RateLimit-Remaining": str(decision.remaining),
        "RateLimit-Reset": str(math.ceil(decision.reset_s)),
        "RateLimit-Policy": f'{policy.burst};w={window_s};name="{policy.name}";'
                            f"per_minute={policy.per_minute}",
    }
    if not decision.allowed:
        values["Retry-After"] = str(max(1, math.ceil(decision.retry_after_s)))
    return values


class RateLimit:
    """The dependency of one bucket; reads the limiter and policies from `app.state`."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def __call__(self, request: Request, response: Response) -> None:
        # A sync dependency: FastAPI runs it on the thread pool, so the Redis round trip does
        # not hold the event loop.
        settings: Settings = request.app.state.settings
        limiter: Limiter | None = request.app.state.rate_limiter
        if limiter is None:
            return
        if settings.rate_limit_exempt_loopback and is_loopback(
            request.client.host if request.client else None
        ):
            return
        policy = request.app.state.rate_limit_policies[self.bucket]
        key = f"{settings.rate_limit_key_prefix}:{self.bucket}:{client_key(request, settings)}"
        decision = limiter.hit(key, policy)
        values = headers(decision, policy)
        if decision.allowed:
            response.headers.update(values)
            return
        if self.bucket == "uploads":
            values["Connection"] = "close"  # the refused body is still on its way: stop it
        raise HTTPException(
            status_code=429,
            detail=f"too many {BUCKET_WORDS[self.bucket]} from this client: "
                   f"{policy.per_minute} a minute, at most {policy.burst} at once; "
                   f"retry in {values['Retry-After']} s",
            headers=values,
        )


_HEADER_DOCS = {  # name -> (description, JSON type)
    "RateLimit-Limit": ("requests allowed at once (the burst)", "integer"),
    "RateLimit-Remaining": ("requests still allowed now", "integer"),
    "RateLimit-Reset": ("seconds until the whole burst is available again", "integer"),
    "RateLimit-Policy": ("the burst per window in seconds, its name and the steady rate",
                         "string"),
}


def limited_operations(app: FastAPI) -> dict[tuple[str, str], str]:
    """(path, method) -> bucket of every route with a RateLimit dependency (tests/app/
    test_rate_limit.py checks the list, so a FastAPI that walks routes differently shows)."""
    found: dict[tuple[str, str], str] = {}
    # FastAPI includes routers lazily: iter_route_contexts sees the routes with their prefixes.
    for route in iter_route_contexts(app.routes):
        dependant = getattr(route, "dependant", None)
        for dep in dependant.dependencies if dependant is not None else ():
            if isinstance(dep.call, RateLimit):
                for method in route.methods or ():
                    found[(str(route.path_format), method.lower())] = dep.call.bucket
    return found


def document(app: FastAPI) -> None:
    """The 429 answer and the RateLimit headers in the OpenAPI schema of every limited route."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        paths = schema.get("paths", {})
        for (path, method), bucket in limited_operations(app).items():
            operation = paths.get(path, {}).get(method)
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status, answer in responses.items():
                if status.startswith("2") and isinstance(answer, dict):
                    answer.setdefault("headers", {}).update(_header_schemas())
            responses["429"] = {
                "description": f"too many {BUCKET_WORDS[bucket]} from this client; "
                               "retry after `Retry-After` seconds",
                "headers": {
                    "Retry-After": {"description": "seconds to wait",
                                    "schema": {"type": "integer"}},
                    **_header_schemas(),
                },
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _header_schemas() -> dict[str, Any]:
    return {name: {"description": text, "schema": {"type": kind}}
            for name, (text, kind) in _HEADER_DOCS.items()}
