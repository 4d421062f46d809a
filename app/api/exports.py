"""/exports: release zips of an album (a cpu job), their state and the download."""

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
    StorageDep,
)
from app.api.file_routes import add_file_route
from app.api.problems import PROBLEM
from app.api.urls import job_url
from app.media import file_response
from app.presenters import export_out
from app.schemas.common import Page
from app.schemas.exports import ExportIn, ExportOut
from app.services import exports

router = APIRouter(tags=["exports"])


@router.post(
    "/albums/{album_id}/exports",
    status_code=202,
    response_model=ExportOut,
    responses={
        202: {"description": "queued; Location points at the job"},
        409: {**PROBLEM, "description": "the album has no tracks"},
    },
    dependencies=[LIMIT_JOBS],
)
def create_export(
    album_id: ResourceId,
    session: SessionDep,
    queue: QueueDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    body: ExportIn | None = None,
) -> ExportOut:
    """Render, master (−14 LUFS album mode, ≤ −1 dBTP) and package the album as it is now,
    on a cpu worker. Exporting an unchanged album again gives the same audio."""
    formats = (body or ExportIn()).formats
    export = exports.request_export(
        session, queue, album_id, formats, idempotency_key=idempotency_key
    )
    if export.job_id is not None:
        response.headers["Location"] = job_url(export.job_id)
    return export_out(session, export)


@router.get("/albums/{album_id}/exports", response_model=Page[ExportOut])
def list_exports(album_id: ResourceId, session: ReadSessionDep) -> Page[ExportOut]:
    return Page(data=[export_out(session, e) for e in exports.list_exports(session, album_id)])


@router.get("/exports/{export_id}", response_model=ExportOut)
def get_export(export_id: ResourceId, session: ReadSessionDep) -> ExportOut:
    return export_out(session, exports.get_export(session, export_id))


def download(
    export_id: ResourceId, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    """The release zip as an attachment (`filename*` carries the exact UTF-8 name); Range and
    HEAD work, so an interrupted download can resume. 409 until the export has finished."""
    export = exports.get_export(session, export_id)
    name = exports.download_name(export, session)
    path = exports.export_file(storage, export)
    response = file_response(request, path, "application/zip")
    response.headers["Content-Disposition"] = exports.content_disposition(name)
    return response


DOWNLOAD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/zip": {}}, "description": "the release zip"},
    206: {"description": "the requested byte range"},
    409: {**PROBLEM, "description": "the export has not finished"},
}
add_file_route(
    router, "/exports/{export_id}/download", download, name="export_download",
    responses=DOWNLOAD_RESPONSES,
)
