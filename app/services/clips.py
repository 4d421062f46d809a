"""The clip catalog: filtered, sorted, cursor-paginated listing; curation edits; markers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from app.audio.excerpt import Excerpt, ExcerptError, read_excerpt
from app.catalog import Clip, Marker
from app.pagination import Cursor, decode_cursor, encode_cursor
from app.services.analysis import FLAG_BITS, HARD_MASK
from app.services.clip_search import search_conditions
from app.services.errors import InvalidInput, NotFound
from app.services.projects import get_project
from app.storage import Storage

# sort name -> column; "-name" sorts descending. NULL sorts as the lowest value both ways
# (first ascending, last descending), spelled out because SQLite and PostgreSQL disagree.
SORT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "created": Clip.id,  # ids grow with insertion, and need no tie-break
    "epoch": Clip.epoch,
    "rating": Clip.rating,
    "loudness": Clip.loudness_lufs,
    "silence": Clip.silence_ratio,
    "quality": Clip.quality,  # "-quality": best first, unanalysed clips last
}
# Flag filter values besides a flag's own name (clips that raise it).
FLAG_FILTERS = ("any", "none", "clean", "unanalysed")
SORTS = tuple(s for name in SORT_COLUMNS for s in (name, f"-{name}"))


@dataclass(frozen=True)
class ClipFilter:
    run_id: int | None = None
    epoch: int | None = None
    min_rating: int | None = None
    kept: bool | None = None
    undecided: bool = False  # kept IS NULL (the "null" value of the kept filter)
    min_lufs: float | None = None  # hide quiet and near-silent clips (unmeasured ones too)
    max_lufs: float | None = None
    max_silence: float | None = None  # 0..1 fraction of silent 50 ms windows
    # A flag's name: clips raising it; "any": some flag; "none": analysed, no flag; "clean":
    # analysed, no hard flag (silent, noise, exploded, copied); "unanalysed".
    flag: str | None = None
    # Search (app/services/clip_search.py): clips carrying every tag of `tags` (case-insensitive,
    # whole tags), and whose notes contain `text` (case-insensitive substring).
    tags: tuple[str, ...] = ()
    text: str | None = None


def list_clips(
    session: Session,
    project_id: int,
    *,
    filters: ClipFilter = ClipFilter(),
    sort: str = "-created",
    cursor: str | None = None,
    limit: int = 50,
) -> tuple[list[Clip], str | None]:
    """One page of a project's clips and the cursor of the next page (None on the last)."""
    get_project(session, project_id)
    descending = sort.startswith("-")
    column = SORT_COLUMNS[sort.lstrip("-")]
    query = select(Clip).where(Clip.project_id == project_id, *_conditions(filters))
    if cursor:
        after = decode_cursor(cursor, sort=sort)
        query = query.where(_after(column, after, descending=descending))
    if column is Clip.id:
        query = query.order_by(Clip.id.desc() if descending else Clip.id)
    elif descending:
        query = query.order_by(column.desc().nulls_last(), Clip.id.desc())
    else:
        query = query.order_by(column.asc().nulls_first(), Clip.id)
    rows = list(session.scalars(query.limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    key = None if column is Clip.id else getattr(last, column.key)
    return rows, encode_cursor(Cursor(sort, key, last.id))


def _conditions(f: ClipFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.run_id is not None:
        out.append(Clip.run_id == f.run_id)
    if f.epoch is not None:
        out.append(Clip.epoch == f.epoch)
    if f.min_rating is not None:
        out.append(Clip.rating >= f.min_rating)
    if f.undecided:
        out.append(Clip.kept.is_(None))
    elif f.kept is not None:
        out.append(Clip.kept.is_(f.kept))
    if f.min_lufs is not None:
        out.append(Clip.loudness_lufs >= f.min_lufs)
    if f.max_lufs is not None:
        out.append(Clip.loudness_lufs <= f.max_lufs)
    if f.max_silence is not None:
        out.append(Clip.silence_ratio <= f.max_silence)
    if f.flag is not None:
        out.append(flag_condition(f.flag))
    out.extend(search_conditions(tags=f.tags, text=f.text))
    return out


def flag_condition(flag: str) -> ColumnElement[bool]:
    """SQL for a ClipFilter.flag value (ValueError for an unknown one)."""
    mask = Clip.flag_mask
    if flag in FLAG_BITS:
        return mask.op("&")(FLAG_BITS[flag]) != 0
    if flag == "any":
        return mask > 0
    if flag == "none":
        return mask == 0
    if flag == "clean":
        return and_(mask.is_not(None), mask.op("&")(HARD_MASK) == 0)
    if flag == "unanalysed":
        return mask.is_(None)
    raise ValueError(f"unknown flag filter {flag!r}")


def _after(
    column: InstrumentedAttribute[Any], cur: Cursor, *, descending: bool
) -> ColumnElement[bool]:
    """Rows strictly after `cur` in the order (column, id), NULL lowest."""
    if column is Clip.id:
        return Clip.id < cur.id if descending else Clip.id > cur.id
    if descending:  # column DESC NULLS LAST, id DESC
        if cur.key is None:
            return and_(column.is_(None), Clip.id < cur.id)
        return or_(
            column < cur.key,
            and_(column == cur.key, Clip.id < cur.id),
            column.is_(None),
        )
    if cur.key is None:  # column ASC NULLS FIRST, id ASC
        return or_(and_(column.is_(None), Clip.id > cur.id), column.is_not(None))
    return or_(column > cur.key, and_(column == cur.key, Clip.id > cur.id))


def get_clip(session: Session, clip_id: int) -> Clip:
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise NotFound("clip", clip_id)
    return clip


@dataclass(frozen=True)
class ClipExcerpt:
    excerpt: Excerpt
    etag: str  # quoted; names the clip file's bytes and the range
    modified: float  # the clip file's mtime


def clip_excerpt(
    session: Session, storage: Storage, clip_id: int, start_s: float, end_s: float | None
) -> ClipExcerpt:
    """The clip's audio from `start_s` to `end_s` (None: its end) as a WAV
    (app/audio/excerpt.py). NotFound without the clip or its file; InvalidInput for a range
    outside the clip."""
    clip = get_clip(session, clip_id)
    path = storage.path(clip.audio_path)
    session.rollback()  # no transaction held while reading audio
    if not path.is_file():
        raise NotFound("clip audio file", clip_id)
    stat = path.stat()
    try:
        excerpt = read_excerpt(path, start_s, end_s)
    except ExcerptError as exc:
        raise InvalidInput(f"clip {clip_id}: {exc}", field="start_s") from None
    etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}-{excerpt.start}-{excerpt.frames}"'
    return ClipExcerpt(excerpt, etag, stat.st_mtime)


def update_clip(session: Session, clip_id: int, changes: dict[str, Any]) -> Clip:
    """Apply curation edits: any of rating (1..5 or None), kept, tags, notes."""
    clip = get_clip(session, clip_id)
    for name in ("rating", "kept", "notes"):
        if name in changes:
            setattr(clip, name, changes[name] if name != "notes" else changes[name] or "")
    if "tags" in changes:
        # Keep first occurrences in order; the catalog shows tags as a set.
        clip.tags = list(dict.fromkeys(changes["tags"] or []))
    session.commit()
    return clip


def add_marker(session: Session, clip_id: int, *, time_s: float, label: str) -> Marker:
    clip = get_clip(session, clip_id)
    marker = Marker(clip_id=clip.id, time_s=time_s, label=label)
    session.add(marker)
    session.commit()
    return marker


def list_markers(session: Session, clip_id: int) -> list[Marker]:
    return list(get_clip(session, clip_id).markers)


def delete_marker(session: Session, marker_id: int) -> None:
    marker = session.get(Marker, marker_id)
    if marker is None:
        raise NotFound("marker", marker_id)
    session.delete(marker)
    session.commit()


# -- reads for the pages ------------------------------------------------------------------------


def count_clips(session: Session, project_id: int, filters: ClipFilter = ClipFilter()) -> int:
    """How many of a project's clips pass `filters` (what `list_clips` pages through)."""
    query = select(func.count()).select_from(Clip).where(
        Clip.project_id == project_id, *_conditions(filters)
    )
    return session.scalar(query) or 0


def clip_epochs(session: Session, project_id: int) -> list[int]:
    """The epochs that have clips in a project, ascending."""
    query = select(Clip.epoch).where(Clip.project_id == project_id).distinct().order_by(Clip.epoch)
    return list(session.scalars(query))


def count_run_clips(session: Session, run_id: int) -> int:
    """Clips a run has generated so far."""
    return session.scalar(select(func.count()).where(Clip.run_id == run_id)) or 0


def count_run_clips_by_epoch(session: Session, run_id: int) -> dict[int, int]:
    """{epoch: clips} for a run (epochs without clips are left out)."""
    rows = session.execute(
        select(Clip.epoch, func.count()).where(Clip.run_id == run_id).group_by(Clip.epoch)
    )
    return {epoch: count for epoch, count in rows}


def neighbour_ids(session: Session, clip: Clip) -> tuple[int | None, int | None]:
    """Ids of the clips just before and just after `clip` in its project (by id), or None."""
    before = session.scalar(
        select(func.max(Clip.id)).where(Clip.project_id == clip.project_id, Clip.id < clip.id)
    )
    after = session.scalar(
        select(func.min(Clip.id)).where(Clip.project_id == clip.project_id, Clip.id > clip.id)
    )
    return before, after


def clips_by_id(session: Session, clip_ids: set[int]) -> list[Clip]:
    """The clips of `clip_ids` that exist (a track may name deleted ones), in no set order."""
    if not clip_ids:
        return []
    return list(session.scalars(select(Clip).where(Clip.id.in_(clip_ids))))


def shortlist(session: Session, project_id: int, *, limit: int = 24) -> list[Clip]:
    """Clips worth adding to a song: rejected ones left out, kept ones first, then the best
    rated, then the newest."""
    query = (
        select(Clip)
        .where(Clip.project_id == project_id, Clip.kept.is_not(False))
        .order_by(Clip.kept.desc().nulls_last(), Clip.rating.desc().nulls_last(), Clip.id.desc())
        .limit(limit)
    )
    return list(session.scalars(query))
