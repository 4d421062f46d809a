"""Tracks: songs as edit decision lists over clips, with a kept history of revisions.

A Track row holds the current EDL (normalised, `EditList.to_json`) and its `revision`. Every save
also writes the revision as a small JSON file under the project's media folder
(`projects/{p}/tracks/{t}/rev-000001.json`), so the history is kept without a second table: the
catalog stays as migrated, and a project's deletion removes the history with its other media.
The file is written before the row is committed; a failed commit leaves a file that the next
save of that revision number replaces.

Rendering and its cache live in app/services/track_renders.py, the audio analysis that helps
editing (zero crossings, lane alignment, the mono check) in app/services/track_analysis.py.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audio.edl import ClipId, EditList, EdlError, EdlProblem
from app.audio.render import track_duration
from app.audio.timeline import plan
from app.catalog import Clip, Track, utcnow
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.projects import get_project
from app.storage import Storage

RENDER_RATE = 44_100  # the album's rate; previews and exports agree on it
MAX_ITEMS = 2_000


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
        loc: list[str | int]
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
    query = select(Track).where(Track.project_id == project_id).order_by(Track.id)
    return list(session.scalars(query))


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
    folder = storage.path(track_folder(track))
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


def track_folder(track: Track) -> str:
    return f"projects/{int(track.project_id)}/tracks/{int(track.id)}"


def _revision_key(track: Track, revision: int) -> str:
    return f"{track_folder(track)}/rev-{revision:06d}.json"


def render_key(track: Track, revision: int) -> str:
    """Where the cached render of one revision lives (app/services/track_renders.py)."""
    return f"{track_folder(track)}/render-r{revision:06d}.wav"


def write_revision(storage: Storage, track: Track) -> None:
    """Keep this revision's EDL beside the media (the history `list_revisions` reads)."""
    doc = {
        "revision": track.revision,
        "saved_at": utcnow().isoformat(),
        "name": track.name,
        "edl": track.edl,
    }
    storage.write_bytes(_revision_key(track, track.revision), json.dumps(doc).encode())
