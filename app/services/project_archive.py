"""Export a whole project as one zip (layout: app/services/archive_format.py), streamed.

`snapshot` reads every row of the project in one read transaction and notes which media files
exist; `stream_archive` then writes the zip with no transaction open, file by file in 1 MiB
blocks, hashing as it goes, and yields its bytes as they are made: memory stays bounded however
large the project is, and the manifest (written last) carries every file's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import TERMINAL_STATUSES, Album, AlbumTrack, Checkpoint, Clip, Export, Marker, Run
from app.services import archive_format as fmt
from app.services import tracks
from app.services.projects import get_project
from app.storage import Storage

BLOCK = 1 << 20
# Fixed member timestamps: members depend on the project alone (only the manifest's
# created_at says when).
_STAMP = (2026, 1, 1, 0, 0, 0)
CheckpointChoice = Literal["all", "none"] | frozenset[int]


@dataclass
class Snapshot:
    """The rows of one project and the files they point at, read at one moment."""

    project_id: int
    project_name: str
    tables: dict[str, list[dict[str, Any]]]
    keys: list[str]  # storage keys to pack, in archive order
    missing: list[str] = field(default_factory=list)  # keys whose file is absent (not packed)
    revisions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # per track id


def snapshot(
    session: Session, storage: Storage, project_id: int, *, checkpoints: CheckpointChoice = "all"
) -> Snapshot:
    """Every row of the project; `checkpoints` says which checkpoint FILES travel ("all",
    "none", or a set of checkpoint ids: the chosen ones). Every checkpoint row travels."""
    project = get_project(session, project_id)
    rows = _rows(session, project_id)
    tables = {name: [fmt.encode_row(r) for r in rows[name]] for name, _ in fmt.TABLES}
    keys: list[str] = []
    missing: list[str] = []
    seen: set[str] = set()
    for name, _ in fmt.TABLES:
        for row in tables[name]:
            if name == "checkpoints" and not _chosen(row["id"], checkpoints):
                continue
            for key in fmt.file_keys(name, row):
                if key in seen:
                    continue
                seen.add(key)
                (keys if _is_file(storage, key) else missing).append(key)
    revisions = {
        str(track.id): [
            {"revision": r.revision, "saved_at": r.saved_at.isoformat(), "name": r.name,
             "edl": r.edl}
            for r in tracks.list_revisions(storage, track)
        ]
        for track in rows["tracks"]
    }
    return Snapshot(project_id, project.name, tables, keys, missing, revisions)


def _chosen(checkpoint_id: int, choice: CheckpointChoice) -> bool:
    if choice == "all":
        return True
    if choice == "none":
        return False
    return checkpoint_id in choice


def _is_file(storage: Storage, key: str) -> bool:
    try:
        return storage.path(key).is_file()
    except ValueError:  # a key that is not one (a hand-made row); nothing to pack
        return False


def _rows(session: Session, project_id: int) -> dict[str, list[Any]]:
    def of(model: Any, *where: Any) -> list[Any]:
        return list(session.scalars(select(model).where(*where).order_by(model.id)))

    runs = of(Run, Run.project_id == project_id)
    run_ids = [r.id for r in runs]
    albums = of(Album, Album.project_id == project_id)
    album_ids = [a.id for a in albums]
    clip_ids = select(Clip.id).where(Clip.project_id == project_id)
    rows: dict[str, list[Any]] = {}
    for name, model in fmt.TABLES:
        if name == "runs":
            rows[name] = runs
        elif name == "checkpoints":
            rows[name] = of(Checkpoint, Checkpoint.run_id.in_(run_ids))
        elif name == "markers":
            rows[name] = of(Marker, Marker.clip_id.in_(clip_ids))
        elif name == "albums":
            rows[name] = albums
        elif name == "album_tracks":
            rows[name] = of(AlbumTrack, AlbumTrack.album_id.in_(album_ids))
        elif name == "exports":
            rows[name] = of(
                Export, Export.album_id.in_(album_ids), Export.status.in_(TERMINAL_STATUSES)
            )
        elif name == "projects":
            rows[name] = of(model, model.id == project_id)  # type: ignore[attr-defined]
        else:
            rows[name] = of(model, model.project_id == project_id)  # type: ignore[attr-defined]
    return rows


class _Sink:
    """A write-only stream zipfile writes into; `take()` hands over what was written so far.
    (No `tell`/`seek`: zipfile then writes data descriptors, as for a socket.)"""

    def __init__(self) -> None:
        self._buf = bytearray()

    def write(self, data: bytes) -> int:
        self._buf += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def take(self) -> bytes:
        out = bytes(self._buf)
        self._buf.clear()
        return out


def stream_archive(snap: Snapshot, storage: Storage, *, schema_revision: str | None = None
                   ) -> Iterator[bytes]:
    """The zip of `snap`, as chunks of bytes (each at most about 1 MiB)."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", allowZip64=True) as archive:
        catalog = json.dumps({"tables": snap.tables, "track_revisions": snap.revisions},
                             ensure_ascii=False,
                             separators=(",", ":")).encode()
        _drain(_write(archive, fmt.CATALOG_NAME, [catalog], compress=True))
        yield sink.take()
        entries = []
        for i, key in enumerate(snap.keys):
            name = fmt.member_name(i, key)
            digest, size = hashlib.sha256(), 0
            for block in _write(archive, name, _blocks(storage, key), compress=False):
                digest.update(block)
                size += len(block)
                yield sink.take()
            entries.append({"name": name, "key": key, "size": size, "sha256": digest.hexdigest()})
        manifest = {
            "format": fmt.FORMAT,
            "version": fmt.VERSION,
            "schema_revision": schema_revision,
            "created_at": datetime.now(UTC).isoformat(),
            "project": {"id": snap.project_id, "name": snap.project_name},
            "counts": {name: len(rows) for name, rows in snap.tables.items()},
            "catalog_sha256": hashlib.sha256(catalog).hexdigest(),
            "files": entries,
            "missing_at_home": snap.missing,
        }
        body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
        _drain(_write(archive, fmt.MANIFEST_NAME, [body], compress=True))
    yield sink.take()


def _write(archive: zipfile.ZipFile, name: str, blocks: Iterable[bytes], *, compress: bool
           ) -> Iterator[bytes]:
    """Write one member from `blocks`, yielding each block once it is in the zip. (A generator:
    callers that do not iterate it get nothing written, so one-shot uses `_drain` it.)"""
    info = zipfile.ZipInfo(name, date_time=_STAMP)
    info.compress_type = zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED
    with archive.open(info, "w", force_zip64=True) as dest:
        for block in blocks:
            dest.write(block)
            yield block


def _drain(blocks: Iterator[bytes]) -> None:
    for _ in blocks:
        pass


def _blocks(storage: Storage, key: str) -> Iterator[bytes]:
    with open(storage.path(key), "rb") as f:
        while block := f.read(BLOCK):
            yield block


def archive_filename(snap: Snapshot) -> str:
    return f"albumbot-project-{snap.project_id}.zip"
