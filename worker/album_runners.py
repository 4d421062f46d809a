"""Runners of the album jobs: titles, covers, the release export and the no-curation album.

Each is `runner(rt, lease, payload) -> result`, run under the job's lease by `worker.lease.execute`.
They read in short sessions, do the slow work (Markov chains, style transfer, rendering and
mastering) with no session open, and write their outputs in one fenced transaction, replacing
whatever an earlier attempt of the same job wrote, so a redelivered job leaves one copy.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import soundfile as sf
from sqlalchemy.orm import Session

from app import jobs
from app.contract.payloads import (
    AlbumPiece,
    AutoAlbumPayload,
    CoversPayload,
    ExportPayload,
    TitlesPayload,
)
from app.jobs import LeaseLost
from app.services import auto_album, cover_backends, covers, release_build, titles
from app.services import clips as clip_catalog
from app.services.errors import DomainError
from app.storage import storage_failure
from model.cover_io import cover_jpeg_bytes
from model.cover_sound import MAX_CLIPS as MAX_SOUND_CLIPS
from model.cover_sound import sound_image
from model.covers import available_backends, photo_style_cover, self_style_cover
from model.titles import generate_titles
from worker.analysis import analyse_now
from worker.errors import JobError, describe
from worker.lease import Lease, Stopped
from worker.runtime import Runtime

logger = logging.getLogger(__name__)
API = "/api/v1"  # links in job results (the worker does not import the web routes)


# -- titles -------------------------------------------------------------------------------------


def run_titles(rt: Runtime, lease: Lease, payload: TitlesPayload) -> dict[str, Any]:
    """Draw `payload.n` titles from the project's discography."""
    with rt.reading() as session:
        sources = titles.discography(session, payload.project_id)
    lease.report(message=f"drawing {payload.n} titles from {len(sources)} song titles")
    try:
        texts = generate_titles(sources, payload.n, seed=payload.seed)
    except ValueError as exc:
        raise JobError(f"cannot generate titles: {exc}") from None
    lease.check()
    with lease.fenced() as session:
        rows = titles.store_titles(
            session, payload.project_id, lease.job_id, texts, replace=payload.replace
        )
        ids = [r.id for r in rows]
    return {"count": len(ids), "seed": payload.seed, "title_ids": ids[:1] + ids[-1:]}


# -- covers -------------------------------------------------------------------------------------


def run_covers(rt: Runtime, lease: Lease, payload: CoversPayload) -> dict[str, Any]:
    """Make `payload.n` covers by the paper's method `payload.method`."""
    project_id, method, n = payload.project_id, payload.method, payload.n
    with rt.reading() as session:
        inputs = covers.cover_inputs(session, rt.storage, project_id, method)
    made = []
    for i in range(n):
        lease.check()
        lease.report(progress=i / n, message=f"cover {i + 1} of {n} ({method})")
        made.append(
            make_cover(
                rt, project_id, lease.job_id, i, inputs, method=method, size=payload.size,
                seed=payload.seed + i, backend=payload.backend,
            )
        )
    with lease.fenced() as session:
        rows = covers.store_covers(
            session, project_id, lease.job_id, method, made, inputs.source_ids
        )
        ids = [r.id for r in rows]
    return {"cover_ids": ids, "backend": made[0].backend if made else None}


def make_cover(
    rt: Runtime,
    project_id: int,
    job_id: int,
    index: int,
    inputs: covers.CoverInputs,
    *,
    method: str,
    size: int,
    seed: int,
    backend: str,
) -> covers.MadeCover:
    """One cover image (the paper's method `method`), stored under its job's key."""
    config = cover_backends.cover_config(rt.settings)
    used = available_backends(config)[0] if backend == "auto" else backend
    if method == "photos":
        image = photo_style_cover(
            inputs.cover, inputs.photos, size=size, seed=seed, backend=used, config=config
        )
    else:
        image = self_style_cover(inputs.cover, size=size, seed=seed, backend=used, config=config)
    key = covers.original_key(project_id, job_id, index)
    rt.storage.write_bytes(key, cover_jpeg_bytes(image))
    return covers.MadeCover(key=key, backend=used, seed=seed, size=size)


# -- export -------------------------------------------------------------------------------------


def run_export(rt: Runtime, lease: Lease, payload: ExportPayload) -> dict[str, Any]:
    """Export the album snapshot in the payload."""
    release = export_release(rt, lease, payload)
    return export_result(payload.export_id, payload.album.album_id, release)


def export_release(
    rt: Runtime, lease: Lease, payload: ExportPayload, *, start: float = 0.0
) -> release_build.Release:
    """Render, master and package; keeps the Export row's status in step with the job's.
    Progress goes from `start` to 1."""
    export_id = payload.export_id
    with lease.fenced() as session:
        release_build.record_status(session, export_id, "running")
    try:
        with rt.reading() as session:
            plan = release_build.plan_export(
                session, rt.storage, export_id, payload.album, payload.formats
            )

        def report(progress: float, message: str) -> None:
            lease.report(progress=start + (1.0 - start) * progress, message=message)

        release = release_build.build_release(rt.storage, plan, report=report, check=lease.check)
        with lease.fenced() as session:
            release_build.record_release(session, export_id, release)
        return release
    except LeaseLost:
        raise
    except Stopped as stop:
        _end_export(lease, export_id, "cancelled" if stop.reason == "cancel" else "queued", None)
        raise
    except Exception as exc:
        refused = None if storage_failure(exc) else rt.storage.refusing_writes()
        _end_export(lease, export_id, "failed", describe(refused or exc))
        if refused is not None:
            raise refused from exc  # the job's error says the same: the disk, not the codec
        raise


def _end_export(lease: Lease, export_id: int, status: str, error: str | None) -> None:
    try:
        with lease.fenced() as session:
            release_build.record_status(session, export_id, status, error)
    except LeaseLost:
        pass  # another attempt owns the export now


def export_result(export_id: int, album_id: int, release: release_build.Release) -> dict[str, Any]:
    return {
        "export_id": export_id,
        "album_id": album_id,
        "export_url": f"{API}/exports/{export_id}",
        "download_url": f"{API}/exports/{export_id}/download",
        "album_url": f"{API}/albums/{album_id}",
        "size_bytes": release.size_bytes,
        "sha256": release.sha256,
        "notes": release.notes,
        "problems": release.problems,
    }


# -- the no-curation album ----------------------------------------------------------------------


def run_auto_album(rt: Runtime, lease: Lease, payload: AutoAlbumPayload) -> dict[str, Any]:
    """Random clips (or fresh ones), random titles, a generated cover, exported.

    Once the album's rows exist the payload records them (`made`), and a retry goes straight to
    exporting.
    """
    if payload.made is None:
        payload = _make_album(rt, lease, payload)
    made = payload.made
    assert made is not None
    export = ExportPayload(made.export_id, payload.formats, made.album)
    release = export_release(rt, lease, export, start=0.5)
    result = export_result(made.export_id, made.album.album_id, release)
    result.update(
        seed=payload.seed,
        mode=payload.mode,
        title=made.album.title,
        titles=[t.title for t in made.album.tracks],
        track_ids=[t.track_id for t in made.album.tracks],
        clip_ids=list(made.clip_ids),
        cover_id=made.album.cover_id,
        notes=[*made.notes, *release.notes],
    )
    return result


def _make_album(rt: Runtime, lease: Lease, payload: AutoAlbumPayload) -> AutoAlbumPayload:
    notes: list[str] = []
    project_id, seed = payload.project_id, payload.seed
    if payload.generate:
        pieces = _generate_pieces(rt, lease, payload, notes)
    else:
        pieces = list(payload.pieces)
    lease.check()
    lease.report(progress=0.4, message="drawing titles")
    with rt.reading() as session:
        sources = titles.discography(session, project_id)
        cover_inputs = _optional_cover(session, rt, project_id, notes)
    from_sound: tuple[int, ...] = ()
    if cover_inputs is None:
        lease.report(progress=0.42, message="drawing a cover from the album's sound")
        cover_inputs, from_sound = sound_cover_inputs(rt, lease, payload, pieces, notes)
    wanted = len(pieces) + (0 if payload.title else 1)
    names = auto_titles(sources, wanted, seed, notes)
    album_title = payload.title or names.pop(0) or "Untitled"
    names = [
        name or _fallback_title(payload.mode, piece, i)
        for i, (name, piece) in enumerate(zip(names, pieces, strict=True))
    ]
    made = None
    if cover_inputs is not None:
        lease.check()
        lease.report(progress=0.45, message="generating the cover")
        made = make_cover(
            rt, project_id, lease.job_id, 0, cover_inputs, method="self",
            size=auto_album.COVER_SIZE, seed=seed,
            backend=cover_backends.auto_album_backend(rt.settings),
        )
        made = replace(made, from_sound=from_sound)
    with lease.fenced() as session:
        payload = auto_album.materialize(
            session, rt.storage, lease.job_id, payload, pieces, names, album_title, made,
            cover_inputs.source_ids if cover_inputs else [], notes,
        )
        jobs.set_payload(session, lease.job_id, payload)
    assert payload.made is not None
    logger.info("auto album %d: %d tracks", payload.made.album.album_id, len(pieces))
    return payload


def _generate_pieces(
    rt: Runtime, lease: Lease, payload: AutoAlbumPayload, notes: list[str]
) -> list[AlbumPiece]:
    """Fresh clips from the chosen checkpoint, made by the clip-generation runner itself; the
    reservation of their indices goes into this job's own payload. They are analysed at once,
    and those with a hard flag are left out (unless `include_flagged`; all of them stay when
    every one is flagged, with a note)."""
    from worker.runners import generate_clips  # torch: only in the process that generates

    spec = payload.generate
    assert spec is not None
    lease.report(progress=0.0, message=f"generating {spec.n} clips of {spec.seconds} s")
    made = generate_clips(rt, lease, spec, lambda reserved: replace(payload, generate=reserved))
    with rt.reading() as session:
        pieces = auto_album.whole_clips(session, made.clip_ids)
    if payload.include_flagged:
        return pieces
    lease.report(progress=0.35, message="analysing the fresh clips")
    hard = analyse_now(rt, lease, payload.project_id, made.clip_ids)
    kept = [p for p in pieces if not hard.get(p.clip_id)]
    for p in pieces:
        if hard.get(p.clip_id):
            notes.append(f"Clip {p.clip_id} was left out: {', '.join(hard[p.clip_id])}.")
    if not kept:
        notes.append("Every fresh clip has a hard flag; the album uses them all anyway.")
        return pieces
    return kept


def _optional_cover(
    session: Session, rt: Runtime, project_id: int, notes: list[str]
) -> covers.CoverInputs | None:
    try:
        return covers.cover_inputs(session, rt.storage, project_id, "self")
    except DomainError:
        return None  # no cover uploaded: the album's sound makes one


def sound_cover_inputs(
    rt: Runtime, lease: Lease, payload: AutoAlbumPayload, pieces: Sequence[AlbumPiece],
    notes: list[str],
) -> tuple[covers.CoverInputs | None, tuple[int, ...]]:
    """A picture of the album's own sound (model/cover_sound.py: spectrograms of its pieces)
    as the "uploaded cover" of the self-style method, stored under the job's key; with the
    clips it was drawn from. (None, ()) when the pieces hold no sound at all."""
    with rt.reading() as session:
        paths = {c.id: rt.storage.path(c.audio_path) for c in
                 clip_catalog.clips_by_id(session, {p.clip_id for p in pieces})}
    used = [p for p in pieces if p.clip_id in paths][:MAX_SOUND_CLIPS]
    audio = []
    for piece in used:
        lease.check()
        with sf.SoundFile(str(paths[piece.clip_id])) as f:
            f.seek(int(piece.start_s * f.samplerate))
            frames = int((piece.end_s - piece.start_s) * f.samplerate)
            audio.append((f.read(frames, dtype="float32"), f.samplerate))
    try:
        image = sound_image(audio, size=1024, seed=payload.seed)
    except ValueError as exc:
        notes.append(f"No cover was generated: {exc}")
        return None, ()
    key = f"projects/{payload.project_id}/covers/job-{lease.job_id}-sound.png"
    buf = io.BytesIO()
    image.save(buf, format="PNG")
    rt.storage.write_bytes(key, buf.getvalue())
    notes.append("No cover was uploaded: the cover is drawn from the album's own sound.")
    source = covers.CoverInputs(cover=rt.storage.path(key), photos=[], source_ids=[])
    return source, tuple(p.clip_id for p in used)


def auto_titles(sources: Sequence[str], n: int, seed: int, notes: list[str]) -> list[str]:
    """`n` titles drawn at random from the discography's chains; "" where none could be drawn
    (too small a discography), with a note saying why."""
    try:
        drawn = generate_titles(sources, n, seed=seed)
    except ValueError as exc:
        notes.append(f"Titles are placeholders: {exc}")
        drawn = []
    return drawn + [""] * (n - len(drawn))


def _fallback_title(mode: str, piece: AlbumPiece, index: int) -> str:
    return f"Epoch {piece.epoch}" if mode == "epochs" else f"Track {index + 1}"
