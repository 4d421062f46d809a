"""The project archive's layout: which catalog tables travel, how their rows become JSON, and
which columns hold ids or storage keys that an import must remap.

An archive is a zip:

- `catalog.json`: `{"tables": {name: [row, ...]}, "track_revisions": {track id: [doc, ...]}}`,
  every column of every row of the project (ids and keys as they were at home), tables in
  dependency order (TABLES), and every song's saved edit-list revisions (the history kept
  beside the media, app/services/tracks.py);
- `files/NNNNNN.ext`: one member per media file the rows point at (names made here, never taken
  from the catalog, so no member name can steer an extraction);
- `manifest.json` (last, so hashes are known when it is written): format and version, the
  schema revision, the project, row counts, and per file its member name, the storage key it had
  at home, size and SHA-256; plus the SHA-256 of catalog.json.

What does not travel: jobs (operational history; every `job_id` becomes null), datasets (a
cache of chunks rebuilt from the sources; `runs.dataset_id` becomes null), rendered track and
album audio (made on demand), exports still queued or running.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import inspect
from sqlalchemy.orm import DeclarativeBase

from app.catalog import (
    Album,
    AlbumTrack,
    Checkpoint,
    Clip,
    Cover,
    Export,
    Marker,
    Project,
    Run,
    SourceImage,
    SourceTitle,
    SourceTrack,
    Title,
    Track,
)
from app.catalog.base import UTCDateTime

FORMAT = "albumbot-project"
VERSION = 1
CATALOG_NAME = "catalog.json"
MANIFEST_NAME = "manifest.json"

# Dependency order: a row's parents come before it.
TABLES: tuple[tuple[str, type[DeclarativeBase]], ...] = (
    ("projects", Project),
    ("source_tracks", SourceTrack),
    ("source_titles", SourceTitle),
    ("source_images", SourceImage),
    ("runs", Run),
    ("checkpoints", Checkpoint),
    ("clips", Clip),
    ("markers", Marker),
    ("tracks", Track),
    ("titles", Title),
    ("covers", Cover),
    ("albums", Album),
    ("album_tracks", AlbumTrack),
    ("exports", Export),
)
MODELS = dict(TABLES)
# Foreign keys to rows of the archive: (table, column) -> the table it points into.
REFS: dict[tuple[str, str], str] = {
    **{(t, "project_id"): "projects" for t in (
        "source_tracks", "source_titles", "source_images", "runs", "clips", "tracks", "titles",
        "covers", "albums",
    )},
    ("checkpoints", "run_id"): "runs",
    ("clips", "checkpoint_id"): "checkpoints",
    ("clips", "run_id"): "runs",
    ("markers", "clip_id"): "clips",
    ("albums", "cover_id"): "covers",
    ("album_tracks", "album_id"): "albums",
    ("album_tracks", "track_id"): "tracks",
    ("exports", "album_id"): "albums",
}
# Foreign keys to what does not travel: nulled on import.
DROPPED: frozenset[tuple[str, str]] = frozenset({
    ("runs", "dataset_id"), ("runs", "job_id"), ("clips", "job_id"), ("titles", "job_id"),
    ("covers", "job_id"), ("exports", "job_id"),
})
# Columns holding storage keys of media files.
FILE_COLUMNS: dict[str, tuple[str, ...]] = {
    "source_tracks": ("path",),
    "source_images": ("path",),
    "checkpoints": ("path",),
    "clips": ("audio_path", "peaks_path"),
    "covers": ("path",),
    "exports": ("path",),
}


@dataclass(frozen=True)
class FileEntry:
    """One media file in the archive."""

    name: str  # member name, files/NNNNNN.ext
    key: str  # its storage key at home
    size: int  # bytes
    sha256: str


def columns(model: type[DeclarativeBase]) -> dict[str, Any]:
    """Attribute name -> column type of every mapped column of `model`."""
    return {attr.key: attr.columns[0].type for attr in inspect(model).column_attrs}


def encode_row(obj: DeclarativeBase) -> dict[str, Any]:
    """Every column of a row as JSON values (timestamps as ISO 8601 with their zone)."""
    out: dict[str, Any] = {}
    for key in columns(type(obj)):
        value = getattr(obj, key)
        out[key] = value.isoformat() if isinstance(value, datetime) else value
    return out


def decode_row(model: type[DeclarativeBase], row: dict[str, Any]) -> dict[str, Any]:
    """`encode_row` undone: ISO strings back to aware datetimes for timestamp columns."""
    types = columns(model)
    out = dict(row)
    for key, value in row.items():
        if isinstance(types[key], UTCDateTime) and isinstance(value, str):
            out[key] = datetime.fromisoformat(value)
    return out


def member_name(index: int, key: str) -> str:
    """The archive member of the `index`-th file: a number and the key's extension, if plain."""
    tail = key.rsplit("/", 1)[-1]
    ext = tail.rsplit(".", 1)[-1].lower() if "." in tail else ""
    safe = ext if ext.isalnum() and len(ext) <= 8 else ""
    return f"files/{index:06d}" + (f".{safe}" if safe else "")


def remap_edl(edl: Any, clip_id: Callable[[Any], Any]) -> Any:
    """A track's edit list with every item's `clip_id` passed through `clip_id`. Both stored
    shapes: a bare item list (the first) and `{"items": [...], ...}` (app/audio/edl.py)."""
    def item(i: Any) -> Any:
        if isinstance(i, dict) and "clip_id" in i:
            return {**i, "clip_id": clip_id(i["clip_id"])}
        return i

    if isinstance(edl, list):
        return [item(i) for i in edl]
    if isinstance(edl, dict) and isinstance(edl.get("items"), list):
        return {**edl, "items": [item(i) for i in edl["items"]]}
    return edl


def revision_name(revision: int) -> str:
    """A saved revision's file in its track's folder (app/services/tracks.py)."""
    return f"rev-{int(revision):06d}.json"


def file_keys(table: str, row: dict[str, Any]) -> list[str]:
    """The storage keys a row points at (a cover's generated original included)."""
    keys = [row[c] for c in FILE_COLUMNS.get(table, ()) if row.get(c)]
    if table == "covers":
        original = (row.get("params") or {}).get("original")
        if original:
            keys.append(str(original))
    return keys
