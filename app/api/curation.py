"""Curating at scale: one request edits or deletes many clips; DELETE for clips, checkpoints and
runs, each saying what it removes (with `dry_run`, before anything goes)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from app.api.deps import ResourceId, SessionDep, StorageDep
from app.api.problems import PROBLEM, Responses
from app.presenters import clip_out
from app.schemas.batch import ClipBatchIn, ClipBatchOut, RemovalOut
from app.services import clip_batch, clips, deletion

router = APIRouter(tags=["curation"])
DryRun = Annotated[
    bool, Query(description="say what would be removed; remove nothing")
]
DELETE_RESPONSES: Responses = {
    409: {**PROBLEM, "description": "in use: `users` lists the songs, albums and exports "
          "(or a job still works on it)"},
}


def removal_out(removal: deletion.Removal, *, dry_run: bool) -> RemovalOut:
    paths, truncated = deletion.planned_paths(removal)
    return RemovalOut(
        target=removal.target, dry_run=dry_run, summary=removal.summary(), runs=removal.runs,
        checkpoints=removal.checkpoints, clips=removal.clips, markers=removal.markers,
        files=len(removal.files), folders=len(removal.folders), bytes=removal.bytes,
        paths=paths, paths_truncated=truncated,
    )


@router.post(
    "/projects/{project_id}/clips/batch",
    response_model=ClipBatchOut,
    responses={422: {**PROBLEM, "description": "bad body, or `ids` names clips that are not "
                     "the project's (listed in `ids`); nothing was changed"},
               **DELETE_RESPONSES},
)
def batch_clips(
    project_id: ResourceId, body: ClipBatchIn, session: SessionDep, storage: StorageDep
) -> ClipBatchOut:
    """Rate, keep/reject, tag or untag, or delete many clips at once: all of them or none."""
    if body.delete:
        removal = clip_batch.delete_clips(
            session, storage, project_id, body.ids, dry_run=body.dry_run
        )
        return ClipBatchOut(ids=removal.clips, updated=0, data=[],
                            removal=removal_out(removal, dry_run=body.dry_run))
    changes = body.model_dump(include={"rating", "kept", "add_tags", "remove_tags"},
                              exclude_unset=True)
    edited = clip_batch.edit_clips(session, project_id, body.ids, changes)
    return ClipBatchOut(ids=[c.id for c in edited], updated=len(edited),
                        data=[clip_out(c) for c in edited], removal=None)


@router.delete("/clips/{clip_id}", response_model=RemovalOut, responses=DELETE_RESPONSES)
def delete_clip(
    clip_id: ResourceId, session: SessionDep, storage: StorageDep, dry_run: DryRun = False
) -> RemovalOut:
    """Delete a clip, its markers and files. Refused (409) while a song uses it."""
    clip = clips.get_clip(session, clip_id)
    removal = clip_batch.delete_clips(session, storage, clip.project_id, [clip_id],
                                      dry_run=dry_run)
    return removal_out(removal, dry_run=dry_run)


@router.delete(
    "/checkpoints/{checkpoint_id}", response_model=RemovalOut, responses=DELETE_RESPONSES
)
def delete_checkpoint(
    checkpoint_id: ResourceId, session: SessionDep, storage: StorageDep, dry_run: DryRun = False
) -> RemovalOut:
    """Delete one epoch's checkpoint, its file and every clip made from it. Refused (409) while
    a song uses one of those clips or the run or a generate job is still working."""
    removal = deletion.plan_checkpoint(session, storage, checkpoint_id)
    if dry_run:
        session.rollback()
    else:
        deletion.execute(session, storage, removal)
    return removal_out(removal, dry_run=dry_run)


@router.delete("/runs/{run_id}", response_model=RemovalOut, responses=DELETE_RESPONSES)
def delete_run(
    run_id: ResourceId, session: SessionDep, storage: StorageDep, dry_run: DryRun = False
) -> RemovalOut:
    """Delete a finished run: its checkpoints, clips, markers and its media folder. Refused
    (409) while it is queued or running, or a song uses one of its clips."""
    removal = deletion.plan_run(session, storage, run_id)
    if dry_run:
        session.rollback()
    else:
        deletion.execute(session, storage, removal)
    return removal_out(removal, dry_run=dry_run)
