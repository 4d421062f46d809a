"""/jobs: poll, cancel, force-stop, and follow any asynchronous job as Server-Sent Events."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from app.api.deps import ReadSessionDep, ResourceId, SessionDep, SettingsDep
from app.api.problems import PROBLEM
from app.catalog import Job
from app.schemas.jobs import JobOut
from app.services import force_stop, jobs
from app.services.errors import NotFound

router = APIRouter(prefix="/jobs", tags=["jobs"])
# Fields whose change is news; heartbeat_at/updated_at move on every beat and are not.
_WATCHED = ("status", "progress", "message", "attempt", "error", "cancel_requested", "result")


@router.get("/{job_id}", response_model=JobOut)
def get_job(job_id: ResourceId, session: ReadSessionDep) -> JobOut:
    return JobOut.model_validate(jobs.get_job(session, job_id))


@router.post("/{job_id}/cancel", status_code=202, response_model=JobOut)
def cancel_job(job_id: ResourceId, session: SessionDep) -> JobOut:
    """Cooperative: a queued job is cancelled at once, a running one at its next check.
    Cancelling again, or cancelling a finished job, changes nothing."""
    return JobOut.model_validate(jobs.cancel_job(session, job_id))


@router.post(
    "/{job_id}/force-stop",
    response_model=JobOut,
    responses={409: {**PROBLEM, "description": "the job already ended"}},
)
def force_stop_job(job_id: ResourceId, session: SessionDep) -> JobOut:
    """For a job that does not honour its cancel (wedged inside a step): cancelled at once, and
    the worker process running it is killed within a heartbeat interval, freeing the worker.
    What it made so far stays. 409 when the job already ended."""
    return JobOut.model_validate(force_stop.force_stop_job(session, job_id))


@router.get(
    "/{job_id}/events",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "`job` events"}},
)
async def job_events(
    job_id: ResourceId, request: Request, settings: SettingsDep
) -> StreamingResponse:
    """An `event: job` with the job's JSON now and on every change of status, progress,
    message, attempt or error; the stream ends after a terminal state."""
    factory: sessionmaker[Session] = request.app.state.read_session_factory
    first = await run_in_threadpool(_snapshot, factory, job_id)
    if first is None:
        raise NotFound("job", job_id)
    return StreamingResponse(
        _stream(request, factory, job_id, first, settings.sse_poll_s, settings.sse_keepalive_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _snapshot(factory: sessionmaker[Session], job_id: int) -> JobOut | None:
    # A fresh, short session per poll: nothing is held open between polls.
    with factory() as session:
        job = session.get(Job, job_id)
        return JobOut.model_validate(job) if job is not None else None


async def _stream(
    request: Request,
    factory: sessionmaker[Session],
    job_id: ResourceId,
    current: JobOut,
    poll_s: float,
    keepalive_s: float,
) -> AsyncIterator[str]:
    seq = 1
    yield _event(seq, current)
    last_sent = time.monotonic()
    while current.status not in ("succeeded", "failed", "cancelled"):
        await anyio.sleep(poll_s)
        if await request.is_disconnected():
            return
        snap = await run_in_threadpool(_snapshot, factory, job_id)
        if snap is None:
            yield f"event: gone\ndata: {json.dumps({'id': job_id})}\n\n"
            return
        if any(getattr(snap, f) != getattr(current, f) for f in _WATCHED):
            seq += 1
            current = snap
            yield _event(seq, current)
            last_sent = time.monotonic()
        elif time.monotonic() - last_sent >= keepalive_s:
            yield ": keep-alive\n\n"  # a comment line keeps proxies from closing an idle stream
            last_sent = time.monotonic()


def _event(seq: int, job: JobOut) -> str:
    return f"id: {seq}\nevent: job\ndata: {job.model_dump_json()}\n\n"
