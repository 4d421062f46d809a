"""Projects and their discography titles."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app import jobs
from app.catalog import Clip, Job, Project, Run, SourceTitle, Track
from app.pagination import Cursor, decode_cursor, encode_cursor
from app.services.errors import InvalidInput, NotFound
from app.storage import Storage

MAX_TITLES = 20_000
MAX_TITLE_CHARS = 500


def create_project(session: Session, *, name: str, artist: str, description: str = "") -> Project:
    project = Project(name=name, artist=artist, description=description)
    session.add(project)
    session.commit()
    return project


def get_project(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound("project", project_id)
    return project


def list_projects(
    session: Session, *, cursor: str | None = None, limit: int = 50
) -> tuple[list[Project], str | None]:
    """Newest first; keyset on id."""
    query = select(Project).order_by(Project.id.desc()).limit(limit + 1)
    if cursor:
        query = query.where(Project.id < decode_cursor(cursor, sort="-id").id)
    rows = list(session.scalars(query))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(Cursor("-id", None, rows[-1].id))
    return rows, next_cursor


def update_project(
    session: Session,
    project_id: int,
    *,
    name: str | None = None,
    artist: str | None = None,
    description: str | None = None,
) -> Project:
    project = get_project(session, project_id)
    if name is not None:
        project.name = name
    if artist is not None:
        project.artist = artist
    if description is not None:
        project.description = description
    session.commit()
    return project


def delete_project(session: Session, storage: Storage, project_id: int) -> None:
    """Delete a project, everything under it, and its media files.

    Its unfinished jobs are asked to stop first; their rows survive (project_id becomes null) so a
    worker still holding one sees it cancelled instead of crashing on a missing row.
    """
    project = get_project(session, project_id)
    active = session.scalars(
        select(Job.id).where(Job.project_id == project_id, Job.status.in_(("queued", "running")))
    ).all()
    for job_id in active:
        jobs.request_cancel(session, job_id)
    session.delete(project)
    session.commit()
    storage.delete_project(project_id)  # after the commit: a failed delete leaves files, not rows


def parse_titles_text(text: str) -> list[str]:
    """One title per line; blank lines skipped, surrounding whitespace trimmed."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def replace_titles(session: Session, project_id: int, titles: Sequence[str]) -> list[str]:
    """Replace the project's discography titles with `titles`, in order."""
    get_project(session, project_id)
    cleaned = [t.strip() for t in titles if t.strip()]
    if len(cleaned) > MAX_TITLES:
        raise InvalidInput(f"at most {MAX_TITLES} titles, got {len(cleaned)}")
    long = [t for t in cleaned if len(t) > MAX_TITLE_CHARS]
    if long:
        raise InvalidInput(
            f"titles are limited to {MAX_TITLE_CHARS} characters: {long[0][:40]!r}..."
        )
    session.execute(delete(SourceTitle).where(SourceTitle.project_id == project_id))
    session.add_all(
        SourceTitle(project_id=project_id, position=i, text=t) for i, t in enumerate(cleaned)
    )
    session.commit()
    return cleaned


def list_titles(session: Session, project_id: int) -> list[str]:
    get_project(session, project_id)
    rows = session.scalars(
        select(SourceTitle.text)
        .where(SourceTitle.project_id == project_id)
        .order_by(SourceTitle.position)
    )
    return list(rows)


@dataclass(frozen=True)
class ProjectCounts:
    """How much a project holds."""

    runs: int
    clips: int
    tracks: int


def project_counts(session: Session, project_id: int) -> ProjectCounts:
    """Its training runs, generated clips and songs, counted (three small queries)."""
    runs = session.scalar(select(func.count()).where(Run.project_id == project_id))
    clips = session.scalar(select(func.count()).where(Clip.project_id == project_id))
    tracks = session.scalar(select(func.count()).where(Track.project_id == project_id))
    return ProjectCounts(runs=runs or 0, clips=clips or 0, tracks=tracks or 0)
