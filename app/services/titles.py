"""Generated song titles: the job that draws them (Markov chains over the discography, see
model/titles.py), browsing and searching them, and the curator's edits and pins.

A title's `pinned` flag is stored in the `picked` column of `titles`. Its seed is the seed of
the job that drew it (kept in the job's payload), so no column repeats it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Job, Title, utcnow
from app.contract.codec import ContractError
from app.contract.kinds import TITLES, kind_named
from app.contract.payloads import AutoAlbumPayload, TitlesPayload
from app.pagination import Cursor, decode_cursor, encode_cursor
from app.queue import TaskQueue
from app.schemas.titles import TitlesGenerateIn
from app.services.albums import clean_text
from app.services.errors import Conflict, InvalidInput, NotFound
from app.services.jobs import scoped_key, submit
from app.services.plans import titles_payload
from app.services.projects import get_project
from app.services.projects import list_titles as source_titles
from model.titles import MIN_TITLES, normalize_title

MAX_QUERY_CHARS = 200


def request_titles(
    session: Session,
    queue: TaskQueue,
    project_id: int,
    request: TitlesGenerateIn,
    *,
    idempotency_key: str | None = None,
) -> Job:
    """Queue a titles job: `n` novel titles from the project's discography.

    409 when the discography has fewer than MIN_TITLES distinct titles (nothing to recombine).
    """
    get_project(session, project_id)
    key = scoped_key(f"titles:{project_id}", idempotency_key)
    distinct = {normalize_title(t) for t in source_titles(session, project_id)} - {""}
    if len(distinct) < MIN_TITLES:
        raise Conflict(
            f"the discography has {len(distinct)} distinct song titles; at least {MIN_TITLES} "
            "are needed to generate new ones (PUT /projects/{id}/titles)"
        )
    payload = titles_payload(project_id, request)

    def create(s: Session) -> Job:
        return jobs.create_job(s, TITLES, payload, project_id=project_id, idempotency_key=key)

    job, _ = submit(session, queue, key, create, request=request)
    return job


def discography(session: Session, project_id: int) -> list[str]:
    """The project's discography titles (the Markov corpus), in order."""
    return source_titles(session, project_id)


def store_titles(
    session: Session, project_id: int, job_id: int, texts: Sequence[str], *, replace: bool = False
) -> list[Title]:
    """Add `texts` as the titles of job `job_id`, in order; no commit (the worker commits with
    its fenced job update). Titles an earlier attempt of the same job stored are replaced, so a
    redelivered job leaves one copy. `replace` also drops the project's unpinned titles."""
    session.execute(delete(Title).where(Title.job_id == job_id))
    if replace:
        session.execute(
            delete(Title).where(Title.project_id == project_id, Title.picked.is_(False))
        )
    rows = [
        Title(project_id=project_id, job_id=job_id, text=text, position=i)
        for i, text in enumerate(texts)
    ]
    session.add_all(rows)
    session.flush()
    return rows


def list_generated(
    session: Session,
    project_id: int,
    *,
    q: str | None = None,
    pinned: bool | None = None,
    cursor: str | None = None,
    limit: int = 100,
) -> tuple[list[Title], str | None]:
    """The project's generated titles, oldest first (keyset on id), optionally those containing
    `q` (case-insensitive) and/or with the given pin state."""
    get_project(session, project_id)
    query = select(Title).where(Title.project_id == project_id)
    if q:
        query = query.where(Title.text.ilike(f"%{_escape_like(q[:MAX_QUERY_CHARS])}%", escape="\\"))
    if pinned is not None:
        query = query.where(Title.picked.is_(pinned))
    if cursor:
        query = query.where(Title.id > decode_cursor(cursor, sort="id").id)
    rows = list(session.scalars(query.order_by(Title.id).limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(Cursor("id", None, rows[-1].id))
    return rows, next_cursor


def seeds_of(session: Session, titles: Sequence[Title]) -> dict[int, int]:
    """{job id: seed} for the jobs that drew `titles` (one query)."""
    ids = {t.job_id for t in titles if t.job_id is not None}
    if not ids:
        return {}
    seeds = {}
    for job_id, kind, stored in session.execute(
        select(Job.id, Job.kind, Job.payload).where(Job.id.in_(ids))
    ):
        try:
            payload = kind_named(kind).decode(stored)
        except ContractError:
            continue  # a job of an older release: its titles simply show no seed
        if isinstance(payload, (TitlesPayload, AutoAlbumPayload)):
            seeds[job_id] = payload.seed
    return seeds


def get_title(session: Session, title_id: int) -> Title:
    title = session.get(Title, title_id)
    if title is None:
        raise NotFound("title", title_id)
    return title


def update_title(
    session: Session, title_id: int, *, text: str | None = None, pinned: bool | None = None
) -> Title:
    title = get_title(session, title_id)
    if text is not None:
        cleaned = clean_text(text)
        if not cleaned:
            raise InvalidInput("a title cannot be blank")
        title.text = cleaned
    if pinned is not None:
        title.picked = pinned
    title.updated_at = utcnow()
    session.commit()
    return title


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def title_pool(session: Session, project_id: int, *, limit: int) -> list[Title]:
    """Up to `limit` generated titles to choose from: pinned ones first, then the newest."""
    query = (
        select(Title).where(Title.project_id == project_id)
        .order_by(Title.picked.desc(), Title.id.desc()).limit(limit)
    )
    return list(session.scalars(query))
