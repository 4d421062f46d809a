"""/runs/{id}/radio and /radio/{id}: an endless stream from a checkpoint, its listeners, "keep
that". The stream is MP3 over HTTP (audio/mpeg): browsers' <audio>, VLC, ffplay and Icecast
relays all open it; with `Icy-MetaData: 1` it carries the checkpoint and stream time as ICY
titles. The generator runs on a gpu worker (worker/radio.py); this process only reads the shared
buffer (app/radio), so restarting it interrupts listeners, who reconnect, and not the radio."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Header, Request, Response
from fastapi.responses import StreamingResponse

from app.api.deps import (
    LIMIT_JOBS,
    IdempotencyKey,
    QueueDep,
    ReadSessionDep,
    ResourceId,
    SessionDep,
    StorageDep,
)
from app.api.problems import Responses
from app.presenters import clip_out, radio_out, radio_url
from app.radio.buffer import Head, RadioBuffer
from app.radio.listener import ICY_METAINT, segments, start_segment, with_icy
from app.schemas.clips import ClipOut
from app.schemas.radio import KeepIn, RadioIn, RadioOut
from app.services import radio as radios
from app.services import radio_keep
from app.services.errors import Conflict

router = APIRouter(tags=["radio"])
ACCEPTED: Responses = {202: {"description": "queued; Location points at the radio"}}
WARM_UP_WAIT_S = 30.0  # a new radio's first segment: model load and the first block
STREAM: Responses = {200: {"content": {"audio/mpeg": {}}, "description": "MP3, endless"}}


@router.post(
    "/runs/{run_id}/radio", status_code=202, response_model=RadioOut, responses=ACCEPTED,
    dependencies=[LIMIT_JOBS],
)
def start_radio(
    run_id: ResourceId,
    session: SessionDep,
    storage: StorageDep,
    queue: QueueDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    body: RadioIn | None = None,
) -> RadioOut:
    """Start an endless stream from one of the run's checkpoints on a gpu worker. It never
    stops by itself: `DELETE /radio/{id}` stops it."""
    job = radios.start_radio(
        session, queue, run_id, body or RadioIn(), idempotency_key=idempotency_key
    )
    response.headers["Location"] = radio_url(job.id)
    return radio_out(radios.get_radio(session, storage, job.id))


@router.get("/radio/{radio_id}", response_model=RadioOut)
def get_radio(radio_id: ResourceId, session: ReadSessionDep, storage: StorageDep) -> RadioOut:
    """State, stream time, buffer and the generator's realtime factor."""
    return radio_out(radios.get_radio(session, storage, radio_id))


@router.delete("/radio/{radio_id}", status_code=202, response_model=RadioOut, responses=ACCEPTED)
def stop_radio(
    radio_id: ResourceId, session: SessionDep, storage: StorageDep, response: Response
) -> RadioOut:
    """Stop the generator (idempotent); listeners' streams end. "Keep that" still works on
    what the buffer holds."""
    out = radio_out(radios.stop_radio(session, storage, radio_id))
    response.headers["Location"] = radio_url(radio_id)
    return out


# Keeping a moment queues the new clip's analysis: a job like any other.
@router.post(
    "/radio/{radio_id}/keep", status_code=201, response_model=ClipOut, dependencies=[LIMIT_JOBS]
)
def keep_that(
    radio_id: ResourceId,
    session: SessionDep,
    storage: StorageDep,
    queue: QueueDep,
    body: KeepIn | None = None,
) -> ClipOut:
    """Save the last `seconds` (default 30, up to what the buffer keeps) as a new clip of the
    radio's checkpoint, with its provenance."""
    body = body or KeepIn()
    clip = radio_keep.keep(
        session, storage, queue, radio_id, seconds=body.seconds, end_s=body.end_s
    )
    return clip_out(clip)


@router.get("/radio/{radio_id}/stream", response_class=StreamingResponse, responses=STREAM)
def stream(
    radio_id: ResourceId,
    request: Request,
    session: ReadSessionDep,
    storage: StorageDep,
    icy: Annotated[str | None, Header(alias="Icy-MetaData")] = None,
) -> StreamingResponse:
    """The radio as one endless MP3 stream, shared by every listener. `X-Radio-Start-S` says
    where in stream time it begins (for "keep that" of what was heard)."""
    radio = radios.get_radio(session, storage, radio_id)
    if not radio.live:
        raise Conflict(f"radio {radio_id} is {radio.job.status}: start a new one")
    buffer = radios.buffer_of(storage, radio.job)
    sessions = request.app.state.read_session_factory

    def live_now() -> bool:
        with sessions() as s:
            return radios.get_radio(s, storage, radio_id).live

    head = radio.head or _first_head(buffer, live_now)
    start = start_segment(head)
    at = {"head": head, "k": start}

    async def is_live() -> bool:
        if await request.is_disconnected():
            return False
        return await asyncio.to_thread(live_now)

    def seen(h: Head, k: int) -> None:
        at["head"], at["k"] = h, k

    def title() -> str:
        h, k = at["head"], at["k"]
        assert isinstance(h, Head) and isinstance(k, int)
        t = int(k * h.segment_s)
        clock = f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}"
        return f"albumbot radio {radio_id} · epoch {h.epoch} · {clock}"

    body = segments(buffer, start, is_live=is_live, on_segment=seen)
    headers = {
        "Cache-Control": "no-store",
        "X-Radio-Start-S": f"{start * head.segment_s:.3f}",
        "icy-name": f"albumbot radio {radio_id}",
        "icy-description": f"epoch {head.epoch}, temperature {head.temperature:g}",
    }
    if icy == "1":
        headers["icy-metaint"] = str(ICY_METAINT)
        return StreamingResponse(with_icy(body, title), media_type="audio/mpeg", headers=headers)
    return StreamingResponse(body, media_type="audio/mpeg", headers=headers)


def _first_head(buffer: RadioBuffer, live_now: Callable[[], bool]) -> Head:
    """Wait (this request's thread) for a warming radio's first segment."""
    deadline = time.monotonic() + WARM_UP_WAIT_S
    checked = time.monotonic()
    while time.monotonic() < deadline:
        head = buffer.head()
        if head is not None:
            return head
        if time.monotonic() - checked > 1.0:
            checked = time.monotonic()
            if not live_now():
                break
        time.sleep(0.02)
    raise Conflict("the radio has no audio yet (its worker is busy or starting): retry")
