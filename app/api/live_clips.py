"""/checkpoints/{id}/live-clips/{index}: clips that are still being generated, heard while they
grow (WAV over plain HTTP, app/live/growing.py), their growing waveform, and "keep that". Once a
clip is finished its stream and peaks redirect to the ordinary clip's."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse

from app.api.deps import QueueDep, ReadSessionDep, ResourceId, SessionDep, StorageDep
from app.api.problems import Responses
from app.api.urls import clip_audio_url, clip_peaks_url
from app.catalog import Clip
from app.live.growing import BYTES_PER_SAMPLE, HEADER_BYTES, stream_wav
from app.presenters import clip_out, finished_live_clip_out, live_clip_out
from app.schemas.clips import ClipOut
from app.schemas.common import Page
from app.schemas.live_clips import LiveClipOut, LiveKeepIn
from app.services import live_clips

router = APIRouter(tags=["live clips"])
ClipIndex = Annotated[int, Path(ge=0, le=2**31 - 1, description="index in its checkpoint")]
STREAM: Responses = {
    200: {"content": {"audio/wav": {}}, "description": "WAV of the clip's final length, sent "
          "as it is generated"},
    303: {"description": "the clip is finished: its ordinary audio"},
}


@router.get("/projects/{project_id}/live-clips", response_model=Page[LiveClipOut])
def list_live_clips(
    project_id: ResourceId,
    session: ReadSessionDep,
    storage: StorageDep,
    run: int | None = None,
    epoch: int | None = None,
) -> Page[LiveClipOut]:
    """Clips being generated now (of one run and epoch if given), with how far they are."""
    found = live_clips.list_live_clips(session, storage, project_id, run_id=run, epoch=epoch)
    return Page(data=[live_clip_out(c) for c in found])


@router.get("/checkpoints/{checkpoint_id}/live-clips/{index}", response_model=LiveClipOut)
def get_live_clip(
    checkpoint_id: ResourceId, index: ClipIndex, session: ReadSessionDep, storage: StorageDep
) -> LiveClipOut:
    """A live clip, or `state: finished` with its `clip_id` once it is an ordinary clip."""
    found = live_clips.find_live_clip(session, storage, checkpoint_id, index)
    if isinstance(found, Clip):
        return finished_live_clip_out(found)
    return live_clip_out(found)


@router.get("/checkpoints/{checkpoint_id}/live-clips/{index}/stream",
            response_class=StreamingResponse, responses=STREAM)
def stream_live_clip(
    checkpoint_id: ResourceId,
    index: ClipIndex,
    request: Request,
    session: ReadSessionDep,
    storage: StorageDep,
) -> Response:
    """The clip from its first sample, each sample as soon as it is generated; the response
    ends with the clip's last sample (or short, if the generation fails or is cancelled)."""
    found = live_clips.find_live_clip(session, storage, checkpoint_id, index)
    if isinstance(found, Clip):
        return RedirectResponse(clip_audio_url(found.id), status_code=303)
    session.rollback()  # no transaction held for the stream's length
    live = found
    sessions = request.app.state.read_session_factory

    def generating_now() -> bool:
        with sessions() as s:
            return live_clips.still_generating(s, storage, live)

    async def generating() -> bool:
        if await request.is_disconnected():
            return False
        return await asyncio.to_thread(generating_now)

    p = live.progress
    body = stream_wav(live_clips.audio_file(storage, live), p.sample_rate, p.total_samples,
                      generating=generating)
    # No Content-Length: the WAV header already says how long the clip will be, and a chunked
    # body that ends early is a clean end (Chromium also starts playing on less buffered audio
    # without one); a stream cut short of its header's length is a cancelled clip.
    headers = {
        "Cache-Control": "no-store",
        "X-Live-Generated-S": f"{live.generated_s:.3f}",
        "X-Live-Total-Bytes": str(HEADER_BYTES + p.total_samples * BYTES_PER_SAMPLE),
    }
    return StreamingResponse(body, media_type="audio/wav", headers=headers)


@router.get("/checkpoints/{checkpoint_id}/live-clips/{index}/peaks", response_model=None)
def live_clip_peaks(
    checkpoint_id: ResourceId, index: ClipIndex, session: ReadSessionDep, storage: StorageDep
) -> Response | dict[str, object]:
    """Waveform peaks of what is generated so far (model/peaks.py's document, plus `samples`
    and `total_samples`), in buckets of the whole clip's scale."""
    found = live_clips.find_live_clip(session, storage, checkpoint_id, index)
    if isinstance(found, Clip):
        return RedirectResponse(clip_peaks_url(found.id), status_code=303)
    return live_clips.peaks_so_far(storage, found)


@router.post("/checkpoints/{checkpoint_id}/live-clips/{index}/keep", status_code=201,
             response_model=ClipOut)
def keep_that(
    checkpoint_id: ResourceId,
    index: ClipIndex,
    session: SessionDep,
    storage: StorageDep,
    queue: QueueDep,
    body: LiveKeepIn | None = None,
) -> ClipOut:
    """Save the last `seconds` (default 30, up to what is generated so far) before `end_s` as a
    new clip of the checkpoint, with its provenance (checkpoint, seed, offset)."""
    body = body or LiveKeepIn()
    clip = live_clips.keep(session, storage, queue, checkpoint_id, index, seconds=body.seconds,
                           end_s=body.end_s)
    return clip_out(clip)
