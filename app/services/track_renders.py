"""Rendering a track's revision, and the cache of renders beside its history.

Renders are cached one WAV per revision (`render-r000001.wav`, app/services/tracks.py
`render_key`): an EDL renders deterministically, so a cached file is exactly what rendering again
would give. `render_job` reads everything rendering needs in one short transaction, so no session
is held while the audio is made; a per-key lock makes concurrent requests for the same revision
render it once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audio.edl import ClipId, EditList, EdlError, EdlProblem
from app.audio.render import render_track
from app.catalog import Clip
from app.services.errors import Conflict
from app.services.tracks import RENDER_RATE, edl_problems, get_revision, get_track, render_key
from app.storage import Storage
from model.peaks import compute_peaks

KEEP_RENDERS = 3  # cached renders kept per track

# -- rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RenderJob:
    """What rendering needs, read in one short transaction: no session is held while rendering."""

    track_id: int
    revision: int
    edl: EditList
    clip_files: dict[ClipId, Path]
    key: str


def render_job(
    session: Session, storage: Storage, track_id: int, revision: int | None = None
) -> RenderJob:
    """What rendering `revision` (default: the current one) of a track needs."""
    track = get_track(session, track_id)
    if revision is None or revision == track.revision:
        revision, edl = track.revision, EditList.from_json(track.edl)
    else:
        edl = EditList.from_json(get_revision(storage, track, revision).edl)
    if not edl.items:
        raise Conflict(f"track {track_id} has no items yet: add a section of a clip first")
    files = clip_files(session, storage, track.project_id, edl)
    job = RenderJob(track.id, revision, edl, files, render_key(track, revision))
    session.rollback()  # end the read transaction before the slow part
    return job


def rendered_file(storage: Storage, job: RenderJob) -> Path:
    """The cached render of the job's revision, rendering it first when missing."""
    dest = storage.path(job.key)
    if dest.is_file():
        return dest
    with _lock(job.key):
        if dest.is_file():  # another request rendered it while this one waited
            return dest
        audio = render_track(job.edl, clip_loader(job.clip_files), sample_rate=RENDER_RATE)
        pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype(np.int16)
        tmp = storage.temp_path(".wav")
        try:
            sf.write(tmp, pcm.T, RENDER_RATE, subtype="PCM_16", format="WAV")
            storage.put(tmp, job.key)
        finally:
            tmp.unlink(missing_ok=True)
        _prune_renders(dest, keep=KEEP_RENDERS)
    return dest


def _prune_renders(newest: Path, *, keep: int) -> None:
    """Drop all but the `keep` most recently made renders of a track: autosave makes many
    revisions, and any of them renders again, identically, when asked for."""
    renders = sorted(newest.parent.glob("render-r*.wav"), key=lambda p: p.stat().st_mtime_ns)
    for old in renders[:-keep]:
        if old != newest:
            old.unlink(missing_ok=True)


def clip_files(
    session: Session, storage: Storage, project_id: int, edl: EditList
) -> dict[ClipId, Path]:
    """The audio file of every clip the EDL uses; 409 naming the items whose clip is not in
    this project or whose file is missing."""
    ids = [i for i in edl.clip_ids() if isinstance(i, int)]
    rows = session.execute(
        select(Clip.id, Clip.audio_path).where(Clip.project_id == project_id, Clip.id.in_(ids))
    )
    files: dict[ClipId, Path] = {clip_id: storage.path(key) for clip_id, key in rows}
    problems = [
        EdlProblem(i, "clip_id", f"clip {item.clip_id!r} is not in this project")
        for i, item in enumerate(edl.items)
        if item.clip_id not in files
    ]
    problems += [
        EdlProblem(i, "clip_id", f"the audio file of clip {item.clip_id} is missing")
        for i, item in enumerate(edl.items)
        if item.clip_id in files and not files[item.clip_id].is_file()
    ]
    if problems:
        raise Conflict(str(EdlError(problems)), errors=edl_problems(EdlError(problems)))
    return files


def clip_loader(files: dict[ClipId, Path]) -> Callable[[ClipId], tuple[np.ndarray, int]]:
    """`load(clip_id) -> (mono float32 samples, rate)`, what app/audio/render.py reads clips by."""
    def load(clip_id: ClipId) -> tuple[np.ndarray, int]:
        audio, rate = sf.read(files[clip_id], dtype="float32", always_2d=True)
        return audio.mean(axis=1), int(rate)

    return load


_locks: dict[str, threading.Lock] = {}
_locks_guard = threading.Lock()


@contextmanager
def _lock(key: str) -> Iterator[None]:
    with _locks_guard:
        lock = _locks.setdefault(key, threading.Lock())
    with lock:
        yield
    with _locks_guard:
        _locks.pop(key, None)


def render_peaks(storage: Storage, job: RenderJob, *, pixels: int = 1000) -> dict[str, Any]:
    """Per-channel waveform peaks of the job's cached render (rendered first when missing):
    `peaks` = [left, right], each `pixels` signed largest-magnitude values (model/peaks.py), the
    shape wavesurfer.js takes with `splitChannels`."""
    audio, rate = sf.read(rendered_file(storage, job), dtype="float32", always_2d=True)
    channels = [compute_peaks(audio[:, c], int(rate), pixels=pixels) for c in range(audio.shape[1])]
    return {
        "revision": job.revision,
        "sample_rate": int(rate),
        "duration": audio.shape[0] / rate,
        "channels": len(channels),
        "samples_per_pixel": channels[0]["samples_per_pixel"],
        "peaks": [ch["peaks"][0] for ch in channels],
    }
