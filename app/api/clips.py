"""/clips: the catalog of generated clips, curation edits and markers."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from app import spectrogram
from app.api.deps import (
    LIMIT_JOBS,
    CursorQuery,
    IdempotencyKey,
    QueueDep,
    ReadSessionDep,
    ResourceId,
    SessionDep,
    StorageDep,
)
from app.api.urls import job_url
from app.media import file_response
from app.presenters import clip_out
from app.schemas.clips import AnalysisIn, ClipOut, ClipPatch, MarkerIn, MarkerOut
from app.schemas.common import Page
from app.schemas.jobs import JobOut
from app.services import analysis, clips
from app.services.clips import ClipFilter
from app.services.errors import NotFound

router = APIRouter(tags=["clips"])
Sort = Literal[
    "created", "-created", "epoch", "-epoch", "rating", "-rating",
    "loudness", "-loudness", "silence", "-silence", "quality", "-quality",
]
FlagFilter = Literal[
    "silent", "noise", "exploded", "drone", "loop", "dc", "clipped", "copied",
    "any", "none", "clean", "unanalysed",
]


@router.get("/projects/{project_id}/clips", response_model=Page[ClipOut])
def list_clips(
    project_id: ResourceId,
    session: ReadSessionDep,
    run: int | None = None,
    epoch: int | None = None,
    min_rating: Annotated[int | None, Query(ge=0, le=5)] = None,
    kept: Annotated[
        Literal["true", "false", "null"] | None,
        Query(description="true kept, false rejected, null undecided"),
    ] = None,
    min_lufs: Annotated[
        float | None, Query(ge=-120, le=0, description="integrated loudness at least (LUFS)")
    ] = None,
    max_lufs: Annotated[
        float | None, Query(ge=-120, le=0, description="integrated loudness at most (LUFS)")
    ] = None,
    max_silence: Annotated[
        float | None, Query(ge=0, le=1, description="silent fraction at most, 0..1")
    ] = None,
    flag: Annotated[
        FlagFilter | None,
        Query(description="a flag's name: clips raising it; any: some flag; none: analysed, "
              "no flag; clean: analysed, no hard flag (silent, noise, exploded, copied); "
              "unanalysed"),
    ] = None,
    tag: Annotated[
        list[str] | None,
        Query(max_length=64, description="clips carrying this tag (repeat for all of several); "
              "whole tags, ASCII case ignored"),
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="text the clip's notes contain, ASCII case ignored"),
    ] = None,
    sort: Sort = "-created",
    cursor: CursorQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Page[ClipOut]:
    """A page of clips, newest first unless `sort` says otherwise (`-` = descending; unrated,
    unmeasured clips sort as the lowest values). `sort=-quality` is best first."""
    filters = ClipFilter(
        run_id=run,
        epoch=epoch,
        min_rating=min_rating,
        kept=None if kept in (None, "null") else kept == "true",
        undecided=kept == "null",
        min_lufs=min_lufs,
        max_lufs=max_lufs,
        max_silence=max_silence,
        flag=flag,
        tags=tuple(tag or ()),
        text=q,
    )
    rows, next_cursor = clips.list_clips(
        session, project_id, filters=filters, sort=sort, cursor=cursor, limit=limit
    )
    return Page(data=[clip_out(c) for c in rows], next_cursor=next_cursor)


@router.get("/clips/{clip_id}", response_model=ClipOut)
def get_clip(clip_id: ResourceId, session: ReadSessionDep) -> ClipOut:
    return clip_out(clips.get_clip(session, clip_id))


@router.patch("/clips/{clip_id}", response_model=ClipOut)
def update_clip(clip_id: ResourceId, body: ClipPatch, session: SessionDep) -> ClipOut:
    """Rate (1..5, null clears), keep/reject (true/false, null = undecided), tag, annotate."""
    return clip_out(clips.update_clip(session, clip_id, body.model_dump(exclude_unset=True)))


@router.post("/clips/{clip_id}/markers", status_code=201, response_model=MarkerOut)
def add_marker(clip_id: ResourceId, body: MarkerIn, session: SessionDep) -> MarkerOut:
    marker = clips.add_marker(session, clip_id, time_s=body.time_s, label=body.label)
    return MarkerOut.model_validate(marker)


@router.get("/clips/{clip_id}/markers", response_model=Page[MarkerOut])
def list_markers(clip_id: ResourceId, session: ReadSessionDep) -> Page[MarkerOut]:
    return Page(data=[MarkerOut.model_validate(m) for m in clips.list_markers(session, clip_id)])


@router.delete("/markers/{marker_id}", status_code=204)
def delete_marker(marker_id: ResourceId, session: SessionDep) -> Response:
    clips.delete_marker(session, marker_id)
    return Response(status_code=204)


@router.get(
    "/clips/{clip_id}/spectrogram.png",
    response_class=Response,
    responses={
        200: {"content": {"image/png": {}}, "description": "the spectrogram, 0 Hz at the bottom"},
        404: {"content": {"application/problem+json": {}}, "description": "no such clip or audio"},
    },
)
def clip_spectrogram(
    clip_id: ResourceId, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    """A spectrogram PNG of the whole clip (numpy STFT, linear frequency up to Nyquist, dB
    relative to the loudest bin), rendered once and cached next to the clip's audio. The clip
    editor shows it so long dumps are never decoded in the browser."""
    clip = clips.get_clip(session, clip_id)
    audio = storage.path(clip.audio_path)
    session.rollback()  # no transaction held while rendering
    if not audio.is_file():
        raise NotFound("clip audio file", clip_id)
    return file_response(request, spectrogram.cached_png(audio), "image/png", ranges=False)


@router.post(
    "/projects/{project_id}/analysis",
    status_code=202,
    response_model=JobOut,
    responses={202: {"description": "queued on the cpu queue; Location points at the job"}},
    dependencies=[LIMIT_JOBS],
)
def analyse_clips(
    project_id: ResourceId,
    session: SessionDep,
    queue: QueueDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
    body: AnalysisIn | None = None,
) -> JobOut:
    """Analyse the project's clips that the current analysis has not seen (all of them with
    `redo`): flags, closeness to the album, style distance, quality. Clips are analysed when
    they land anyway; this backfills older ones. Runs on the cpu queue in bounded batches
    (cancellable, with progress), never in the way of training or the studio."""
    job = analysis.request_analysis(
        session, queue, project_id, redo=(body or AnalysisIn()).redo,
        idempotency_key=idempotency_key,
    )
    response.headers["Location"] = job_url(job.id)
    return JobOut.model_validate(job)
