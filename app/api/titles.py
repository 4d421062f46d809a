"""Generated song titles: draw them (a cpu job), browse and search them, edit and pin them.

`GET /projects/{id}/titles` already answers with the discography (the Markov corpus, next to its
`PUT`), so the generated titles are listed under `/projects/{id}/titles/generated`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from app.api.deps import (
    LIMIT_JOBS,
    CursorQuery,
    IdempotencyKey,
    QueueDep,
    ReadSessionDep,
    ResourceId,
    SessionDep,
)
from app.api.problems import PROBLEM
from app.api.urls import job_url
from app.presenters import title_outs
from app.schemas.common import Page
from app.schemas.jobs import JobOut
from app.schemas.titles import TitleOut, TitlePatch, TitlesGenerateIn
from app.services import titles

router = APIRouter(tags=["titles"])
ACCEPTED: dict[int | str, dict[str, Any]] = {
    202: {"description": "queued; Location points at the job"},
    409: {**PROBLEM, "description": "the discography is too small to learn from"},
}


@router.post(
    "/projects/{project_id}/titles/generate",
    status_code=202,
    response_model=JobOut,
    responses=ACCEPTED,
    dependencies=[LIMIT_JOBS],
)
def generate_titles(
    project_id: ResourceId,
    body: TitlesGenerateIn,
    session: SessionDep,
    queue: QueueDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    """Draw `n` new titles from the discography's word and character chains on a cpu worker.
    Same seed and discography → same titles, in the same order."""
    job = titles.request_titles(session, queue, project_id, body, idempotency_key=idempotency_key)
    response.headers["Location"] = job_url(job.id)
    return JobOut.model_validate(job)


@router.get("/projects/{project_id}/titles/generated", response_model=Page[TitleOut])
def list_generated(
    project_id: ResourceId,
    session: ReadSessionDep,
    q: Annotated[str | None, Query(max_length=200, description="text to look for")] = None,
    pinned: bool | None = None,
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page[TitleOut]:
    """Generated titles, oldest first; `q` matches anywhere in the text, case-insensitively."""
    rows, next_cursor = titles.list_generated(
        session, project_id, q=q, pinned=pinned, cursor=cursor, limit=limit
    )
    return Page(data=title_outs(session, rows), next_cursor=next_cursor)


@router.get("/titles/{title_id}", response_model=TitleOut)
def get_title(title_id: ResourceId, session: ReadSessionDep) -> TitleOut:
    return title_outs(session, [titles.get_title(session, title_id)])[0]


@router.patch("/titles/{title_id}", response_model=TitleOut)
def patch_title(title_id: ResourceId, body: TitlePatch, session: SessionDep) -> TitleOut:
    """Edit the text and/or pin it."""
    title = titles.update_title(session, title_id, text=body.text, pinned=body.pinned)
    return title_outs(session, [title])[0]
