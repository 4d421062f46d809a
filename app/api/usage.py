"""/projects/{id}/usage, /runs/{id}/usage and /runs/{id}/retention: the disk budget."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.api.deps import (
    LIMIT_JOBS,
    IdempotencyKey,
    QueueDep,
    ReadSessionDep,
    ResourceId,
    SessionDep,
    StorageDep,
)
from app.api.urls import job_url
from app.schemas.jobs import JobOut
from app.schemas.usage import RetentionDecisionOut, RetentionIn, RetentionOut, UsageOut
from app.services import retention, usage

router = APIRouter(tags=["usage"])


def _out(u: usage.Usage) -> UsageOut:
    return UsageOut(folder=u.folder, bytes=u.bytes, files=u.files, total_bytes=u.total_bytes,
                    disk_bytes=u.disk_bytes)


@router.get("/projects/{project_id}/usage", response_model=UsageOut)
def project_usage(project_id: ResourceId, session: ReadSessionDep, storage: StorageDep) -> UsageOut:
    """Disk used by the project's media, by category, measured on the media folder."""
    return _out(usage.project_usage(session, storage, project_id))


@router.get("/runs/{run_id}/usage", response_model=UsageOut)
def run_usage(run_id: ResourceId, session: ReadSessionDep, storage: StorageDep) -> UsageOut:
    """Disk used by the run's checkpoints and clips."""
    return _out(usage.run_usage(session, storage, run_id))


@router.get("/runs/{run_id}/retention", response_model=RetentionOut)
def retention_preview(
    run_id: ResourceId,
    session: ReadSessionDep,
    storage: StorageDep,
    keep_last: Annotated[int, Query(ge=1, le=10_000)] = 3,
) -> RetentionOut:
    """The dry run: every checkpoint of the run, whether its file stays and why. Files that may
    go: all but the newest `keep_last` and those with a clip kept, rated or used by a track."""
    done = retention.plan(session, storage, run_id, keep_last)
    return RetentionOut(
        run_id=done.run_id, keep_last=done.keep_last, freed_bytes=done.freed_bytes,
        checkpoints=[
            RetentionDecisionOut(checkpoint_id=d.checkpoint_id, epoch=d.epoch, bytes=d.bytes,
                                 keep=d.keep, reason=d.reason)
            for d in done.decisions
        ],
    )


@router.post(
    "/runs/{run_id}/retention", status_code=202, response_model=JobOut,
    responses={202: {"description": "queued; Location points at the job"}},
    dependencies=[LIMIT_JOBS],
)
def apply_retention(
    run_id: ResourceId,
    session: SessionDep,
    queue: QueueDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    body: RetentionIn | None = None,
) -> JobOut:
    """Remove what the dry run (GET) lists as going, on a cpu worker. Checkpoint rows, clips,
    tracks, albums and exports are never touched; only checkpoint files go."""
    job = retention.request_retention(
        session, queue, run_id, body or RetentionIn(), idempotency_key=idempotency_key
    )
    response.headers["Location"] = job_url(job.id)
    return JobOut.model_validate(job)
