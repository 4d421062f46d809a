"""`Retry-After` on every `202 Accepted` (UX.md row 43): how long a client should wait before it
polls the job that `Location` points at. A pure-ASGI middleware, so no route can forget it; a
route that knows better sets the header itself and keeps its value."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

RETRY_AFTER_S = 2  # jobs report progress often; SSE (`/jobs/{id}/events`) follows them live
HEADER = b"retry-after"


class RetryAfterOnAccepted:
    def __init__(self, app: ASGIApp, *, seconds: int = RETRY_AFTER_S) -> None:
        self.app = app
        self.value = str(int(seconds)).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_retry_after(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 202:
                headers = list(message.get("headers", []))
                if not any(name.lower() == HEADER for name, _ in headers):
                    headers.append((HEADER, self.value))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_retry_after)


def document(app: FastAPI) -> None:
    """Name the header on every documented 202 answer of the OpenAPI schema."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                accepted = operation.get("responses", {}).get("202")
                if isinstance(accepted, dict):
                    accepted.setdefault("headers", {})["Retry-After"] = {
                        "description": "seconds to wait before polling the job",
                        "schema": {"type": "integer"},
                    }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
