"""/projects/{id}/usage, /runs/{id}/usage and /runs/{id}/retention: the disk budget."""

from __future__ import annotations

from fastapi import APIRouter

from app.api.deps import ReadSessionDep, ResourceId, StorageDep
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


@router.post("/runs/{run_id}/retention", response_model=RetentionOut)
def run_retention(
    run_id: ResourceId, body: RetentionIn, session: ReadSessionDep, storage: StorageDep
) -> RetentionOut:
    """Which checkpoint files of the run may go (dry run, the default) or remove them: all but
    the newest `keep_last` and those with a clip kept, rated or used by a track. Rows, clips,
    tracks, albums and exports are never touched."""
    act = retention.plan if body.dry_run else retention.apply
    done = act(session, storage, run_id, body.keep_last)
    return RetentionOut(
        run_id=done.run_id, keep_last=done.keep_last, dry_run=body.dry_run,
        freed_bytes=done.freed_bytes,
        checkpoints=[
            RetentionDecisionOut(checkpoint_id=d.checkpoint_id, epoch=d.epoch, bytes=d.bytes,
                                 keep=d.keep, reason=d.reason)
            for d in done.decisions
        ],
    )
