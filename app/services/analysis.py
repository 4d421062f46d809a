"""Clip analysis in the catalog: the jobs that analyse clips (model/analysis.py), what their
runner reads and writes, and each epoch's style distance.

An `analyze` job (app/contract AnalyzePayload) runs on the cpu queue. The gpu worker queues one
for a checkpoint's clips when they land (`queue_checkpoint_analysis`); `request_analysis` (the
API's `POST /projects/{id}/analysis`) backfills a whole project. The runner
(worker/analysis.py) reads clips in bounded batches and writes each batch's results in one short
transaction; nothing here commits except the request functions.

Stored per clip: `flags` (raised flags with reasons), `flag_mask` (a bit per raised flag,
`FLAG_BITS`, for filtering in SQL), `quality`, `closeness` (the best-matching moment of the
album, with the source track's catalog id), `originality` (1 - the share of the clip that
follows the album), `analysis` (every score, the style distance, a fingerprint) and the
version. A clip's frame statistics go to a file beside its audio (`stats_key`), so an epoch's
style distance pools its clips without reading their audio again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Checkpoint, Clip, Job, SourceTrack, utcnow
from app.contract.kinds import ANALYZE
from app.contract.payloads import AnalyzePayload
from app.queue import TaskQueue
from app.services.jobs import publish, scoped_key, submit
from app.services.projects import get_project
from model.analysis import ANALYSIS_VERSION
from model.pathology import FLAG_NAMES, HARD_FLAGS

FLAG_BITS: Mapping[str, int] = {name: 1 << i for i, name in enumerate(FLAG_NAMES)}
HARD_MASK = sum(FLAG_BITS[name] for name in HARD_FLAGS)


def mask_of(names: Iterable[str]) -> int:
    return sum(FLAG_BITS[n] for n in set(names))


def names_of(mask: int | None) -> list[str]:
    return [n for n in FLAG_NAMES if mask and mask & FLAG_BITS[n]]


def stats_key(audio_path: str) -> str:
    """Where a clip's frame statistics are stored (model.style.FrameStats)."""
    return f"{audio_path}.stats-v{ANALYSIS_VERSION}.npz"


# -- queueing analysis jobs ---------------------------------------------------------------------


def request_analysis(
    session: Session,
    queue: TaskQueue,
    project_id: int,
    *,
    redo: bool = False,
    idempotency_key: str | None = None,
) -> Job:
    """Queue a backfill of the project's clips (all of them with `redo`, else those not
    analysed by the current version); committed, then published."""
    get_project(session, project_id)
    key = scoped_key(f"analysis:{project_id}", idempotency_key)
    payload = AnalyzePayload(project_id=project_id, redo=redo)

    def create(s: Session) -> Job:
        return jobs.create_job(s, ANALYZE, payload, project_id=project_id, idempotency_key=key)

    job, _ = submit(session, queue, key, create)
    return job


def queue_checkpoint_analysis(session: Session, project_id: int, checkpoint_id: int) -> Job | None:
    """A queued analysis job for the checkpoint's unanalysed clips, made in the caller's
    transaction (no commit); None when one is already waiting (it will see the new clips too)
    or nothing is left to analyse. The caller commits, then publishes it (`publish_job`)."""
    waiting = session.scalars(
        select(Job).where(Job.kind == ANALYZE.name, Job.project_id == project_id,
                          Job.status == "queued", Job.cancel_requested.is_(False))
    )
    for job in waiting:
        if job.payload.get("checkpoint_id") in (checkpoint_id, None):
            return None
    payload = AnalyzePayload(project_id=project_id, checkpoint_id=checkpoint_id)
    if count_pending(session, payload) == 0:
        return None
    return jobs.create_job(session, ANALYZE, payload, project_id=project_id)


def publish_job(session: Session, queue: TaskQueue, job_id: int) -> None:
    """Publish a committed job (the sweeper publishes it later if the broker is down)."""
    job = session.get(Job, job_id)
    if job is not None:
        publish(session, queue, job)


# -- what the runner reads ----------------------------------------------------------------------


@dataclass(frozen=True)
class ClipToAnalyze:
    id: int
    checkpoint_id: int
    epoch: int
    audio_path: str  # storage key
    sample_rate: int


@dataclass(frozen=True)
class AlbumSpec:
    """The album a project's clips are compared with: its source tracks (catalog id, name,
    storage key) and where its index is cached (beside the project's prepared datasets, named
    by the tracks' content, so new uploads make a new index)."""

    index_key: str
    sources: tuple[tuple[int, str, str], ...]


def _pending(payload: AnalyzePayload) -> list[ColumnElement[bool]]:
    where = [Clip.project_id == payload.project_id, Clip.id > payload.after_id]
    if payload.checkpoint_id is not None:
        where.append(Clip.checkpoint_id == payload.checkpoint_id)
    if not payload.redo:
        where.append(
            or_(Clip.analysis_version.is_(None), Clip.analysis_version != ANALYSIS_VERSION)
        )
    return where


def count_pending(session: Session, payload: AnalyzePayload) -> int:
    return int(session.scalar(select(func.count()).where(*_pending(payload))) or 0)


def pending_clips(session: Session, payload: AnalyzePayload, limit: int) -> list[ClipToAnalyze]:
    """The next `limit` clips the job has to analyse, in id order after `payload.after_id`."""
    rows = session.execute(
        select(Clip.id, Clip.checkpoint_id, Clip.epoch, Clip.audio_path, Clip.sample_rate)
        .where(*_pending(payload)).order_by(Clip.id).limit(limit)
    )
    return [ClipToAnalyze(*row) for row in rows]


def clips_by_id(session: Session, clip_ids: Sequence[int]) -> list[ClipToAnalyze]:
    rows = session.execute(
        select(Clip.id, Clip.checkpoint_id, Clip.epoch, Clip.audio_path, Clip.sample_rate)
        .where(Clip.id.in_(list(clip_ids))).order_by(Clip.id)
    )
    return [ClipToAnalyze(*row) for row in rows]


def album_spec(session: Session, project_id: int) -> AlbumSpec | None:
    """None when the project has no source tracks (nothing to compare with)."""
    rows = session.execute(
        select(SourceTrack.id, SourceTrack.display_name, SourceTrack.path, SourceTrack.sha256)
        .where(SourceTrack.project_id == project_id).order_by(SourceTrack.id)
    ).all()
    if not rows:
        return None
    digest = hashlib.sha256("\n".join(r.sha256 for r in rows).encode()).hexdigest()[:16]
    key = f"projects/{int(project_id)}/datasets/album-index-{digest}-v{ANALYSIS_VERSION}.npz"
    return AlbumSpec(key, tuple((r.id, r.display_name, r.path) for r in rows))


# -- what the runner writes ---------------------------------------------------------------------


@dataclass(frozen=True)
class ClipResult:
    """One clip's analysis as the catalog stores it (model.analysis.ClipAnalysis.to_dict with
    the fingerprint; closeness' `source` is a source track's catalog id)."""

    clip_id: int
    analysis: dict[str, Any]
    fingerprint: tuple[float, ...]


def record_results(session: Session, results: Sequence[ClipResult]) -> None:
    """Write the analyses (no commit)."""
    now = utcnow()
    for r in results:
        a = r.analysis
        closeness = dict(a["closeness"]) if a["closeness"] else None
        if closeness is not None:
            closeness["source_track_id"] = int(closeness.pop("source"))
        session.execute(
            update(Clip).where(Clip.id == r.clip_id).values(
                flags=a["flags"],
                flag_mask=mask_of(f["name"] for f in a["flags"]),
                quality=a["quality"],
                closeness=closeness,
                originality=None if closeness is None else round(1.0 - closeness["share"], 4),
                analysis={
                    "scores": a["scores"], "style_distance": a["style_distance"],
                    "fingerprint": list(r.fingerprint),
                },
                analysis_version=ANALYSIS_VERSION,
                analyzed_at=now,
            )
        )


@dataclass(frozen=True)
class EpochMember:
    audio_path: str
    flag_mask: int


def epoch_members(session: Session, checkpoint_id: int) -> list[EpochMember]:
    """The checkpoint's clips analysed by the current version."""
    rows = session.execute(
        select(Clip.audio_path, Clip.flag_mask).where(
            Clip.checkpoint_id == checkpoint_id, Clip.analysis_version == ANALYSIS_VERSION
        ).order_by(Clip.id)
    )
    return [EpochMember(path, int(mask or 0)) for path, mask in rows]


def record_epoch(
    session: Session, checkpoint_id: int, *, style_distance: float | None,
    members: Sequence[EpochMember],
) -> None:
    """The epoch's style distance and its flagged and copied shares (no commit)."""
    n = len(members)
    flagged = sum(1 for m in members if m.flag_mask)
    copied = sum(1 for m in members if m.flag_mask & FLAG_BITS["copied"])
    session.execute(
        update(Checkpoint).where(Checkpoint.id == checkpoint_id).values(
            style_distance=style_distance,
            flagged_share=round(flagged / n, 4) if n else None,
            copied_share=round(copied / n, 4) if n else None,
            analyzed_clips=n,
        )
    )

