"""Generated album covers: make them (a cpu job), the gallery, the image, pick and crop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from app.api.deps import (
    LIMIT_JOBS,
    IdempotencyKey,
    QueueDep,
    ReadSessionDep,
    ResourceId,
    SessionDep,
    SettingsDep,
    StorageDep,
)
from app.api.file_routes import add_file_route
from app.api.problems import PROBLEM
from app.api.urls import job_url
from app.media import file_response
from app.presenters import cover_out
from app.schemas.common import Page
from app.schemas.covers import CoverOut, CoverPatch, CoversGenerateIn
from app.schemas.jobs import JobOut
from app.services import cover_backends, covers

router = APIRouter(tags=["covers"])


@router.post(
    "/projects/{project_id}/covers/generate",
    status_code=202,
    response_model=JobOut,
    responses={
        202: {"description": "queued; Location points at the job"},
        409: {**PROBLEM, "description": "no album cover (or band photos) uploaded"},
        422: {**PROBLEM, "description": "a backend this install cannot run (GET /covers/backends)"},
    },
    dependencies=[LIMIT_JOBS],
)
def generate_covers(
    project_id: ResourceId,
    body: CoversGenerateIn,
    session: SessionDep,
    queue: QueueDep,
    response: Response,
    settings: SettingsDep,
    idempotency_key: IdempotencyKey = None,
) -> JobOut:
    """Make `n` covers from the project's album cover (and band photos) on a cpu worker."""
    cover_backends.check_backend(settings, body.backend)
    job = covers.request_covers(session, queue, project_id, body, idempotency_key=idempotency_key)
    response.headers["Location"] = job_url(job.id)
    return JobOut.model_validate(job)


@router.get("/projects/{project_id}/covers", response_model=Page[CoverOut])
def list_covers(project_id: ResourceId, session: ReadSessionDep) -> Page[CoverOut]:
    return Page(data=[cover_out(c) for c in covers.list_covers(session, project_id)])


# `:int`: PATCH /covers/backends is a 405 (Allow: GET), not a 422 about cover_id "backends".
@router.get("/covers/{cover_id:int}", response_model=CoverOut)
def get_cover(cover_id: ResourceId, session: ReadSessionDep) -> CoverOut:
    return cover_out(covers.get_cover(session, cover_id))


@router.patch("/covers/{cover_id:int}", response_model=CoverOut, responses={422: PROBLEM})
def patch_cover(
    cover_id: ResourceId, body: CoverPatch, session: SessionDep, storage: StorageDep
) -> CoverOut:
    """Pick it, and/or crop it square (from the generated original, resized to its size)."""
    cover = covers.update_cover(
        session, storage, cover_id, picked=body.picked, crop=body.crop,
        set_crop="crop" in body.model_fields_set,
    )
    return cover_out(cover)


@router.delete("/covers/{cover_id:int}", status_code=204)
def delete_cover(cover_id: ResourceId, session: SessionDep, storage: StorageDep) -> Response:
    covers.delete_cover(session, storage, cover_id)
    return Response(status_code=204)


def cover_image(
    cover_id: ResourceId, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    """The cover as a JPEG (nosniff, sandboxed)."""
    cover = covers.get_cover(session, cover_id)
    return file_response(request, covers.cover_file(storage, cover), "image/jpeg", ranges=False)


IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}}, "description": "the cover"}
}
add_file_route(
    router, "/covers/{cover_id}/image", cover_image, name="cover_image", responses=IMAGE_RESPONSES
)
