"""Release exports, the request side: freeze an album into an Export and its job, and read
exports back (state, download name, the finished file).

Submitting an export freezes the album into the job's payload (title, artist, year, cover, the
release metadata, and each track's id, revision, title, join, composer, ISRC and credits), so
the zip is made of what the curator saw when clicking export, and exporting the same album again
gives the same audio (and, with nothing changed, the same zip byte for byte: the manifest holds
no timestamps or export ids). The build side, which the cpu worker runs, is
app/services/release_build.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from app import jobs
from app.audio.package import (
    AlbumMeta,
    release_folder,
)
from app.catalog import Album, Export, Job
from app.contract.kinds import EXPORT
from app.contract.payloads import AlbumSnapshot, ExportPayload, SnapshotCredit, SnapshotTrack
from app.queue import TaskQueue
from app.schemas.release import year_of
from app.services import albums
from app.services.errors import Conflict, NotFound
from app.services.jobs import scoped_key, submit
from app.storage import Storage

# -- API side -----------------------------------------------------------------------------------


def request_export(
    session: Session,
    queue: TaskQueue,
    album_id: int,
    formats: Sequence[str],
    *,
    idempotency_key: str | None = None,
) -> Export:
    """Freeze the album into a queued Export and its export job, commit, publish."""
    album = albums.get_album(session, album_id)
    key = scoped_key(f"export:{album_id}", idempotency_key)
    if not album.items:
        raise Conflict(f"album {album_id} has no tracks yet")
    snapshot = album_snapshot(session, album)
    chosen = export_formats(formats)

    def create(s: Session) -> Job:
        export = create_export(s, snapshot, chosen)
        job = jobs.create_job(
            s, EXPORT, ExportPayload(export.id, chosen, snapshot),
            project_id=album.project_id, idempotency_key=key,
        )
        export.job_id = job.id
        return job

    job, _ = submit(session, queue, key, create, request={"formats": list(chosen)})
    return session.scalars(select(Export).where(Export.job_id == job.id)).one()


def export_formats(formats: Sequence[str]) -> tuple[str, ...]:
    """FLAC masters always, then the copies asked for, in a stable order."""
    return ("flac", *sorted(set(formats) - {"flac"}))


def create_export(
    session: Session, snapshot: AlbumSnapshot, formats: Sequence[str], *, job_id: int | None = None
) -> Export:
    """Add the Export row of `snapshot` (no commit); the payload of the job that makes it names
    it, and `job_id` is set once that job exists."""
    export = Export(album_id=snapshot.album_id, job_id=job_id, formats=list(formats))
    session.add(export)
    session.flush()
    return export


def album_snapshot(session: Session, album: Album) -> AlbumSnapshot:
    """What an export of `album` is made of (track revisions pin the edit lists)."""
    revisions = {s.track_id: s.revision for s in albums.slots(session, album)[0]}
    return AlbumSnapshot(
        album_id=album.id,
        project_id=album.project_id,
        title=album.title,
        artist=album.artist,
        year=release_year(album),
        cover_id=album.cover_id,
        tracks=tuple(
            SnapshotTrack(
                track_id=item.track_id,
                revision=revisions[item.track_id],
                title=item.title,
                join_s=item.gap_s,
                composer=item.composer,
                isrc=item.isrc,
                credits=tuple(SnapshotCredit(c["role"], c["name"]) for c in item.credits or ()),
            )
            for item in album.items
        ),
        album_artist=album.album_artist,
        release_date=album.release_date,
        genre=album.genre,
        label=album.label,
        comment=album.comment,
        upc=album.upc,
        disc_number=album.disc_number,
        disc_total=album.disc_total,
    )


def release_year(album: Album) -> int:
    """The year of the album's release date, or the year it was created when it has none."""
    return year_of(album.release_date) or album.created_at.year


def get_export(session: Session, export_id: int) -> Export:
    export = session.get(Export, export_id)
    if export is None:
        raise NotFound("export", export_id)
    return export


def list_exports(session: Session, album_id: int) -> list[Export]:
    albums.get_album(session, album_id)
    query = select(Export).where(Export.album_id == album_id).order_by(Export.id)
    return list(session.scalars(query))


def export_state(session: Session, export: Export) -> dict[str, Any]:
    """Status, progress, message and error of an export: its job's while the job exists (the
    job row is the system of record), else what the export row recorded."""
    job = session.get(Job, export.job_id) if export.job_id is not None else None
    if job is None:
        done = export.status == "succeeded"
        return {"status": export.status, "progress": 1.0 if done else 0.0, "message": "",
                "error": export.error}
    status = "succeeded" if export.path and job.status == "succeeded" else job.status
    return {"status": status, "progress": job.progress, "message": job.message,
            "error": job.error or export.error}


def download_name(export: Export, session: Session) -> str:
    album = session.get(Album, export.album_id)
    if album is None:
        return f"export-{export.id}.zip"
    meta = AlbumMeta(title=album.title, artist=album.artist, year=release_year(album))
    return release_folder(meta) + ".zip"


def export_file(storage: Storage, export: Export) -> Path:
    """The finished zip; Conflict while the export is not done, NotFound if the file is gone."""
    if not export.path:
        raise Conflict(f"export {export.id} is not finished yet", export_status=export.status)
    path = storage.path(export.path)
    if not path.is_file():
        raise NotFound("export file", export.id)
    return path


def content_disposition(filename: str) -> str:
    """`attachment` with an ASCII fallback and the exact name as RFC 8187 `filename*`."""
    fallback = "".join(c if 32 <= ord(c) < 127 and c not in '"\\' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
