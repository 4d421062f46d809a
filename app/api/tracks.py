"""/tracks: songs as edit lists (revisions kept), their server render, and editing helpers
(zero-crossing snap, lane auto-align, mono-sum check)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from app.api.deps import ReadSessionDep, ResourceId, SessionDep, StorageDep
from app.api.file_routes import add_file_route
from app.api.problems import PROBLEM, Responses
from app.media import file_response
from app.presenters import track_out, track_url
from app.schemas.common import Page
from app.schemas.tracks import (
    AlignIn,
    AlignOut,
    MonoCheckOut,
    RevisionOut,
    SnapOut,
    TrackCreate,
    TrackOut,
    TrackPut,
    TrackSummary,
)
from app.services import track_analysis, track_renders, tracks

router = APIRouter(tags=["tracks"])
EDL_ERRORS: Responses = {
    422: {**PROBLEM, "description": "invalid edit list; `errors` names each field"}
}


@router.post(
    "/projects/{project_id}/tracks", status_code=201, response_model=TrackOut, responses=EDL_ERRORS
)
def create_track(
    project_id: ResourceId,
    body: TrackCreate,
    session: SessionDep,
    storage: StorageDep,
    response: Response,
) -> TrackOut:
    """A new song (revision 1), empty unless `edl` is given."""
    track = tracks.create_track(session, storage, project_id, name=body.name, edl=body.edl)
    response.headers["Location"] = track_url(track.id)
    return track_out(track)


@router.get("/projects/{project_id}/tracks", response_model=Page[TrackSummary])
def list_tracks(project_id: ResourceId, session: ReadSessionDep) -> Page[TrackSummary]:
    rows = tracks.list_tracks(session, project_id)
    return Page(data=[TrackSummary.model_validate(tracks.summary(t)) for t in rows])


@router.get("/tracks/{track_id}", response_model=TrackOut)
def get_track(track_id: ResourceId, session: ReadSessionDep) -> TrackOut:
    return track_out(tracks.get_track(session, track_id))


@router.put(
    "/tracks/{track_id}",
    response_model=TrackOut,
    responses={**EDL_ERRORS, 409: {**PROBLEM, "description": "base_revision is not current"}},
)
def put_track(
    track_id: ResourceId, body: TrackPut, session: SessionDep, storage: StorageDep
) -> TrackOut:
    """Save a new revision; earlier ones stay readable under /revisions."""
    track = tracks.save_track(
        session, storage, track_id, edl=body.edl, name=body.name, base_revision=body.base_revision
    )
    return track_out(track)


@router.delete("/tracks/{track_id}", status_code=204)
def delete_track(track_id: ResourceId, session: SessionDep, storage: StorageDep) -> Response:
    tracks.delete_track(session, storage, track_id)
    return Response(status_code=204)


@router.get("/tracks/{track_id}/revisions", response_model=Page[RevisionOut])
def list_revisions(
    track_id: ResourceId, session: ReadSessionDep, storage: StorageDep
) -> Page[RevisionOut]:
    """Every saved revision, oldest first, to diff or revert (PUT an old `edl` again)."""
    track = tracks.get_track(session, track_id)
    revs = tracks.list_revisions(storage, track)
    return Page(data=[RevisionOut.model_validate(r, from_attributes=True) for r in revs])


@router.get("/tracks/{track_id}/revisions/{revision}", response_model=RevisionOut)
def get_revision(
    track_id: ResourceId, revision: int, session: ReadSessionDep, storage: StorageDep
) -> RevisionOut:
    track = tracks.get_track(session, track_id)
    rev = tracks.get_revision(storage, track, revision)
    return RevisionOut.model_validate(rev, from_attributes=True)


def track_audio(
    track_id: ResourceId,
    request: Request,
    session: ReadSessionDep,
    storage: StorageDep,
    revision: Annotated[int | None, Query(ge=1, description="default: the current one")] = None,
) -> Response:
    """The render of a revision as 16-bit 44.1 kHz stereo WAV, made on first request and cached.
    Honours `Range` (206/416) and `If-Range`; HEAD too. 409 while the track is empty."""
    job = track_renders.render_job(session, storage, track_id, revision)
    return file_response(request, track_renders.rendered_file(storage, job), "audio/wav")


AUDIO_RESPONSES: Responses = {
    200: {"content": {"audio/wav": {}}, "description": "the rendered track"},
    206: {"description": "the requested byte range"},
    409: {**PROBLEM, "description": "the track is empty or a clip's audio is missing"},
}
add_file_route(
    router, "/tracks/{track_id}/audio", track_audio, name="track_audio", responses=AUDIO_RESPONSES
)


@router.get(
    "/tracks/{track_id}/peaks",
    responses={409: {**PROBLEM, "description": "the track is empty or a clip's audio is missing"}},
)
def track_peaks(
    track_id: ResourceId,
    session: ReadSessionDep,
    storage: StorageDep,
    revision: Annotated[int | None, Query(ge=1, description="default: the current one")] = None,
    pixels: Annotated[int, Query(ge=16, le=8000)] = 1000,
) -> dict[str, Any]:
    """Per-channel peaks of a revision's render (left, right), for the split-channel view:
    `{revision, duration, sample_rate, channels, samples_per_pixel, peaks: [[...], [...]]}`."""
    job = track_renders.render_job(session, storage, track_id, revision)
    return track_renders.render_peaks(storage, job, pixels=pixels)


@router.get("/tracks/{track_id}/mono-check", response_model=MonoCheckOut)
def mono_check(track_id: ResourceId, session: ReadSessionDep, storage: StorageDep) -> MonoCheckOut:
    """Does the current revision cancel when folded to mono? (worst 1 s window counts)."""
    job = track_renders.render_job(session, storage, track_id)
    result = track_analysis.mono_check(job)
    return MonoCheckOut.model_validate({"revision": job.revision, **result})


@router.post("/tracks/{track_id}/align", response_model=AlignOut, responses=EDL_ERRORS)
def align(
    track_id: ResourceId, body: AlignIn, session: SessionDep, storage: StorageDep
) -> AlignOut:
    """Line up `lane_b`'s accent beats with `lane_a`'s (onset envelopes cross-correlated).
    Returns lane settings to apply; nothing is saved."""
    shift, lanes = track_analysis.align_lanes(
        session, storage, track_id, lane_a=body.lane_a, lane_b=body.lane_b,
        max_shift_s=body.max_shift_s, edl=body.edl,
    )
    return AlignOut(
        shift_s=shift,
        lanes={
            str(n): {"pan": ln.pan, "offset_s": ln.offset_s, "gain_db": ln.gain_db}
            for n, ln in lanes.items()
        },
    )


@router.get("/clips/{clip_id}/zero-crossings", response_model=SnapOut, tags=["clips"])
def zero_crossings(
    clip_id: ResourceId,
    session: ReadSessionDep,
    storage: StorageDep,
    t: Annotated[list[float], Query(min_length=1, max_length=16, description="seconds")],
    search_ms: Annotated[float, Query(gt=0, le=50)] = 5.0,
) -> SnapOut:
    """Each `t` moved to the nearest zero crossing within ±`search_ms` (cut points that click
    less). Reads only a few samples around each time."""
    return SnapOut(
        times=track_analysis.snap_to_zero_crossings(
            session, storage, clip_id, t, search_ms=search_ms
        )
    )
