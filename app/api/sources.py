"""Uploads to a project: album audio (`/sources`), discography titles (`/titles`), images."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from app.api.deps import (
    LIMIT_UPLOADS,
    ReadSessionDep,
    ResourceId,
    SessionDep,
    SettingsDep,
    StorageDep,
)
from app.api.problems import PROBLEM
from app.api.urls import image_url
from app.catalog import SourceImage
from app.schemas.common import Page
from app.schemas.projects import SourceImageOut, SourceTrackOut, TitlesOut
from app.services import images, projects, sources
from app.services.errors import InvalidInput, UnsupportedMedia
from app.settings import Settings
from app.uploads import UploadLimits, receive_multipart

router = APIRouter(tags=["sources"])


def _multipart(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    # These handlers stream the body themselves, so FastAPI cannot infer the request schema.
    schema = {"type": "object", "properties": properties, "required": required}
    content = {"multipart/form-data": {"schema": schema}}
    return {"requestBody": {"required": True, "content": content}}


def _ensure_project(session: Session, project_id: int) -> None:
    """404 before reading the body; then end the transaction, which must not hold the SQLite
    write lock while a large upload streams in."""
    projects.get_project(session, project_id)
    session.rollback()


def _limits(settings: Settings) -> UploadLimits:
    return UploadLimits(
        max_file_bytes=settings.max_upload_bytes, max_files=settings.max_upload_files
    )


@router.post(
    "/projects/{project_id}/sources",
    status_code=201,
    response_model=Page[SourceTrackOut],
    responses={413: PROBLEM, 415: PROBLEM, 422: PROBLEM},
    openapi_extra=_multipart(
        {"files": {"type": "array", "items": {"type": "string", "format": "binary"},
                   "minItems": 1}},
        ["files"],
    ),
    dependencies=[LIMIT_UPLOADS],
)
async def upload_sources(
    project_id: ResourceId,
    request: Request,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> Page[SourceTrackOut]:
    """Add album tracks. Every file is decoded in full; one bad file rejects the whole request."""
    await run_in_threadpool(_ensure_project, session, project_id)
    form = await receive_multipart(request, storage, _limits(settings))
    try:
        tracks = await run_in_threadpool(
            sources.add_sources, session, storage, project_id, form.files_in("files")
        )
        return Page(data=[SourceTrackOut.model_validate(t) for t in tracks])
    finally:
        form.discard()  # accepted files were moved away; this removes the rest


@router.get("/projects/{project_id}/sources", response_model=Page[SourceTrackOut])
def list_sources(project_id: ResourceId, session: ReadSessionDep) -> Page[SourceTrackOut]:
    rows = sources.list_sources(session, project_id)
    return Page(data=[SourceTrackOut.model_validate(t) for t in rows])


@router.put(
    "/projects/{project_id}/titles",
    response_model=TitlesOut,
    responses={415: PROBLEM, 422: PROBLEM},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"type": "array", "items": {"type": "string"}}},
                "text/plain": {"schema": {"type": "string", "description": "one title per line"}},
            },
        }
    },
)
async def put_titles(project_id: ResourceId, request: Request, session: SessionDep) -> TitlesOut:
    """Replace the discography's song titles (the Markov corpus)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("titles must be UTF-8 text") from None
    if content_type == "application/json":
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise InvalidInput(f"body is not valid JSON ({exc})") from None
        if not isinstance(data, list) or not all(isinstance(t, str) for t in data):
            raise InvalidInput("send a JSON list of strings")
        titles = data
    elif content_type == "text/plain":
        titles = projects.parse_titles_text(text)
    else:
        raise UnsupportedMedia("send application/json (a list of strings) or text/plain")
    saved = await run_in_threadpool(projects.replace_titles, session, project_id, titles)
    return TitlesOut(data=saved)


@router.get("/projects/{project_id}/titles", response_model=TitlesOut)
def get_titles(project_id: ResourceId, session: ReadSessionDep) -> TitlesOut:
    return TitlesOut(data=projects.list_titles(session, project_id))


def image_out(image: SourceImage) -> SourceImageOut:
    return SourceImageOut.model_validate(
        {**{k: getattr(image, k) for k in SourceImageOut.model_fields if k != "url"},
         "url": image_url(image.id)}
    )


@router.post(
    "/projects/{project_id}/images",
    status_code=201,
    response_model=SourceImageOut,
    responses={413: PROBLEM, 415: PROBLEM, 422: PROBLEM},
    openapi_extra=_multipart(
        {
            "file": {"type": "string", "format": "binary"},
            "role": {"type": "string", "enum": ["cover", "photo"]},
        },
        ["file", "role"],
    ),
    dependencies=[LIMIT_UPLOADS],
)
async def upload_image(
    project_id: ResourceId,
    request: Request,
    session: SessionDep,
    storage: StorageDep,
    settings: SettingsDep,
) -> SourceImageOut:
    """Add a cover or band photo (PNG, JPEG or WebP); stored re-encoded as PNG or JPEG."""
    await run_in_threadpool(_ensure_project, session, project_id)
    limits = UploadLimits(max_file_bytes=settings.max_upload_bytes, max_files=1)
    form = await receive_multipart(request, storage, limits)
    try:
        files = form.files_in("file")
        if len(files) != 1:
            raise InvalidInput("send exactly one image in the multipart field 'file'")
        role = form.fields.get("role", "")
        image = await run_in_threadpool(
            lambda: images.add_image(
                session, storage, project_id, files[0], role=role,
                max_pixels=settings.max_image_pixels,
            )
        )
        return image_out(image)
    finally:
        form.discard()


@router.get("/projects/{project_id}/images", response_model=Page[SourceImageOut])
def list_images(project_id: ResourceId, session: ReadSessionDep) -> Page[SourceImageOut]:
    return Page(data=[image_out(i) for i in images.list_images(session, project_id)])
