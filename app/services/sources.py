"""Album audio uploaded to a project: decoded and checked before anything is kept."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import SourceTrack
from app.received import ReceivedFile
from app.services.errors import InvalidInput, NotFound, UnsupportedMedia
from app.services.projects import get_project
from app.storage import Storage, file_sha256
from model.audio import AudioError, AudioInfo, probe, validate


def check_audio(file: ReceivedFile) -> AudioInfo:
    """Decode the whole file. UnsupportedMedia when it is not audio we can read at all (HTML named
    .flac, random bytes), InvalidInput when it is audio but broken (empty, truncated, 0 frames).
    Messages name the client's file, not the temp path.
    """
    if file.size == 0:
        raise InvalidInput(f"{file.display_name}: file is empty (0 bytes)", file=file.display_name)
    try:
        probe(file.path)
    except AudioError as exc:
        name = file.display_name
        raise UnsupportedMedia(f"{name}: {exc.reason}", file=name) from None
    try:
        return validate(file.path)
    except AudioError as exc:
        raise InvalidInput(f"{file.display_name}: {exc.reason}", file=file.display_name) from None


def add_sources(
    session: Session, storage: Storage, project_id: int, files: Sequence[ReceivedFile]
) -> list[SourceTrack]:
    """Check every file, then keep all of them or none (rows and media files alike).

    The caller owns the temp files and deletes whatever is left of them afterwards.
    """
    if not files:
        raise InvalidInput("no audio files: send them in the multipart field 'files'")
    # Decode and hash before the first query: that query opens a write transaction (on SQLite it
    # holds the database lock) and decoding an album takes seconds.
    checked = [(f, check_audio(f), file_sha256(f.path)) for f in files]
    get_project(session, project_id)
    moved: list[Path] = []
    try:
        tracks = []
        for file, info, digest in checked:
            key = storage.new_key(project_id, "sources", "." + info.format.lower())
            moved.append(storage.put(file.path, key))
            tracks.append(
                SourceTrack(
                    project_id=project_id,
                    display_name=file.display_name,
                    path=key,
                    format=info.format,
                    sample_rate=info.sample_rate,
                    channels=info.channels,
                    frames=info.frames,
                    duration_s=info.seconds,
                    size_bytes=file.size,
                    sha256=digest,
                )
            )
        session.add_all(tracks)
        session.commit()
    except BaseException:
        session.rollback()
        for path in moved:
            path.unlink(missing_ok=True)
        raise
    return tracks


def list_sources(session: Session, project_id: int) -> list[SourceTrack]:
    get_project(session, project_id)
    query = select(SourceTrack).where(SourceTrack.project_id == project_id).order_by(SourceTrack.id)
    return list(session.scalars(query))


def get_source(session: Session, source_id: int) -> SourceTrack:
    track = session.get(SourceTrack, source_id)
    if track is None:
        raise NotFound("source track", source_id)
    return track
