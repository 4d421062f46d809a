"""The no-curation album (the paper's fully automated method): random clips, random titles, a
generated cover, exported through the same pipeline as a curated album.

At submit time the request is turned into a plan from a seeded `random.Random`: which clips
(and which excerpt of each) become tracks, or, in mode `generate`, which checkpoint makes fresh
clips. The plan rides in the job's payload, so a redelivered job builds the very same album, and
the same seed over the same catalog picks the same clips. The worker then draws titles and a
cover with seeds derived from the same seed, and `materialize` writes every row in one
transaction that also records the export in the job's payload (so a retry finds the album
already made and only exports again).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, true
from sqlalchemy.orm import Session

from app import jobs
from app.audio.edl import EditItem, EditList
from app.catalog import Album, AlbumTrack, Checkpoint, Clip, Job, Run, Track
from app.contract.kinds import AUTO_ALBUM
from app.contract.payloads import AlbumPiece, AutoAlbumPayload, MadeAlbum
from app.queue import TaskQueue
from app.schemas.albums import AutoAlbumIn
from app.services import covers, exports, titles, tracks
from app.services.analysis import HARD_MASK
from app.services.errors import Conflict, NotFound
from app.services.jobs import scoped_key, submit
from app.services.plans import auto_album_payload, auto_epoch, auto_seconds, fresh_seed
from app.services.projects import get_project
from app.storage import Storage

EXCERPT_FADE_IN_S, EXCERPT_FADE_OUT_S = 0.05, 1.0  # on edges cut out of a longer clip
# Fingerprints (mean z-scored frame features, model/analysis.py) closer than this are two takes
# of one sound: measured, two takes of one loop are 0.04 apart (1.5 with hiss added 20 dB down;
# the loop-period rule of `distinct` catches those), different clips in one style 1.8 to 5.
DIVERSE = 1.0
# The cover backend is the best this install runs for an unattended album
# (app/services/cover_backends.py auto_album_backend).
COVER_SIZE = 1400


def request_auto_album(
    session: Session,
    queue: TaskQueue,
    project_id: int,
    request: AutoAlbumIn,
    *,
    idempotency_key: str | None = None,
) -> Job:
    """Plan the album and queue its job (on the gpu queue for mode generate, else cpu)."""
    get_project(session, project_id)
    key = scoped_key(f"auto:{project_id}", idempotency_key)
    seed = request.seed if request.seed is not None else fresh_seed()
    seconds, epoch = auto_seconds(request), auto_epoch(request)
    run = _run(session, project_id, request.run_id)
    rng = random.Random(seed)
    if request.mode == "generate":
        checkpoint = _checkpoint(session, run, epoch)
        payload = auto_album_payload(
            project_id, request, seed=seed, run_id=run.id, checkpoint_id=checkpoint.id
        )
    else:
        flagged = request.include_flagged
        if request.mode == "epochs":
            pieces = pick_per_epoch(session, run, seconds, rng, include_flagged=flagged)
        elif request.mode == "best":
            pieces = pick_best(session, run, epoch, request.tracks, seconds, rng)
        else:
            pieces = pick_clips(
                session, run, epoch, request.tracks, seconds, rng, include_flagged=flagged
            )
        payload = auto_album_payload(project_id, request, seed=seed, run_id=run.id, pieces=pieces)

    def create(s: Session) -> Job:
        return jobs.create_job(s, AUTO_ALBUM, payload, project_id=project_id, idempotency_key=key)

    job, _ = submit(session, queue, key, create, request=request)
    return job


def _run(session: Session, project_id: int, run_id: int | None) -> Run:
    if run_id is not None:
        run = session.get(Run, run_id)
        if run is None or run.project_id != project_id:
            raise NotFound("run of this project", run_id)
        return run
    run = session.scalars(
        select(Run)
        .where(Run.project_id == project_id, Run.checkpoints.any())
        .order_by(Run.id.desc())
        .limit(1)
    ).first()
    if run is None:
        raise Conflict("the project has no trained epochs yet: start a run first")
    return run


def _checkpoint(session: Session, run: Run, epoch: str | int) -> Checkpoint:
    query = select(Checkpoint).where(Checkpoint.run_id == run.id)
    if epoch == "last":
        query = query.order_by(Checkpoint.epoch.desc()).limit(1)
    else:
        query = query.where(Checkpoint.epoch == epoch)
    checkpoint = session.scalars(query).first()
    if checkpoint is None:
        raise Conflict(f"run {run.id} has no checkpoint for epoch {epoch}")
    return checkpoint


def usable(include_flagged: bool) -> ColumnElement[bool]:
    """Clips an automatic album may use: any, or those without a hard flag (silent, noise,
    exploded, copied; clips not analysed yet count as usable)."""
    if include_flagged:
        return true()
    return or_(Clip.flag_mask.is_(None), Clip.flag_mask.op("&")(HARD_MASK) == 0)


def _in_epoch(session: Session, run: Run, epoch: str | int) -> ColumnElement[bool]:
    """Clips of the chosen epoch(s): "last" (the run's newest with clips), "all" or a number."""
    if epoch == "last":
        last = session.scalar(select(func.max(Clip.epoch)).where(Clip.run_id == run.id))
        return Clip.epoch == last
    if epoch != "all":
        return Clip.epoch == epoch
    return true()


def pick_clips(
    session: Session,
    run: Run,
    epoch: str | int,
    n: int,
    seconds: float | None,
    rng: random.Random,
    *,
    include_flagged: bool = False,
) -> list[AlbumPiece]:
    """`n` different clips of the run's chosen epoch(s), drawn with `rng` (from those without
    a hard flag, unless `include_flagged`); an excerpt of `seconds` (random start) of clips
    longer than that."""
    query = select(Clip.id, Clip.epoch, Clip.duration_s).where(
        Clip.run_id == run.id, usable(include_flagged), _in_epoch(session, run, epoch)
    )
    candidates = list(session.execute(query.order_by(Clip.id)))
    if len(candidates) < n:
        where = "in the whole run" if epoch == "all" else f"in epoch {epoch}"
        clean = "" if include_flagged else " without a hard flag"
        raise Conflict(
            f"run {run.id} has {len(candidates)} clips{clean} {where}; ask for at most "
            f"{len(candidates)} tracks or generate more clips",
        )
    return [_excerpt(c.id, c.epoch, c.duration_s, seconds, rng) for c in rng.sample(candidates, n)]


def pick_per_epoch(
    session: Session, run: Run, seconds: float | None, rng: random.Random, *,
    include_flagged: bool = False,
) -> list[AlbumPiece]:
    """One random clip of every epoch that has clips (without a hard flag, unless
    `include_flagged`), oldest epoch first, cut to `seconds`."""
    rows = session.execute(
        select(Clip.id, Clip.epoch, Clip.duration_s)
        .where(Clip.run_id == run.id, usable(include_flagged))
        .order_by(Clip.epoch, Clip.id)
    )
    by_epoch: dict[int, list[Any]] = {}
    for row in rows:
        by_epoch.setdefault(row.epoch, []).append(row)
    if not by_epoch:
        clean = "" if include_flagged else (
            " without a hard flag (silent, noise, exploded, copied; include_flagged uses them)"
        )
        raise Conflict(f"run {run.id} has no clips{clean} yet")
    pieces = []
    for epoch in sorted(by_epoch):
        clip = rng.choice(by_epoch[epoch])
        pieces.append(_excerpt(clip.id, epoch, clip.duration_s, seconds, rng))
    return pieces


def pick_best(
    session: Session, run: Run, epoch: str | int, n: int, seconds: float | None,
    rng: random.Random,
) -> list[AlbumPiece]:
    """The `n` best analysed clips (quality score) of the chosen epoch(s), best first, none with
    a hard flag, and diverse: a clip too close to one already chosen (`distinct`) is passed
    over. Excerpts of `seconds` start at random (`rng`)."""
    query = select(
        Clip.id, Clip.epoch, Clip.duration_s, Clip.quality, Clip.analysis, Clip.flags
    ).where(
        Clip.run_id == run.id, Clip.quality.is_not(None), usable(False),
        _in_epoch(session, run, epoch),
    )
    rows = session.execute(query.order_by(Clip.quality.desc(), Clip.id))
    chosen: list[Any] = []
    for row in rows:
        if all(distinct(row, other) for other in chosen):
            chosen.append(row)
        if len(chosen) == n:
            break
    if len(chosen) < n:
        raise Conflict(
            f"run {run.id} has {len(chosen)} distinct analysed clips without a hard flag; ask "
            "for at most that many tracks, generate more clips, or analyse older ones "
            "(POST /projects/{id}/analysis)"
        )
    return [_excerpt(c.id, c.epoch, c.duration_s, seconds, rng) for c in chosen]


def distinct(a: Any, b: Any) -> bool:
    """Two analysed clips are different enough for one album: their fingerprints (mean frame
    features) are DIVERSE apart, and they are not takes of the same loop (periods within 2 %)."""
    fa = (a.analysis or {}).get("fingerprint") or []
    fb = (b.analysis or {}).get("fingerprint") or []
    if fa and len(fa) == len(fb):
        if math.dist(fa, fb) < DIVERSE:
            return False
    pa, pb = _loop_period(a.flags), _loop_period(b.flags)
    return not (pa and pb and abs(pa - pb) <= 0.02 * max(pa, pb))


def _loop_period(flags: list[Any] | None) -> float | None:
    for flag in flags or []:
        if flag.get("name") == "loop":
            return float(flag.get("details", {}).get("period_s") or 0) or None
    return None


def _excerpt(
    clip_id: int, epoch: int, duration: float, seconds: float | None, rng: random.Random
) -> AlbumPiece:
    if seconds is None or duration <= seconds:
        return AlbumPiece(clip_id, epoch, 0.0, round(duration, 6), duration)
    start = round(rng.uniform(0.0, duration - seconds), 3)
    return AlbumPiece(clip_id, epoch, start, round(start + seconds, 6), duration)


def whole_clips(session: Session, clip_ids: Sequence[int]) -> list[AlbumPiece]:
    """Pieces covering each of `clip_ids` from start to end (mode generate), in that order."""
    rows = {
        r.id: r
        for r in session.execute(
            select(Clip.id, Clip.epoch, Clip.duration_s).where(Clip.id.in_(clip_ids))
        )
    }
    return [
        AlbumPiece(i, rows[i].epoch, 0.0, rows[i].duration_s, rows[i].duration_s)
        for i in clip_ids
    ]


def edit_list(piece: AlbumPiece) -> EditList:
    """A single-item EDL for a piece; cut edges (not the clip's own ends) get short fades."""
    cut_in, cut_out = piece.start_s > 0, piece.end_s < piece.duration_s - 1e-6
    return EditList(
        items=(
            EditItem(
                clip_id=piece.clip_id, start_s=piece.start_s, end_s=piece.end_s,
                fade_in_s=EXCERPT_FADE_IN_S if cut_in else 0.0,
                fade_out_s=EXCERPT_FADE_OUT_S if cut_out else 0.0,
            ),
        )
    )


def materialize(
    session: Session,
    storage: Storage,
    job_id: int,
    payload: AutoAlbumPayload,
    pieces: Sequence[AlbumPiece],
    track_titles: Sequence[str],
    album_title: str,
    cover: covers.MadeCover | None,
    cover_sources: Sequence[int],
    notes: Sequence[str],
) -> AutoAlbumPayload:
    """Every row of the album in the caller's transaction (no commit): titles, one track per
    piece, the cover, the album and its Export (made by job `job_id`). Returns the job's payload
    with the album recorded in `made`, for the caller to save in the same transaction."""
    project_id = payload.project_id
    stored = titles.store_titles(session, project_id, job_id, [album_title, *track_titles])
    for row in stored:
        row.picked = True  # used on this album
    made_tracks = []
    for piece, name in zip(pieces, track_titles, strict=True):
        track = Track(project_id=project_id, name=name, edl=edit_list(piece).to_json(), revision=1)
        session.add(track)
        made_tracks.append(track)
    cover_id = None
    if cover is not None:
        cover_row = covers.store_covers(session, project_id, job_id, "self", [cover], cover_sources)
        cover_row[0].picked = False
        cover_id = cover_row[0].id
    session.flush()
    for track in made_tracks:  # revision 1's history, as for a track made in the studio
        tracks.write_revision(storage, track)
    album = Album(
        project_id=project_id, title=album_title, artist=payload.artist, cover_id=cover_id
    )
    album.items = [
        AlbumTrack(position=i, track_id=t.id, title=t.name, gap_s=payload.gap_s)
        for i, t in enumerate(made_tracks)
    ]
    session.add(album)
    session.flush()
    snapshot = exports.album_snapshot(session, album)
    export = exports.create_export(session, snapshot, payload.formats, job_id=job_id)
    made = MadeAlbum(
        export_id=export.id, album=snapshot, clip_ids=tuple(p.clip_id for p in pieces),
        notes=tuple(notes),
    )
    return replace(payload, made=made)
