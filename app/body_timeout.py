"""A pure-ASGI deadline on reading a request body (slow-loris, RELIABILITY B19).

uvicorn limits the request head (`h11_max_incomplete_event_size`) and idle keep-alive
connections, but once the headers are in it waits for the body as long as the client likes. Here
each `receive()` of a body chunk must come within `idle_s` of the previous one, and after
`grace_s` the body must have arrived at `min_rate_bps` on average (so a large upload on a real
link passes, a byte every few seconds does not). On a miss the middleware answers 408 with
`Connection: close` itself (if the app has not started a response) and hands the app an
`http.disconnect`; uvicorn then closes the socket.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger(__name__)


class BodyReadTimeout:
    def __init__(self, app: ASGIApp, *, idle_s: float, grace_s: float, min_rate_bps: int) -> None:
        self.app = app
        self.idle_s = idle_s
        self.grace_s = grace_s
        self.min_rate_bps = min_rate_bps

    def _wait_s(self, started: float, received: int) -> float:
        """How long the next chunk may take: the idle gap, or less where the average rate since
        the start would fall under the minimum."""
        rate_deadline = started + self.grace_s + received / self.min_rate_bps
        return max(0.0, min(self.idle_s, rate_deadline - time.monotonic()))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        received = 0
        body_done = False
        timed_out = False
        response_started = False

        async def timed_receive() -> Message:
            nonlocal received, body_done, timed_out
            if timed_out:
                return {"type": "http.disconnect"}
            if body_done:
                return await receive()  # after the body: only a disconnect can come, no deadline
            try:
                message = await asyncio.wait_for(receive(), self._wait_s(started, received))
            except TimeoutError:
                timed_out = True
                logger.info(
                    "request body too slow (%d bytes in %.1f s): 408",
                    received, time.monotonic() - started,
                )
                if not response_started:
                    await _send_408(send)
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_done = not message.get("more_body", False)
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal response_started
            if timed_out:
                return  # the 408 already went out (or the client is being dropped)
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, timed_receive, guarded_send)
        except ClientDisconnect:
            if not timed_out:
                raise


async def _send_408(send: Send) -> None:
    body = json.dumps(
        {
            "type": "about:blank",
            "title": "Request Timeout",
            "status": 408,
            "detail": "the request body did not arrive in time",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 408,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
