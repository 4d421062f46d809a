"""The song editor (arrangement, lanes, preview, render) and the project page's form that
starts a song."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import ReadSessionDep, SessionDep, StorageDep
from app.presenters import track_out
from app.services import clips, projects, runs, tracks
from app.web.contexts import Crumb, TrackContext
from app.web.rendering import render, see_other
from app.web.rows import clip_row, project_card, track_row

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
SHORTLIST = 24  # kept or best-rated clips offered for quick adding


@router.get("/tracks/{track_id}")
def track_page(
    track_id: int, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    track = tracks.get_track(session, track_id)
    project = projects.get_project(session, track.project_id)
    nll = runs.valid_nll_by_epoch(session, project.id)
    out = track_out(track)
    used_ids = {i["clip_id"] for i in out.edl.get("items", []) if isinstance(i.get("clip_id"), int)}
    used = clips.clips_by_id(session, used_ids)
    shortlist = clips.shortlist(session, project.id, limit=SHORTLIST)
    kept_rows = [clip_row(c, storage, nll) for c in shortlist]
    clip_map = {c.id: clip_row(c, storage, nll).as_json() for c in used}
    clip_map.update({r.id: r.as_json() for r in kept_rows})
    ctx = TrackContext(
        crumbs=[Crumb("Projects", "/projects"), Crumb(project.name, f"/projects/{project.id}"),
                Crumb(track.name or f"Track {track.id}")],
        project=project_card(session, project),
        track=track_row(track),
        kept_clips=kept_rows,
        page_data={
            "project_id": project.id,
            "track": out.model_dump(mode="json"),
            "clips": {str(k): v for k, v in clip_map.items()},
        },
    )
    return render(request, "track.html", ctx)


@router.post("/projects/{project_id}/tracks")
def new_track(
    project_id: int, request: Request, session: SessionDep, storage: StorageDep,
    name: Annotated[str, Form(max_length=300)] = "",
) -> RedirectResponse:
    track = tracks.create_track(session, storage, project_id, name=name or "Untitled song")
    return see_other(f"/tracks/{track.id}")
