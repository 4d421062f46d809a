"""Tracks: songs as edit decision lists over clips, with a kept history of revisions.

A Track row holds the current EDL (normalised, `EditList.to_json`) and its `revision`. Every save
also writes the revision as a small JSON file under the project's media folder
(`projects/{p}/tracks/{t}/rev-000001.json`), so the history is kept without a second table: the
catalog stays as migrated, and a project's deletion removes the history with its other media.
The file is written before the row is committed; a failed commit leaves a file that the next
save of that revision number replaces.

Renders are cached the same way, one WAV per revision (`render-r000001.wav`): an EDL renders
deterministically, so a cached file is exactly what rendering again would give.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audio.align import auto_align, mono_sum_cancellation
from app.audio.edl import ClipId, EditItem, EditList, EdlError, EdlProblem, Lane
from app.audio.render import render_track, track_duration, zero_crossing
from app.audio.timeline import plan, to_samples
from app.catalog import Clip, Track, utcnow
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.projects import get_project
from app.storage import Storage
from model.peaks import compute_peaks

RENDER_RATE = 44_100  # the album's rate; previews and exports agree on it
ANALYSIS_RATE = 16_000  # enough for onset envelopes, and cheap
MAX_ITEMS = 2_000
KEEP_RENDERS = 3  # cached renders kept per track


@dataclass(frozen=True)
class Revision:
    revision: int
    saved_at: datetime
    name: str
    edl: dict[str, Any]


# -- validation ---------------------------------------------------------------------------------


def edl_problems(exc: EdlError) -> list[dict[str, Any]]:
    """EdlError.problems as JSON error entries that name the field (`items[2].end_s`)."""
    out = []
    for p in exc.problems:
        if p.index is None:
            field, loc = p.field, ["body", "edl", *p.field.split(".")]
        else:
            field, loc = f"items[{p.index}].{p.field}", ["body", "edl", "items", p.index, p.field]
        out.append(
            {"loc": loc, "field": field, "index": p.index, "msg": p.message, "type": "edl"}
        )
    return out


def invalid_edl(exc: EdlError) -> InvalidInput:
    problems = edl_problems(exc)
    summary = "; ".join(f"{e['field']}: {e['msg']}" for e in problems[:5])
    return InvalidInput(f"invalid edit list: {summary}", errors=problems)


def parse_edl(session: Session, project_id: int, data: Any) -> tuple[EditList, float]:
    """Parse and check `data` against the project's clips; return it and its length in seconds.

    Raises InvalidInput (422) whose `errors` name every offending item and field.
    """
    try:
        edl = EditList.from_json(data)
        if len(edl.items) > MAX_ITEMS:
            raise EdlError([EdlProblem(None, "items", f"at most {MAX_ITEMS} items")])
        durations = _clip_durations(session, project_id, edl.clip_ids())
        return edl, track_duration(edl, durations, sample_rate=RENDER_RATE)
    except EdlError as exc:
        raise invalid_edl(exc) from None


def _clip_durations(session: Session, project_id: int, ids: set[ClipId]) -> dict[ClipId, float]:
    """Durations of those of `ids` that are clips of this project (others stay unknown)."""
    wanted = [i for i in ids if isinstance(i, int)]
    if not wanted:
        return {}
    rows = session.execute(
        select(Clip.id, Clip.duration_s).where(Clip.project_id == project_id, Clip.id.in_(wanted))
    )
    return {clip_id: duration for clip_id, duration in rows}


# -- CRUD ---------------------------------------------------------------------------------------


def create_track(
    session: Session, storage: Storage, project_id: int, *, name: str = "", edl: Any = None
) -> Track:
    get_project(session, project_id)
    parsed, _ = parse_edl(session, project_id, [] if edl is None else edl)
    track = Track(project_id=project_id, name=name, edl=_as_column(parsed), revision=1)
    session.add(track)
    session.flush()
    write_revision(storage, track)
    session.commit()
    return track


def list_tracks(session: Session, project_id: int) -> list[Track]:
    get_project(session, project_id)
    return list(session.scalars(select(Track).where(Track.project_id == project_id).order_by(Track.id)))


def get_track(session: Session, track_id: int, *, for_update: bool = False) -> Track:
    query = select(Track).where(Track.id == track_id)
    if for_update:
        query = query.with_for_update()
    track = session.scalars(query).one_or_none()
    if track is None:
        raise NotFound("track", track_id)
    return track


def save_track(
    session: Session,
    storage: Storage,
    track_id: int,
    *,
    edl: Any,
    name: str | None = None,
    base_revision: int | None = None,
) -> Track:
    """Store `edl` (and `name`) as the next revision. 409 when `base_revision` is not current."""
    track = get_track(session, track_id, for_update=True)
    if base_revision is not None and base_revision != track.revision:
        raise Conflict(
            f"track {track_id} is at revision {track.revision}, not {base_revision}: "
            "reload it and apply the edit again",
            revision=track.revision,
        )
    parsed, _ = parse_edl(session, track.project_id, edl)
    track.edl = _as_column(parsed)
    if name is not None:
        track.name = name
    track.revision += 1
    track.updated_at = utcnow()
    write_revision(storage, track)
    session.commit()
    return track


def delete_track(session: Session, storage: Storage, track_id: int) -> None:
    track = get_track(session, track_id)
    folder = storage.path(_folder(track))
    session.delete(track)
    session.commit()
    shutil.rmtree(folder, ignore_errors=True)  # after the commit: a failure leaves files, not rows


def list_revisions(storage: Storage, track: Track) -> list[Revision]:
    """Every saved revision of `track`, oldest first (missing files are skipped)."""
    out = []
    for rev in range(1, track.revision + 1):
        try:
            out.append(get_revision(storage, track, rev))
        except NotFound:
            continue
    return out


def get_revision(storage: Storage, track: Track, revision: int) -> Revision:
    path = storage.path(_revision_key(track, revision))
    if not 1 <= revision <= track.revision or not path.is_file():
        raise NotFound(f"revision of track {track.id}", revision)
    data = json.loads(path.read_text())
    return Revision(
        revision=data["revision"],
        saved_at=datetime.fromisoformat(data["saved_at"]),
        name=data["name"],
        edl=data["edl"],
    )


def summary(track: Track) -> dict[str, Any]:
    edl = EditList.from_json(track.edl)
    return {
        "id": track.id,
        "project_id": track.project_id,
        "name": track.name,
        "revision": track.revision,
        "items": len(edl.items),
        "lanes": len(edl.lane_numbers()),
        "duration_s": duration_of(track),
        "updated_at": track.updated_at,
    }


def duration_of(track: Track) -> float:
    return plan(EditList.from_json(track.edl), RENDER_RATE).duration_s


def _as_column(edl: EditList) -> Any:
    # The column is typed list[Any] (a bare item list was its first shape); the object form
    # carries lanes and join settings, and EditList.from_json reads both.
    return edl.to_json()


def _folder(track: Track) -> str:
    return f"projects/{int(track.project_id)}/tracks/{int(track.id)}"


def _revision_key(track: Track, revision: int) -> str:
    return f"{_folder(track)}/rev-{revision:06d}.json"


def _render_key(track: Track, revision: int) -> str:
    return f"{_folder(track)}/render-r{revision:06d}.wav"


def write_revision(storage: Storage, track: Track) -> None:
    """Keep this revision's EDL beside the media (the history `list_revisions` reads)."""
    doc = {
        "revision": track.revision,
        "saved_at": utcnow().isoformat(),
        "name": track.name,
        "edl": track.edl,
    }
    storage.write_bytes(_revision_key(track, track.revision), json.dumps(doc).encode())


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
    files = _clip_files(session, storage, track.project_id, edl)
    job = RenderJob(track.id, revision, edl, files, _render_key(track, revision))
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
        audio = render_track(job.edl, _loader(job.clip_files), sample_rate=RENDER_RATE)
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


def _clip_files(
    session: Session, storage: Storage, project_id: int, edl: EditList
) -> dict[ClipId, Path]:
    ids = [i for i in edl.clip_ids() if isinstance(i, int)]
    rows = session.execute(
        select(Clip.id, Clip.audio_path).where(Clip.project_id == project_id, Clip.id.in_(ids))
    )
    files = {clip_id: storage.path(key) for clip_id, key in rows}
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


def _loader(files: dict[ClipId, Path]) -> Any:
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


# -- editing helpers ----------------------------------------------------------------------------


def snap_to_zero_crossings(
    session: Session, storage: Storage, clip_id: int, times: list[float], *, search_ms: float = 5.0
) -> list[float]:
    """Each time (seconds into the clip) moved to the nearest zero crossing within ±search_ms.

    Reads only a small window of the clip's file around each time.
    """
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise NotFound("clip", clip_id)
    path = storage.path(clip.audio_path)
    session.rollback()
    if not path.is_file():
        raise NotFound("clip audio file", clip_id)
    out = []
    with sf.SoundFile(path) as f:
        sr, frames = f.samplerate, f.frames
        reach = to_samples(search_ms / 1000.0, sr) + 1
        for t in times:
            t = min(max(t, 0.0), frames / sr)
            centre = min(to_samples(t, sr), frames)
            lo = max(0, centre - reach)
            f.seek(lo)
            window = f.read(min(frames, centre + reach + 1) - lo, dtype="float64", always_2d=True)
            snapped = zero_crossing(window.T, t - lo / sr, sr, search_ms)
            out.append(round(lo / sr + snapped, 9))
    return out


def align_lanes(
    session: Session,
    storage: Storage,
    track_id: int,
    *,
    lane_a: int = 0,
    lane_b: int = 1,
    max_shift_s: float = 0.5,
    edl: Any = None,
) -> tuple[float, dict[int, Lane]]:
    """Line up the accents of `lane_b` with those of `lane_a` (onset envelopes cross-correlated).

    Returns the measured shift (seconds `lane_b` comes after `lane_a`) and new settings for both
    lanes: `lane_b` starts earlier by the shift or, when it cannot start before 0, `lane_a` later.
    """
    track = get_track(session, track_id)
    if edl is not None:
        parsed = parse_edl(session, track.project_id, edl)[0]
    else:
        parsed = EditList.from_json(track.edl)
    if lane_a == lane_b:
        raise InvalidInput("choose two different lanes")
    files = _clip_files(session, storage, track.project_id, parsed)
    session.rollback()
    signals = []
    for lane in (lane_a, lane_b):
        items = tuple(i for i in parsed.items if i.lane == lane)
        if not items:
            raise InvalidInput(f"lane {lane} has no items", field=f"lanes.{lane}")
        solo = EditList(
            items=tuple(_centred(i) for i in items),
            crossfade_s=parsed.crossfade_s,
            repeat_crossfade_s=parsed.repeat_crossfade_s,
            micro_fade_s=parsed.micro_fade_s,
            lanes={lane: Lane(pan=0.0, offset_s=parsed.lane(lane).offset_s)},
        )
        stereo = render_track(solo, _loader(files), sample_rate=ANALYSIS_RATE)
        signals.append(stereo.sum(axis=0))
    n = max(s.shape[0] for s in signals)
    a, b = (np.pad(s, (0, n - s.shape[0])) for s in signals)
    shift = auto_align(a, b, ANALYSIS_RATE, max_shift_s=max_shift_s)
    la, lb = parsed.lane(lane_a), parsed.lane(lane_b)
    off_a, off_b = la.offset_s, lb.offset_s - shift
    if off_b < 0:
        off_a, off_b = off_a - off_b, 0.0
    lanes = {
        lane_a: Lane(pan=la.pan, offset_s=round(off_a, 6), gain_db=la.gain_db),
        lane_b: Lane(pan=lb.pan, offset_s=round(off_b, 6), gain_db=lb.gain_db),
    }
    return shift, lanes


def _centred(item: EditItem) -> EditItem:
    return replace(item, pan=0.0)


def mono_check(job: RenderJob) -> dict[str, Any]:
    """How much the job's revision loses when folded to mono (a warning if the lanes cancel).

    Rendered in memory at the analysis rate: nothing is written for a check.
    """
    audio = render_track(job.edl, _loader(job.clip_files), sample_rate=ANALYSIS_RATE)
    return mono_sum_cancellation(audio[0], audio[1], sample_rate=ANALYSIS_RATE)
