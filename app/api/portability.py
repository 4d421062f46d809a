"""Models and projects in and out: a checkpoint's file, importing a checkpoint trained
elsewhere as a run, and a whole project as one archive (export streamed, import uploaded)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.api.deps import (
    LIMIT_UPLOADS,
    ReadSessionDep,
    ResourceId,
    SessionDep,
    SettingsDep,
    StorageDep,
)
from app.api.file_routes import add_file_route
from app.api.problems import PROBLEM
from app.api.sources import _ensure_project, _multipart
from app.media import file_response
from app.received import ReceivedFile
from app.schemas.portability import CheckpointFileOut, CheckpointImportOut, ProjectImportOut
from app.schemas.projects import ProjectOut
from app.schemas.runs import CheckpointOut, RunOut
from app.services import archive_import, checkpoint_import, project_archive
from app.services.errors import InvalidInput, NotFound
from app.services.exports import content_disposition
from app.uploads import ReceivedForm, UploadLimits, receive_multipart

router = APIRouter(tags=["portability"])


def checkpoint_file(
    checkpoint_id: ResourceId, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    """The checkpoint of one epoch as `torch.save` wrote it (weights, optimizer state, configs):
    what `albumbot generate` and `POST /projects/{id}/checkpoints/import` read. Range and HEAD
    work, so a large download can resume."""
    checkpoint = checkpoint_import.get_checkpoint(session, checkpoint_id)
    name = checkpoint_import.checkpoint_filename(checkpoint)
    path = storage.path(checkpoint.path) if checkpoint.path else None
    if path is None or not path.is_file():
        raise NotFound("checkpoint file", checkpoint_id)
    response = file_response(request, path, "application/octet-stream")
    response.headers["Content-Disposition"] = content_disposition(name)
    return response


add_file_route(
    router, "/checkpoints/{checkpoint_id}/file", checkpoint_file, name="checkpoint_file",
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "the .pt file"},
        206: {"description": "the requested byte range"},
        416: {"description": "range not satisfiable"},
    },
)


async def _one_file(request: Request, storage: Any, max_bytes: int) -> tuple[ReceivedForm,
                                                                               ReceivedFile]:
    form = await receive_multipart(request, storage, UploadLimits(max_bytes, max_files=1))
    files = form.files_in("file")
    if len(files) != 1:
        form.discard()
        raise InvalidInput("send exactly one file in the multipart field 'file'")
    return form, files[0]


@router.post(
    "/projects/{project_id}/checkpoints/import",
    status_code=201,
    response_model=CheckpointImportOut,
    responses={413: PROBLEM, 422: {**PROBLEM, "description": "an incompatible checkpoint"}},
    openapi_extra=_multipart({"file": {"type": "string", "format": "binary"}}, ["file"]),
    dependencies=[LIMIT_UPLOADS],
)
async def import_checkpoint(
    project_id: ResourceId, request: Request, session: SessionDep, storage: StorageDep,
    settings: SettingsDep,
) -> CheckpointImportOut:
    """Add a checkpoint trained elsewhere (e.g. `albumbot train` on a rented GPU) as a new
    finished run of the project with that one epoch; generate clips from it as from any
    epoch. Its format version, configs and weight shapes are checked first: an incompatible
    file is a 422 that says why, and nothing is stored."""
    await run_in_threadpool(_ensure_project, session, project_id)
    # A paper-preset checkpoint with its Adam state is ~0.6 GB: the request cap, not the
    # per-file one of album uploads.
    form, received = await _one_file(request, storage, settings.max_request_bytes)
    try:
        made = await run_in_threadpool(
            checkpoint_import.import_checkpoint, session, storage, project_id, received
        )
        return CheckpointImportOut(
            run=RunOut.model_validate(made.run),
            checkpoint=CheckpointOut.model_validate(made.checkpoint),
            file=CheckpointFileOut(
                format_version=made.header.format_version,
                model=made.header.model_config.to_dict(),
                train=made.header.train_config.to_dict(), epoch=made.header.epoch,
                step=made.header.step, parameters=made.header.parameters, sha256=made.sha256,
            ),
        )
    finally:
        form.discard()


@router.get(
    "/projects/{project_id}/archive",
    response_class=Response,
    responses={200: {"content": {"application/zip": {}},
                     "description": "the project archive (manifest.json inside lists hashes)"}},
)
def export_project(
    project_id: ResourceId,
    session: ReadSessionDep,
    storage: StorageDep,
    checkpoints: Annotated[
        str, Query(pattern=r"^(all|none|[0-9]+(,[0-9]+)*)$",
                   description="checkpoint files to include: all, none, or ids (1,5,9)")
    ] = "all",
) -> Response:
    """The whole project as one zip, streamed: catalog rows, sources, images, checkpoints,
    clips (audio, peaks, analysis), songs, titles, covers, albums and finished release zips,
    with a manifest of SHA-256 hashes. Import it with `POST /projects/import`."""
    choice: project_archive.CheckpointChoice
    if checkpoints in ("all", "none"):
        choice = "all" if checkpoints == "all" else "none"
    else:
        choice = frozenset(int(i) for i in checkpoints.split(","))
    snap = project_archive.snapshot(session, storage, project_id, checkpoints=choice)
    session.rollback()  # no transaction stays open while the body streams
    name = project_archive.archive_filename(snap)
    return StreamingResponse(
        project_archive.stream_archive(snap, storage), media_type="application/zip",
        headers={"Content-Disposition": content_disposition(name)},
    )


@router.post(
    "/projects/import",
    status_code=201,
    response_model=ProjectImportOut,
    responses={413: PROBLEM, 422: {**PROBLEM, "description": "not a usable project archive"}},
    openapi_extra=_multipart({"file": {"type": "string", "format": "binary"}}, ["file"]),
    dependencies=[LIMIT_UPLOADS],
)
async def import_project(
    request: Request, session: SessionDep, storage: StorageDep, settings: SettingsDep
) -> ProjectImportOut:
    """A new project from an archive of `GET /projects/{id}/archive` (from this install or
    another): every row, ids remapped, every file checked against the manifest's SHA-256."""
    form, received = await _one_file(request, storage, settings.max_request_bytes)
    try:
        made = await run_in_threadpool(
            lambda: archive_import.import_archive(
                session, storage, received.path, max_bytes=settings.max_request_bytes
            )
        )
        return ProjectImportOut(
            project=ProjectOut.model_validate(made.project), counts=made.counts, files=made.files,
            ids={t: {str(k): v for k, v in m.items()} for t, m in made.ids.items()},
        )
    finally:
        form.discard()
