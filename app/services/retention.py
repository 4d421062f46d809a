"""Retention: which checkpoint files of a run may go, and removing them (issue 13 item 2).

A checkpoint file (hundreds of MB with optimizer state) is kept when it is one of the run's
newest `keep_last` epochs (the newest is what a resume continues from), or any of its clips is
kept or rated by the curator, or any of its clips is used by a track (and so maybe an album).
Everything else may go. Only the *file* is removed: the Checkpoint row stays (its clips hang on
it, with ON DELETE CASCADE), so every clip, track, album and export keeps what it points at;
clip audio is never removed here. `plan` is the dry run; `apply` re-plans inside the same
transaction and unlinks, so a clip kept in between is respected; it runs as a cpu-queue job
(`request_retention`, worker/retention_runner.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app import jobs
from app.audio.edl import EditList, EdlError
from app.catalog import Checkpoint, Clip, Job, Track
from app.contract.kinds import RETENTION
from app.queue import TaskQueue
from app.schemas.usage import RetentionIn
from app.services import runs
from app.services.jobs import scoped_key, submit
from app.services.plans import retention_payload
from app.storage import Storage


@dataclass(frozen=True)
class Decision:
    checkpoint_id: int
    epoch: int
    path: str  # storage key
    bytes: int  # of the file now (0: already gone)
    keep: bool
    reason: str  # why it stays, or why it may go


@dataclass(frozen=True)
class RetentionPlan:
    run_id: int
    keep_last: int
    decisions: tuple[Decision, ...]

    @property
    def removable(self) -> tuple[Decision, ...]:
        return tuple(d for d in self.decisions if not d.keep and d.bytes > 0)

    @property
    def freed_bytes(self) -> int:
        return sum(d.bytes for d in self.removable)


def _track_clip_ids(session: Session, project_id: int) -> set[int]:
    ids: set[int] = set()
    for edl in session.scalars(select(Track.edl).where(Track.project_id == project_id)):
        try:
            ids |= {int(c) for c in EditList.from_json(edl).clip_ids()}
        except EdlError:
            # Unparseable here means unknown references: protect the whole project's clips.
            return {-1}
    return ids


def plan(session: Session, storage: Storage, run_id: int, keep_last: int) -> RetentionPlan:
    if keep_last < 1:
        raise ValueError("keep_last must be at least 1: the newest checkpoint is what resumes")
    run = runs.get_run(session, run_id)
    checkpoints = list(
        session.scalars(select(Checkpoint).where(Checkpoint.run_id == run.id).order_by(
            Checkpoint.epoch.desc()
        ))
    )
    curated = set(
        session.scalars(
            select(Clip.checkpoint_id).where(
                Clip.run_id == run.id, or_(Clip.kept.is_(True), Clip.rating.is_not(None))
            )
        )
    )
    used = _track_clip_ids(session, run.project_id)
    in_tracks: set[int] = set()
    if used == {-1}:
        in_tracks = {c.id for c in checkpoints}
    elif used:
        in_tracks = set(
            session.scalars(
                select(Clip.checkpoint_id).where(Clip.run_id == run.id, Clip.id.in_(sorted(used)))
            )
        )
    decisions = []
    for rank, ck in enumerate(checkpoints):
        if rank < keep_last:
            keep, reason = True, f"one of the newest {keep_last}"
        elif ck.id in in_tracks:
            keep, reason = True, "a clip of it is used by a track"
        elif ck.id in curated:
            keep, reason = True, "a clip of it is kept or rated"
        else:
            keep, reason = False, "older, and none of its clips is kept, rated or used"
        path = storage.path(ck.path)
        size = path.stat().st_size if path.is_file() else 0
        decisions.append(Decision(ck.id, ck.epoch, ck.path, size, keep, reason))
    return RetentionPlan(run.id, keep_last, tuple(sorted(decisions, key=lambda d: d.epoch)))


def apply(session: Session, storage: Storage, run_id: int, keep_last: int) -> RetentionPlan:
    """Remove the files `plan` lets go; returns the plan that was carried out."""
    done = plan(session, storage, run_id, keep_last)
    for decision in done.removable:
        storage.delete(decision.path)
    return done


def request_retention(
    session: Session,
    queue: TaskQueue,
    run_id: int,
    request: RetentionIn,
    *,
    idempotency_key: str | None = None,
) -> Job:
    """Queue the retention job of a run (a cpu worker applies it)."""
    run = runs.get_run(session, run_id)
    payload = retention_payload(run.id, request)
    key = scoped_key(f"retention:{run.id}", idempotency_key)
    project_id = run.project_id

    def create(s: Session) -> Job:
        return jobs.create_job(s, RETENTION, payload, project_id=project_id, idempotency_key=key)

    job, _ = submit(session, queue, key, create, request=request)
    return job
