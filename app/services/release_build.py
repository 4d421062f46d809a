"""Release exports, the build side (run by the cpu worker): read the frozen album's plan, then
render, master and package it with no session open, and record the outcome.

The chain is UX.md §4's: render each track's EDL (float, 44.1 kHz) → sequence the joins
(`albums.assemble`) → `master_album` (stereo, one album gain to −14 LUFS, true peak ≤ −1 dBTP) →
24-bit FLAC → `build_release_zip` (tags with the release metadata + front cover, cover.jpg,
tracklist with start times, manifest.json, MP3/WAV copies, the continuous album.flac with its
album.cue). The request side is app/services/exports.py.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audio.master import (
    CEILING_DBTP,
    EXPORT_SAMPLE_RATE,
    TARGET_LUFS,
    master_album,
    write_flac,
)
from app.audio.package import AlbumMeta, ReleaseTrack, build_release_zip, track_file_name
from app.audio.render import render_track
from app.audio.timeline import to_samples
from app.catalog import Checkpoint, Clip, Cover, Export, Run, utcnow
from app.contract.payloads import AlbumSnapshot
from app.contract.plan import RunPlan
from app.services import albums, release_meta, track_renders
from app.services.errors import Conflict, NotFound
from app.storage import Storage, file_sha256

MANIFEST_FORMAT = "albumbot-release/1"

Report = Callable[[float, str], None]  # (progress 0..1, message)
Check = Callable[[], None]  # raises to stop between steps


@dataclass(frozen=True)
class PlannedTrack:
    number: int
    title: str
    join_s: float
    render: track_renders.RenderJob
    composer: str = ""
    isrc: str = ""
    credits: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ExportPlan:
    """Everything `build_release` needs, read in one short transaction."""

    export_id: int
    project_id: int
    key: str  # storage key of the zip
    meta: AlbumMeta
    cover_path: Path | None
    formats: list[str]
    tracks: list[PlannedTrack]
    provenance: dict[str, Any]  # album, cover, clips and runs for the manifest
    warnings: list[str] = field(default_factory=list)  # metadata a distributor asks for


def export_key(project_id: int, export_id: int) -> str:
    return f"projects/{int(project_id)}/exports/{int(export_id)}.zip"


def plan_export(
    session: Session, storage: Storage, export_id: int, snapshot: AlbumSnapshot,
    formats: Sequence[str],
) -> ExportPlan:
    """Read what the frozen album needs: each track's edit list at its recorded revision, the
    clip files, the cover, and the provenance rows. Ends the transaction before returning.

    Raises DomainError (Conflict/NotFound) naming the track when something is missing.
    """
    planned = []
    for number, t in enumerate(snapshot.tracks, start=1):
        try:
            render = track_renders.render_job(session, storage, t.track_id, t.revision)
        except (Conflict, NotFound) as exc:
            raise Conflict(f"track {number} ({t.title or 'untitled'}): {exc.message}") from None
        planned.append(PlannedTrack(
            number, t.title, t.join_s, render, composer=t.composer, isrc=t.isrc,
            credits=tuple((c.role, c.name) for c in t.credits),
        ))
    cover = session.get(Cover, snapshot.cover_id) if snapshot.cover_id else None
    cover_path = storage.path(cover.path) if cover is not None else None
    if cover is not None and cover_path is not None and not cover_path.is_file():
        raise Conflict(f"the image file of cover {cover.id} is missing")
    clip_ids = sorted({int(c) for p in planned for c in p.render.edl.clip_ids()})
    clips = _clip_provenance(session, clip_ids)
    provenance = {
        "album": {
            "album_id": snapshot.album_id, "project_id": snapshot.project_id,
            "title": snapshot.title, "artist": snapshot.artist, "year": snapshot.year,
            "album_artist": snapshot.album_artist, "release_date": snapshot.release_date,
            "genre": snapshot.genre, "label": snapshot.label, "upc": snapshot.upc,
            "disc_number": snapshot.disc_number, "disc_total": snapshot.disc_total,
        },
        "cover": _cover_provenance(cover),
        "clips": clips,
        "runs": _run_provenance(session, {int(c["run_id"]) for c in clips}),
    }
    session.rollback()
    meta = AlbumMeta(
        title=snapshot.title, artist=snapshot.artist, year=snapshot.year,
        album_artist=snapshot.album_artist, date=snapshot.release_date, genre=snapshot.genre,
        comment=snapshot.comment
        or f"Generated with SampleRNN by albumbot (project {snapshot.project_id})",
        label=snapshot.label, barcode=snapshot.upc, disc_number=snapshot.disc_number,
        disc_total=snapshot.disc_total,
    )
    track_meta = [release_meta.TrackMeta(t.composer, t.isrc) for t in snapshot.tracks]
    warnings = release_meta.warnings(
        release_date=snapshot.release_date, genre=snapshot.genre, label=snapshot.label,
        upc=snapshot.upc, tracks=track_meta,
    )
    return ExportPlan(
        export_id=export_id, project_id=snapshot.project_id,
        key=export_key(snapshot.project_id, export_id), meta=meta, cover_path=cover_path,
        formats=list(formats), tracks=planned, provenance=provenance, warnings=warnings,
    )


def _cover_provenance(cover: Cover | None) -> dict[str, Any] | None:
    if cover is None:
        return None
    return {"id": cover.id, "method": cover.method, "job_id": cover.job_id, **cover.params}


def _clip_provenance(session: Session, clip_ids: list[int]) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Clip, Checkpoint.step)
        .join(Checkpoint, Checkpoint.id == Clip.checkpoint_id)
        .where(Clip.id.in_(clip_ids))
        .order_by(Clip.id)
    )
    return [
        {
            "id": clip.id, "run_id": clip.run_id, "epoch": clip.epoch,
            "checkpoint_id": clip.checkpoint_id, "checkpoint_step": step, "index": clip.index,
            "seed": clip.seed, "temperature": clip.temperature, "sample_rate": clip.sample_rate,
            "duration_s": clip.duration_s,
        }
        for clip, step in rows
    ]


def _run_provenance(session: Session, run_ids: set[int]) -> list[dict[str, Any]]:
    runs = session.scalars(select(Run).where(Run.id.in_(run_ids)).order_by(Run.id))
    out = []
    for run in runs:
        plan = RunPlan.from_dict(run.config)
        out.append({
            "id": run.id, "preset": plan.preset, "seed": plan.seed,
            "sample_rate": plan.sample_rate, "model": plan.model.to_dict(),
        })
    return out


@dataclass(frozen=True)
class Release:
    key: str
    size_bytes: int
    sha256: str
    notes: list[str]
    problems: list[str]


def build_release(storage: Storage, plan: ExportPlan, *, report: Report, check: Check) -> Release:
    """Render, sequence, master, encode and package the album into `plan.key` (atomically).

    Holds no database session. `report(progress, message)` is called between steps and
    `check()` may raise to stop (cooperative cancel); nothing is left behind when it does.
    """
    sr = EXPORT_SAMPLE_RATE
    steps = len(plan.tracks) + 3
    files = {k: v for p in plan.tracks for k, v in p.render.clip_files.items()}
    load = albums.clip_loader(files)
    rendered = []
    for p in plan.tracks:
        check()
        report(p.number / steps * 0.9, f"rendering track {p.number} of {len(plan.tracks)}")
        rendered.append(render_track(p.render.edl, load, sample_rate=sr))
    joins = [p.join_s for p in plan.tracks]
    titles = [p.title for p in plan.tracks]
    problems = albums.album_problems(
        has_cover=plan.cover_path is not None, titles=titles, audios=rendered, joins=joins,
        sample_rate=sr,
    ) + release_meta.duplicate_isrcs(
        [release_meta.TrackMeta(p.composer, p.isrc) for p in plan.tracks]
    )
    sequenced = albums.assemble(rendered, joins, sr)
    del rendered
    check()
    report((steps - 2) / steps * 0.9, "mastering (album loudness, true-peak limit)")
    mastered = master_album(sequenced, sr)
    del sequenced
    check()
    report((steps - 1) / steps * 0.9, "writing FLAC masters and the release zip")
    dest = storage.path(plan.key)
    dest.parent.mkdir(parents=True, exist_ok=True)
    storage.ensure()
    staging = Path(tempfile.mkdtemp(prefix="export-", dir=storage.tmp_dir))
    try:
        masters = [
            write_flac(staging / f"{p.number:04d}.flac", audio, sr, bits=24, seed=p.number)
            for p, audio in zip(plan.tracks, mastered.tracks, strict=True)
        ]
        levels = mastered.report()
        per_track = _track_entries(plan, levels.pop("tracks"))
        manifest = {
            "format": MANIFEST_FORMAT,
            **plan.provenance,
            "tracks": per_track,
            "mastering": {**levels, "target_lufs": TARGET_LUFS, "ceiling_dbtp": CEILING_DBTP,
                          "bits": 24},
            "checks": problems,
            "warnings": plan.warnings,
            "formats": plan.formats,
        }
        result = build_release_zip(
            dest, plan.meta, release_tracks(plan, masters, sr), plan.cover_path, manifest,
            formats=plan.formats, wav_bits=24,
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Release(
        key=plan.key, size_bytes=dest.stat().st_size, sha256=file_sha256(dest),
        notes=result.notes, problems=problems,
    )


def release_tracks(plan: ExportPlan, masters: Sequence[Path], sr: int) -> list[ReleaseTrack]:
    """The mastered files with their metadata and the silence each join put at their end."""
    last = len(plan.tracks)
    return [
        ReleaseTrack(
            p.title, m, composer=p.composer, isrc=p.isrc, credits=p.credits,
            gap_after=to_samples(p.join_s, sr) if p.join_s > 0 and p.number < last else 0,
        )
        for p, m in zip(plan.tracks, masters, strict=True)
    ]


def _track_entries(plan: ExportPlan, levels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    total = len(plan.tracks)
    out = []
    for p, level in zip(plan.tracks, levels, strict=True):
        gap_ms, crossfade_ms = albums.join_ms(p.join_s)
        last = p.number == total
        out.append(
            {
                "number": p.number,
                "title": p.title,
                "file": track_file_name(p.number, total, p.title, ".flac"),
                "track_id": p.render.track_id,
                "revision": p.render.revision,
                "edl": p.render.edl.to_json(),
                "clip_ids": sorted(int(c) for c in p.render.edl.clip_ids()),
                "gap_after_ms": None if last else gap_ms,
                "crossfade_after_ms": None if last else crossfade_ms,
                "composer": p.composer,
                "isrc": p.isrc,
                "credits": [{"role": r, "name": n} for r, n in p.credits],
                **level,
            }
        )
    return out


def record_release(session: Session, export_id: int, release: Release) -> None:
    """Mark the export succeeded with its file; no commit (joins the worker's fenced update)."""
    export = session.get(Export, export_id)
    if export is None:
        raise NotFound("export", export_id)
    export.status, export.path, export.size_bytes, export.error = (
        "succeeded", release.key, release.size_bytes, None,
    )
    export.updated_at = utcnow()


def record_status(
    session: Session, export_id: int, status: str, error: str | None = None
) -> None:
    """Set an unfinished export's status (running, failed, cancelled, queued); no commit."""
    export = session.get(Export, export_id)
    if export is not None and export.status != "succeeded":
        export.status, export.error, export.updated_at = status, error, utcnow()
