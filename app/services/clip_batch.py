"""Batch curation: one edit (rate, keep/reject, add or remove tags) or one delete for many clips
of a project, all or nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Clip
from app.services import deletion
from app.services.errors import InvalidInput
from app.services.projects import get_project
from app.storage import Storage


def project_clips(session: Session, project_id: int, ids: Sequence[int]) -> list[Clip]:
    """The clips of `ids` in ascending id order; InvalidInput naming every id that is not a
    clip of the project (so a batch never half-applies)."""
    get_project(session, project_id)
    wanted = sorted(set(ids))
    found: dict[int, Clip] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start: start + 500]
        query = select(Clip).where(Clip.project_id == project_id, Clip.id.in_(chunk))
        found.update((c.id, c) for c in session.scalars(query))
    bad = [i for i in wanted if i not in found]
    if bad:
        shown = ", ".join(map(str, bad[:20])) + (" …" if len(bad) > 20 else "")
        raise InvalidInput(
            f"{len(bad)} of the ids are not clips of project {project_id}: {shown}",
            field="ids", ids=bad,
        )
    return [found[i] for i in wanted]


def edit_clips(
    session: Session, project_id: int, ids: Sequence[int], changes: dict[str, Any]
) -> list[Clip]:
    """Apply `changes` (any of rating, kept, add_tags, remove_tags) to every clip, one commit.

    Tags keep their order; added tags go at the end, once; removing a tag a clip lacks is no
    error (the curator asked for "none of these clips carries it")."""
    clips = project_clips(session, project_id, ids)
    add = list(dict.fromkeys(changes.get("add_tags") or []))
    remove = set(changes.get("remove_tags") or [])
    for clip in clips:
        if "rating" in changes:
            clip.rating = changes["rating"]
        if "kept" in changes:
            clip.kept = changes["kept"]
        if add or remove:
            tags = [t for t in dict.fromkeys([*(clip.tags or []), *add]) if t not in remove]
            clip.tags = tags
    session.commit()
    return clips


def delete_clips(
    session: Session, storage: Storage, project_id: int, ids: Sequence[int], *, dry_run: bool
) -> deletion.Removal:
    """Delete the clips (InUse when a song names one), or with `dry_run` only plan it."""
    clips = project_clips(session, project_id, ids)
    removal = deletion.plan_clips(session, storage, project_id, [c.id for c in clips])
    if dry_run:
        session.rollback()
        return removal
    return deletion.execute(session, storage, removal)
