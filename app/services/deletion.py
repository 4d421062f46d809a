"""Deleting clips, checkpoints and runs: what it removes is stated first, nothing in use goes.

Every delete is planned before anything changes (`plan_*`): the rows it removes (runs,
checkpoints, clips, markers) and the media files that go with them, which is also the whole
answer of a dry run. A plan refuses (`InUse`, a 409 listing the users) when a song's edit list
names one of the clips, and so, through that song, an album or an export; and (`Conflict`) when
a job still works on what would go (a queued or running run, a generate job on a checkpoint).

`execute` deletes the rows in one transaction; only after that commit are the files removed,
and only those no remaining row still names. A crash between the two leaves unreferenced files
(harmless, and named by no row), never a row whose file is gone.
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TypeVar

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from app.catalog import Album, AlbumTrack, Checkpoint, Clip, Export, Job, Marker, Run, Track
from app.catalog.jobs import TERMINAL_STATUSES
from app.contract.kinds import GENERATE
from app.services.errors import Conflict, NotFound
from app.storage import Storage

logger = logging.getLogger(__name__)
LISTED_PATHS = 500  # a plan names at most this many files (it always counts all of them)
_CHUNK = 500  # ids per IN (...) list
T = TypeVar("T")


@dataclass(frozen=True)
class User:
    """Something that uses a clip: a song naming it, or an album or export of such a song."""

    kind: str  # "track" | "album" | "export"
    id: int
    name: str
    clip_ids: tuple[int, ...] = ()  # for a track: the clips of the request it names

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"kind": self.kind, "id": self.id, "name": self.name}
        if self.kind == "track":
            out["clip_ids"] = list(self.clip_ids)
        return out


class InUse(Conflict):
    """Deleting would break songs, albums or exports; `users` lists them."""

    def __init__(self, what: str, users: Sequence[User]) -> None:
        tracks = [u for u in users if u.kind == "track"]
        names = ", ".join(f"song {u.id} “{u.name or 'Untitled'}”" for u in tracks[:5])
        more = f" and {len(tracks) - 5} more" if len(tracks) > 5 else ""
        super().__init__(
            f"{what} cannot be deleted: used by {names}{more}"
            " (remove the clips from those songs first)",
            users=[u.as_dict() for u in users],
        )
        self.users = list(users)


@dataclass
class Removal:
    """What a delete removes (or, for a dry run, would remove)."""

    target: str  # e.g. "run 3", "2 clips"
    runs: list[int] = field(default_factory=list)
    checkpoints: list[int] = field(default_factory=list)
    clips: list[int] = field(default_factory=list)
    markers: int = 0
    files: list[str] = field(default_factory=list)  # storage keys of files
    folders: list[str] = field(default_factory=list)  # storage keys of whole folders
    bytes: int = 0  # on disk, files and folders together

    def summary(self) -> str:
        parts = [f"{len(self.runs)} run(s)"] if self.runs else []
        if self.checkpoints:
            parts.append(f"{len(self.checkpoints)} checkpoint(s)")
        parts.append(f"{len(self.clips)} clip(s)")
        if self.markers:
            parts.append(f"{self.markers} marker(s)")
        parts.append(f"{len(self.files)} file(s)" + (f" and {len(self.folders)} folder(s)"
                                                       if self.folders else ""))
        mib = self.bytes / 2**20
        return f"deleting {self.target} removes " + ", ".join(parts) + f" ({mib:.1f} MiB)"


# -- usage --------------------------------------------------------------------------------------


def clip_users(session: Session, project_id: int, clip_ids: Iterable[int]) -> list[User]:
    """Songs whose edit list names any of `clip_ids`, then the albums holding those songs and
    the exports of those albums."""
    wanted = set(clip_ids)
    if not wanted:
        return []
    tracks: list[User] = []
    for track in session.scalars(
        select(Track).where(Track.project_id == project_id).order_by(Track.id)
    ):
        named = sorted(edl_clip_ids(track.edl) & wanted)
        if named:
            tracks.append(User("track", track.id, track.name, tuple(named)))
    if not tracks:
        return []
    track_ids = [u.id for u in tracks]
    albums = list(session.scalars(
        select(Album).where(Album.items.any(AlbumTrack.track_id.in_(track_ids))).order_by(Album.id)
    ))
    exports = list(session.scalars(
        select(Export).where(Export.album_id.in_([a.id for a in albums])).order_by(Export.id)
    )) if albums else []
    titles = {a.id: a.title for a in albums}
    return [
        *tracks,
        *(User("album", a.id, a.title) for a in albums),
        *(User("export", e.id, f"{titles[e.album_id]} ({e.status})") for e in exports),
    ]


def edl_clip_ids(edl: object) -> set[int]:
    """Clip ids a stored edit list names: a bare item list or the `{items, ...}` object
    (app/audio/edl.py), read leniently, since a delete must never miss a user."""
    items = edl.get("items") if isinstance(edl, dict) else edl
    if not isinstance(items, list):
        return set()
    return {int(i["clip_id"]) for i in items
            if isinstance(i, dict) and isinstance(i.get("clip_id"), int)}


# -- plans --------------------------------------------------------------------------------------


def plan_clips(
    session: Session, storage: Storage, project_id: int, clip_ids: Sequence[int]
) -> Removal:
    """Deleting these clips of one project (the caller checked they belong to it)."""
    ids = sorted(set(clip_ids))
    what = f"clip {ids[0]}" if len(ids) == 1 else f"{len(ids)} clips"
    users = clip_users(session, project_id, ids)
    if users:
        raise InUse(what, users)
    _refuse_busy_checkpoints(session, _checkpoints_of(session, ids), what)
    removal = Removal(target=what, clips=ids)
    _add_clip_rows(session, storage, removal, Clip.id.in_(ids))
    return removal


def plan_checkpoint(session: Session, storage: Storage, checkpoint_id: int) -> Removal:
    """Deleting one epoch's checkpoint, its file and every clip made from it."""
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise NotFound("checkpoint", checkpoint_id)
    run = checkpoint.run
    what = f"checkpoint {checkpoint_id} (run {run.id}, epoch {checkpoint.epoch})"
    _refuse_busy_run(run, what)
    clip_ids = list(session.scalars(select(Clip.id).where(Clip.checkpoint_id == checkpoint_id)))
    users = clip_users(session, run.project_id, clip_ids)
    if users:
        raise InUse(what, users)
    _refuse_busy_checkpoints(session, {checkpoint_id}, what)
    removal = Removal(target=what, checkpoints=[checkpoint_id])
    _add_clip_rows(session, storage, removal, Clip.checkpoint_id == checkpoint_id)
    _add_file(storage, removal, checkpoint.path)
    return removal


def plan_run(session: Session, storage: Storage, run_id: int) -> Removal:
    """Deleting a run: its checkpoints, their clips, and the run's folder in media storage."""
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound("run", run_id)
    what = f"run {run_id}"
    _refuse_busy_run(run, what)
    clip_ids = list(session.scalars(select(Clip.id).where(Clip.run_id == run_id)))
    users = clip_users(session, run.project_id, clip_ids)
    if users:
        raise InUse(what, users)
    checkpoint_ids = [c.id for c in run.checkpoints]
    _refuse_busy_checkpoints(session, set(checkpoint_ids), what)
    removal = Removal(target=what, runs=[run_id], checkpoints=checkpoint_ids)
    _add_clip_rows(session, storage, removal, Clip.run_id == run_id)
    folder = f"projects/{run.project_id}/runs/{run_id}"
    for c in run.checkpoints:
        if not _inside(c.path, folder):
            _add_file(storage, removal, c.path)
    removal.files = [k for k in removal.files if not _inside(k, folder)]
    removal.bytes = sum(_size(storage, k) for k in removal.files)
    if storage.path(folder).is_dir():
        removal.folders.append(folder)
        removal.bytes += sum(p.stat().st_size for p in storage.path(folder).rglob("*")
                             if p.is_file())
    return removal


def _add_clip_rows(
    session: Session, storage: Storage, removal: Removal, condition: ColumnElement[bool]
) -> None:
    """Add the clips selected by `condition` (their ids, markers and files) to `removal`."""
    rows = session.execute(select(Clip.id, Clip.audio_path, Clip.peaks_path).where(condition))
    ids: list[int] = []
    cached = _SpectrogramIndex(storage)
    for clip_id, audio, peaks in rows:
        ids.append(clip_id)
        _add_file(storage, removal, audio)
        for key in cached.of(audio):
            _add_file(storage, removal, key)
        if peaks:
            _add_file(storage, removal, peaks)
    removal.clips = sorted(set(removal.clips) | set(ids))
    removal.markers = sum(
        session.scalar(select(func.count()).select_from(Marker).where(Marker.clip_id.in_(chunk)))
        or 0
        for chunk in _chunks(removal.clips)
    )


def _add_file(storage: Storage, removal: Removal, key: str | None) -> None:
    if key and key not in removal.files:
        removal.files.append(key)
        removal.bytes += _size(storage, key)


class _SpectrogramIndex:
    """Spectrogram PNGs cached beside clips' audio (app/spectrogram.py names them
    `<audio name>.spec-<w>x<h>.png`). Each folder is listed once: a run keeps thousands of
    clips in one folder, and a glob per clip would read it thousands of times."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.folders: dict[str, dict[str, list[str]]] = {}  # folder key -> audio name -> pngs

    def of(self, audio_key: str) -> list[str]:
        parent = PurePosixPath(audio_key).parent
        folder = self.folders.get(str(parent))
        if folder is None:
            folder = self.folders[str(parent)] = self._list(str(parent))
        return [str(parent / name) for name in folder.get(PurePosixPath(audio_key).name, [])]

    def _list(self, folder_key: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        try:
            entries = list(os.scandir(self.storage.path(folder_key)))
        except (OSError, ValueError):
            return out
        for entry in entries:
            if ".spec-" in entry.name and entry.name.endswith(".png"):
                out.setdefault(entry.name.split(".spec-", 1)[0], []).append(entry.name)
        return out


def _size(storage: Storage, key: str) -> int:
    try:
        path = storage.path(key)
        return path.stat().st_size if path.is_file() else 0
    except (OSError, ValueError):
        return 0


def _inside(key: str, folder: str) -> bool:
    return key.startswith(folder.rstrip("/") + "/")


def _checkpoints_of(session: Session, clip_ids: Sequence[int]) -> set[int]:
    out: set[int] = set()
    for chunk in _chunks(clip_ids):
        out.update(session.scalars(select(Clip.checkpoint_id).where(Clip.id.in_(chunk))))
    return out


def _refuse_busy_run(run: Run, what: str) -> None:
    if run.status in ("queued", "running"):
        raise Conflict(f"{what} cannot be deleted: run {run.id} is {run.status}; cancel it first",
                       run_id=run.id)


def _refuse_busy_checkpoints(session: Session, checkpoint_ids: set[int], what: str) -> None:
    """A generate job that has not finished may still write clips of these checkpoints."""
    if not checkpoint_ids:
        return
    busy = session.scalars(
        select(Job).where(Job.kind == GENERATE.name, Job.status.not_in(TERMINAL_STATUSES))
    )
    for job in busy:
        if job.payload.get("checkpoint_id") in checkpoint_ids:
            raise Conflict(
                f"{what} cannot be deleted: job {job.id} is still generating clips from "
                f"checkpoint {job.payload['checkpoint_id']}; wait for it or cancel it",
                job_id=job.id,
            )


def _chunks(items: Sequence[T]) -> Iterable[list[T]]:
    items = list(items)
    for i in range(0, len(items), _CHUNK):
        yield items[i: i + _CHUNK]


# -- execution ----------------------------------------------------------------------------------


def execute(session: Session, storage: Storage, removal: Removal) -> Removal:
    """Delete the planned rows (one transaction), then the files no row names any more."""
    for chunk in _chunks(removal.clips):
        session.execute(delete(Marker).where(Marker.clip_id.in_(chunk)))
        session.execute(delete(Clip).where(Clip.id.in_(chunk)))
    for chunk in _chunks(removal.checkpoints):
        session.execute(delete(Checkpoint).where(Checkpoint.id.in_(chunk)))
    for chunk in _chunks(removal.runs):
        session.execute(delete(Run).where(Run.id.in_(chunk)))
    session.commit()
    still_named = _named_files(session, removal.files)
    session.rollback()  # no transaction held while touching files
    for key in removal.files:
        if key in still_named:
            continue  # another clip shares the file (never the case for generated clips)
        try:
            storage.delete(key)
        except (OSError, ValueError) as exc:
            logger.warning("could not remove %s after deleting %s: %s", key, removal.target, exc)
    for folder in removal.folders:
        _remove_folder(storage, folder)
    return removal


def _named_files(session: Session, keys: Sequence[str]) -> set[str]:
    named: set[str] = set()
    for chunk in _chunks(keys):
        named.update(session.scalars(select(Clip.audio_path).where(Clip.audio_path.in_(chunk))))
        named.update(
            k for k in session.scalars(select(Clip.peaks_path).where(Clip.peaks_path.in_(chunk)))
            if k
        )
        named.update(session.scalars(select(Checkpoint.path).where(Checkpoint.path.in_(chunk))))
    # Spectrogram caches are named by no row: they go when their audio goes.
    return named | {k for k in keys if ".spec-" in k and _audio_of(k) in named}


def _audio_of(spectrogram_key: str) -> str:
    return spectrogram_key.split(".spec-", 1)[0]


def _remove_folder(storage: Storage, folder: str) -> None:
    try:
        shutil.rmtree(storage.path(folder), ignore_errors=True)
    except ValueError as exc:
        logger.warning("could not remove folder %s: %s", folder, exc)


def planned_paths(removal: Removal) -> tuple[list[str], bool]:
    """The files and folders to name in an answer, and whether the list was cut short."""
    paths = [*removal.folders, *removal.files]
    return paths[:LISTED_PATHS], len(paths) > LISTED_PATHS

