"""Import a project archive (app/services/archive_format.py) as a new project of this install.

Checked before anything is written (RELIABILITY B25): the manifest's format and version, the
catalog's SHA-256, that every table and column is one this albumbot knows, the member count and
the declared sizes against a cap. Then every file is copied out of the zip into media temp
files while counting its bytes (headers can lie) and hashing them; a size or hash that differs
from the manifest refuses the archive. Only then are the rows inserted, ids remapped, in one
transaction; files move into place just before the commit and are removed again if it fails.
Nothing half-imported remains either way.
"""

from __future__ import annotations

import hashlib
import json
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from app.catalog import TERMINAL_STATUSES, Project
from app.services import archive_format as fmt
from app.services.errors import InvalidInput, TooLarge
from app.storage import Storage

MAX_JSON_BYTES = 512 * 1024 * 1024  # catalog.json of a very large project is tens of MB
MAX_MEMBERS = 2_000_000
BLOCK = 1 << 20


@dataclass(frozen=True)
class ImportedProject:
    project: Project
    counts: dict[str, int]  # rows per table
    files: int  # media files brought in
    ids: dict[str, dict[int, int]]  # table -> {id in the archive: id here}


def import_archive(
    session: Session, storage: Storage, archive_path: Path, *, max_bytes: int
) -> ImportedProject:
    """A new project from the archive at `archive_path`; InvalidInput (422) says what is wrong,
    TooLarge (413) when its contents exceed `max_bytes`."""
    try:
        archive = zipfile.ZipFile(archive_path)
    except (zipfile.BadZipFile, OSError):
        raise InvalidInput("not a project archive: the file is not a zip") from None
    with archive:
        manifest, catalog = _read_catalog(archive, max_bytes)
        temps = _extract_files(archive, storage, manifest["files"])
    try:
        return _insert(session, storage, catalog, temps)
    except (TypeError, ValueError, KeyError, AttributeError, SQLAlchemyError) as exc:
        # Rows that passed the name checks but not the catalog's types or constraints (the
        # transaction is rolled back already). DomainErrors are not among these.
        detail = str(exc).splitlines()[0][:300]
        raise InvalidInput(f"the archive's rows do not fit this catalog: {detail}") from None
    finally:
        for temp in temps.values():
            temp.unlink(missing_ok=True)


def _read_json(archive: zipfile.ZipFile, name: str) -> tuple[Any, bytes]:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise InvalidInput(f"not a project archive: it has no {name}") from None
    if info.file_size > MAX_JSON_BYTES:
        raise TooLarge(f"{name} is larger than {MAX_JSON_BYTES} bytes")
    data = _read_capped(archive, info, MAX_JSON_BYTES)
    try:
        return json.loads(data), data
    except ValueError as exc:
        raise InvalidInput(f"{name} is not valid JSON ({exc})") from None


def _read_capped(archive: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int) -> bytes:
    out = bytearray()
    with archive.open(info) as src:
        while block := src.read(BLOCK):
            out += block
            if len(out) > cap:
                raise TooLarge(f"{info.filename} is larger than {cap} bytes")
    return bytes(out)


def _read_catalog(
    archive: zipfile.ZipFile, max_bytes: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    infos = archive.infolist()
    if len(infos) > MAX_MEMBERS:
        raise TooLarge(f"the archive has {len(infos)} members (at most {MAX_MEMBERS})")
    manifest, _ = _read_json(archive, fmt.MANIFEST_NAME)
    if not isinstance(manifest, dict) or manifest.get("format") != fmt.FORMAT:
        raise InvalidInput("not a project archive: its manifest is not an albumbot project's")
    if manifest.get("version") != fmt.VERSION:
        raise InvalidInput(
            f"project archive version {manifest.get('version')!r} is not supported "
            f"(this albumbot reads version {fmt.VERSION})"
        )
    catalog, raw = _read_json(archive, fmt.CATALOG_NAME)
    if hashlib.sha256(raw).hexdigest() != manifest.get("catalog_sha256"):
        raise InvalidInput("catalog.json does not match the manifest's SHA-256 (damaged archive)")
    tables = catalog.get("tables") if isinstance(catalog, dict) else None
    if not isinstance(tables, dict):
        raise InvalidInput("catalog.json has no tables")
    for name in tables:
        if name not in fmt.MODELS:
            raise InvalidInput(f"the archive has a table {name!r} this albumbot does not know")
    for name, rows in tables.items():
        known = set(fmt.columns(fmt.MODELS[name]))
        for row in rows:
            unknown = set(row) - known
            if unknown:
                raise InvalidInput(
                    f"the archive's {name} have columns this albumbot does not know "
                    f"({', '.join(sorted(unknown))}): it comes from a newer albumbot"
                )
    if len(tables.get("projects", [])) != 1:
        raise InvalidInput("the archive must hold exactly one project")
    files = manifest.get("files")
    if not isinstance(files, list):
        raise InvalidInput("the manifest lists no files")
    total = 0
    for entry in files:
        try:
            info = archive.getinfo(str(entry["name"]))
        except (KeyError, TypeError):
            raise InvalidInput(f"the manifest names a file the archive lacks: {entry!r}") from None
        if info.file_size != entry.get("size"):
            raise InvalidInput(f"{info.filename}: its size differs from the manifest's")
        total += info.file_size
    if total > max_bytes:
        raise TooLarge(f"the archive's files hold {total} bytes; this install takes {max_bytes}")
    return manifest, catalog


def _extract_files(
    archive: zipfile.ZipFile, storage: Storage, entries: list[dict[str, Any]]
) -> dict[str, Path]:
    """Home storage key -> a verified temp copy on the media filesystem."""
    temps: dict[str, Path] = {}
    try:
        for entry in entries:
            info = archive.getinfo(str(entry["name"]))
            temp = storage.temp_path(Path(info.filename).suffix)
            temps[str(entry["key"])] = temp
            digest, size = hashlib.sha256(), 0
            with archive.open(info) as src, open(temp, "wb") as dst:
                while block := src.read(BLOCK):
                    size += len(block)
                    if size > info.file_size:
                        raise InvalidInput(f"{info.filename}: more bytes than its header says")
                    digest.update(block)
                    dst.write(block)
            if size != entry["size"] or digest.hexdigest() != entry["sha256"]:
                raise InvalidInput(f"{info.filename}: its SHA-256 differs from the manifest's")
    except BaseException:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        raise
    return temps


class _Remap:
    """Archive ids -> new ids, table by table, and home keys -> new keys."""

    def __init__(self) -> None:
        self.ids: dict[str, dict[int, int]] = {name: {} for name, _ in fmt.TABLES}
        self.keys: dict[str, str] = {}

    def id(self, table: str, old: Any) -> int | None:
        if old is None:
            return None
        try:
            return self.ids[table][int(old)]
        except KeyError:
            raise InvalidInput(
                f"the archive refers to {table} {old}, which it does not hold"
            ) from None


def _new_key(project_id: int, table: str, row: dict[str, Any], old: str, column: str) -> str:
    """Where an imported file goes. Checkpoints and clips keep the layout the workers use
    (per run, by epoch and index), so new clips of an imported run never take their names;
    everything else gets a fresh unique name."""
    tail = old.rsplit("/", 1)[-1]
    suffix = "." + tail.rsplit(".", 1)[-1].lower() if "." in tail else ""
    suffix = suffix if suffix[1:].isalnum() else ""
    run = f"projects/{project_id}/runs/{row.get('run_id')}"
    if table == "checkpoints":
        return f"{run}/checkpoints/epoch-{row['epoch']:04d}.pt"
    if table == "clips":
        stem = f"{run}/clips/e{row['epoch']:04d}-{row['index']:04d}"
        return stem + (".peaks.json" if column == "peaks_path" else suffix or ".wav")
    kind = {"source_tracks": "sources", "source_images": "images"}.get(table, table)
    return f"projects/{project_id}/{kind}/imported-{uuid.uuid4().hex}{suffix}"


def _insert(
    session: Session, storage: Storage, catalog: dict[str, Any], temps: dict[str, Path]
) -> ImportedProject:
    tables: dict[str, list[dict[str, Any]]] = catalog["tables"]
    revisions = catalog.get("track_revisions") or {}
    remap = _Remap()
    moved: list[str] = []
    counts: dict[str, int] = {}
    try:
        project_id = 0
        for name, model in fmt.TABLES:
            rows = tables.get(name, [])
            objs = []
            for row in rows:
                values = _remapped(name, fmt.decode_row(model, row), remap)
                values.pop("id", None)
                _rekey(name, values, project_id, remap)  # before the INSERT: no UPDATE later
                objs.append(model(**values))
            session.add_all(objs)
            session.flush()
            for row, obj in zip(rows, objs, strict=True):
                remap.ids[name][int(row["id"])] = obj.id  # type: ignore[attr-defined]
            if name == "projects":
                project_id = objs[0].id  # type: ignore[attr-defined]
            counts[name] = len(objs)
        session.flush()
        for old, new in remap.keys.items():
            if old in temps:
                storage.put(temps[old], new)
                moved.append(new)
        files = len(moved)
        moved += _write_revisions(storage, project_id, revisions, remap)
        session.commit()
    except BaseException:
        session.rollback()
        for key in moved:
            storage.delete(key)
        raise
    project = session.get(Project, project_id)
    assert project is not None
    return ImportedProject(project, counts, files, remap.ids)


def _remapped(table: str, values: dict[str, Any], remap: _Remap) -> dict[str, Any]:
    for (t, column), target in fmt.REFS.items():
        if t == table and column in values:
            values[column] = remap.id(target, values[column])
    for t, column in fmt.DROPPED:
        if t == table and column in values:
            values[column] = None
    if table == "runs" and values.get("status") not in TERMINAL_STATUSES:
        # No job drives it here: show it stopped (resumable) rather than running forever.
        values["error"] = f"imported while {values.get('status')}"
        values["status"] = "cancelled"
    if table == "clips" and isinstance(values.get("closeness"), dict):
        closeness = dict(values["closeness"])
        if "source_track_id" in closeness:
            closeness["source_track_id"] = remap.id("source_tracks", closeness["source_track_id"])
        values["closeness"] = closeness
    if table == "covers" and isinstance(values.get("params"), dict):
        params = dict(values["params"])
        for field_name, target in (("sources", "source_images"), ("from_sound", "clips")):
            if isinstance(params.get(field_name), list):
                params[field_name] = [remap.id(target, i) for i in params[field_name]]
        values["params"] = params
    return values


def _rekey(table: str, values: dict[str, Any], project_id: int, remap: _Remap) -> None:
    """Give a row's file columns their new keys (and a song's edit list its new clip ids)."""
    for column in fmt.FILE_COLUMNS.get(table, ()):
        old = values.get(column)
        if old:
            if old not in remap.keys:
                remap.keys[old] = _new_key(project_id, table, values, old, column)
            values[column] = remap.keys[old]
    params = values.get("params")
    if table == "covers" and isinstance(params, dict) and params.get("original"):
        old = str(params["original"])
        if old not in remap.keys:
            remap.keys[old] = _new_key(project_id, table, values, old, "path")
        values["params"] = {**params, "original": remap.keys[old]}
    if table == "tracks":
        values["edl"] = fmt.remap_edl(values.get("edl"), lambda i: remap.id("clips", i))


def _write_revisions(
    storage: Storage, project_id: int, revisions: dict[str, Any], remap: _Remap
) -> list[str]:
    """The songs' saved revisions in their new folders, clip ids remapped; returns the keys."""
    written = []
    for old_track, docs in revisions.items():
        track_id = remap.id("tracks", old_track)
        for doc in docs if isinstance(docs, list) else []:
            doc = {**doc, "edl": fmt.remap_edl(doc.get("edl"), lambda i: remap.id("clips", i))}
            key = f"projects/{project_id}/tracks/{track_id}/{fmt.revision_name(doc['revision'])}"
            storage.write_bytes(key, json.dumps(doc).encode())
            written.append(key)
    return written


def read_manifest(stream: IO[bytes]) -> dict[str, Any]:
    """The manifest of an archive (for the CLI's summary)."""
    with zipfile.ZipFile(stream) as archive:
        manifest, _ = _read_json(archive, fmt.MANIFEST_NAME)
    return dict(manifest)
