"""Media downloads: clip audio and source audio (HTTP ranges, HEAD), clip excerpts, clip
peaks, uploaded images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import ReadSessionDep, ResourceId, StorageDep
from app.api.file_routes import add_file_route
from app.api.problems import Responses
from app.media import AUDIO_TYPES, IMAGE_TYPES, bytes_response, file_response
from app.services import clips, images, sources
from app.services.errors import NotFound
from app.storage import Storage

router = APIRouter(tags=["media"])
AUDIO_RESPONSES: Responses = {
    200: {"content": {"audio/wav": {}, "audio/flac": {}}, "description": "the whole file"},
    206: {"description": "the requested byte range"},
    416: {"description": "range not satisfiable; Content-Range: bytes */size"},
}


def clip_audio(
    clip_id: ResourceId, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    """A clip's audio. Honours `Range: bytes=...` (206/416) and `If-Range`; HEAD too."""
    clip = clips.get_clip(session, clip_id)
    media_type = AUDIO_TYPES.get(clip.audio_format.upper(), "application/octet-stream")
    path = _existing(storage, clip.audio_path, "clip audio", clip_id)
    return file_response(request, path, media_type)


add_file_route(
    router, "/clips/{clip_id}/audio", clip_audio, name="clip_audio", responses=AUDIO_RESPONSES
)


def clip_excerpt(
    clip_id: ResourceId,
    request: Request,
    session: ReadSessionDep,
    storage: StorageDep,
    start_s: Annotated[float, Query(ge=0, le=1e6, description="where it starts (seconds)")],
    end_s: Annotated[
        float | None, Query(gt=0, le=1e6, description="where it ends (seconds); default: the end")
    ] = None,
) -> Response:
    """The clip from `start_s` to `end_s` (at most 600 s) as a WAV at the clip's own rate:
    16-bit PCM when the clip is (the same integers), else 32-bit float. Times become samples
    as the timeline rounds them (`floor(t × rate + ½)`); `X-Excerpt-Start` (first sample),
    `X-Excerpt-Frames` and `X-Excerpt-Rate` say exactly which samples it holds. The browser's
    loops and previews of long clips decode these instead of the whole file. Range and HEAD
    work."""
    cut = clips.clip_excerpt(session, storage, clip_id, start_s, end_s)
    response = bytes_response(request, cut.excerpt.data, "audio/wav", etag=cut.etag,
                              modified=cut.modified)
    response.headers["X-Excerpt-Start"] = str(cut.excerpt.start)
    response.headers["X-Excerpt-Frames"] = str(cut.excerpt.frames)
    response.headers["X-Excerpt-Rate"] = str(cut.excerpt.sample_rate)
    return response


add_file_route(
    router, "/clips/{clip_id}/excerpt", clip_excerpt, name="clip_excerpt",
    responses={**AUDIO_RESPONSES, 200: {"content": {"audio/wav": {}}, "description": "the excerpt"},
               422: {"description": "a range that is not inside the clip"}},
)


def source_audio(
    source_id: ResourceId, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    """An uploaded album track as stored (what a clip's closeness points into, for A/B against
    the source). Honours `Range: bytes=...` (206/416) and `If-Range`; HEAD too."""
    track = sources.get_source(session, source_id)
    media_type = AUDIO_TYPES.get(track.format.upper(), "application/octet-stream")
    path = _existing(storage, track.path, "source audio", source_id)
    return file_response(request, path, media_type)


add_file_route(
    router, "/sources/{source_id}/audio", source_audio, name="source_audio",
    responses={
        **AUDIO_RESPONSES,
        200: {"content": {t: {} for t in AUDIO_TYPES.values()}, "description": "the whole file"},
    },
)


@router.get(
    "/clips/{clip_id}/peaks",
    response_class=Response,
    responses={200: {"content": {"application/json": {}}, "description": "waveform peaks"}},
)
def clip_peaks(
    clip_id: ResourceId, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    """Waveform peaks JSON that wavesurfer.js (`peaks`, `duration`) and peaks.js/waveform-data
    (`version`, `data`, ...) both load."""
    clip = clips.get_clip(session, clip_id)
    if not clip.peaks_path:
        raise NotFound("peaks of clip", clip_id)
    path = _existing(storage, clip.peaks_path, "peaks of clip", clip_id)
    return file_response(request, path, "application/json", ranges=False)


@router.get(
    "/images/{image_id}",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}, "description": "the image"}},
)
def get_image(
    image_id: ResourceId, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    image = images.get_image(session, image_id)
    path = _existing(storage, image.path, "image", image_id)
    return file_response(request, path, IMAGE_TYPES[image.format], ranges=False)


def _existing(storage: Storage, key: str, what: str, ident: int) -> Path:
    path = storage.path(key)
    if not path.is_file():
        raise NotFound(what + " file", ident)
    return path
