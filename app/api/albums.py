"""/albums: albums of a project, the pre-export check and "play transition"."""

from __future__ import annotations

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
from app.api.problems import PROBLEM, Responses
from app.api.urls import API_PREFIX, job_url
from app.media import file_response
from app.presenters import album_out
from app.schemas.albums import AlbumCheckOut, AlbumIn, AlbumOut, AutoAlbumIn
from app.schemas.common import Page
from app.schemas.jobs import JobOut
from app.services import albums
from app.services import auto_album as auto_album_service

router = APIRouter(tags=["albums"])


def album_url(album_id: int) -> str:
    return f"{API_PREFIX}/albums/{album_id}"


@router.post(
    "/projects/{project_id}/albums", status_code=201, response_model=AlbumOut,
    responses={422: PROBLEM},
)
def create_album(
    project_id: ResourceId, body: AlbumIn, session: SessionDep, response: Response
) -> AlbumOut:
    album = albums.create_album(session, project_id, body)
    response.headers["Location"] = album_url(album.id)
    return album_out(session, album)


@router.get("/projects/{project_id}/albums", response_model=Page[AlbumOut])
def list_albums(project_id: ResourceId, session: ReadSessionDep) -> Page[AlbumOut]:
    return Page(data=[album_out(session, a) for a in albums.list_albums(session, project_id)])


@router.get("/albums/{album_id}", response_model=AlbumOut)
def get_album(album_id: ResourceId, session: ReadSessionDep) -> AlbumOut:
    return album_out(session, albums.get_album(session, album_id))


@router.put("/albums/{album_id}", response_model=AlbumOut, responses={422: PROBLEM})
def put_album(album_id: ResourceId, body: AlbumIn, session: SessionDep) -> AlbumOut:
    """Replace the album: title, artist, cover and the whole ordered track list."""
    return album_out(session, albums.replace_album(session, album_id, body))


@router.delete("/albums/{album_id}", status_code=204)
def delete_album(album_id: ResourceId, session: SessionDep, storage: StorageDep) -> Response:
    albums.delete_album(session, storage, album_id)
    return Response(status_code=204)


@router.get("/albums/{album_id}/check", response_model=AlbumCheckOut)
def check_album(
    album_id: ResourceId, session: ReadSessionDep, storage: StorageDep
) -> AlbumCheckOut:
    """Render every track and list what would get the album refused: tracks under 30 s, over
    10 s of silence at either end, clipping, missing titles, no cover, an ISRC on two tracks.
    No problems: ready. `warnings` name metadata distributors ask for (date, genre, label,
    UPC, composers, ISRCs) that is not given; they do not stop an export."""
    problems, warnings = albums.check_release(session, storage, album_id)
    return AlbumCheckOut(ok=not problems, problems=problems, warnings=warnings)


def transition_audio(
    album_id: ResourceId,
    n: ResourceId,
    request: Request,
    session: ReadSessionDep,
    storage: StorageDep,
) -> Response:
    """The last 10 s of track `n` (1-based) into the first 10 s of track n+1, with the gap or
    crossfade between them, as 16-bit 44.1 kHz stereo WAV. Range and HEAD work."""
    path = albums.transition_file(session, storage, album_id, n)
    return file_response(request, path, "audio/wav")


AUDIO_RESPONSES: Responses = {
    200: {"content": {"audio/wav": {}}, "description": "the rendered transition"},
    206: {"description": "the requested byte range"},
    404: {**PROBLEM, "description": "no such album, or n is not between 1 and tracks − 1"},
    409: {**PROBLEM, "description": "a track is empty or a clip's audio is missing"},
}
add_file_route(
    router, "/albums/{album_id}/transition/{n}/audio", transition_audio,
    name="album_transition_audio", responses=AUDIO_RESPONSES,
)


@router.post(
    "/projects/{project_id}/albums/auto",
    status_code=202,
    response_model=JobOut,
    responses={
        202: {"description": "queued; the job's result links the album and the export"},
        409: {**PROBLEM, "description": "no trained epochs, or too few clips for the request"},
    },
    dependencies=[LIMIT_JOBS],
)
def auto_album(
    project_id: ResourceId,
    session: SessionDep,
    queue: QueueDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    body: AutoAlbumIn | None = None,
) -> JobOut:
    """No curation at all: random clips (or fresh generations, or one excerpt per epoch),
    random titles and a generated cover, exported like a curated album. Reproducible from
    `seed` (returned in the job's payload when left out)."""
    job = auto_album_service.request_auto_album(
        session, queue, project_id, body or AutoAlbumIn.model_validate({}),
        idempotency_key=idempotency_key,
    )
    response.headers["Location"] = job_url(job.id)
    return JobOut.model_validate(job)
