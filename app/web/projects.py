"""The projects list and a project's page (uploads, discography titles, runs, songs), and the
project page's discography form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import ReadSessionDep, SessionDep
from app.services import images, projects, runs, sources, tracks, usage
from app.web.contexts import (
    Crumb,
    ImageRow,
    ProjectContext,
    ProjectsContext,
    SourceContext,
    SourceRow,
)
from app.web.disk import disk_line, storage_of
from app.web.rendering import render, see_other
from app.web.rows import project_card, run_row, track_row
from model.config import preset

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/")
def home() -> RedirectResponse:
    return see_other("/projects")


@router.get("/projects")
def projects_page(request: Request, session: ReadSessionDep) -> Response:
    rows, _ = projects.list_projects(session, limit=200)
    ctx = ProjectsContext(
        crumbs=[Crumb("Projects")], projects=[project_card(session, p) for p in rows]
    )
    return render(request, "projects.html", ctx)


@router.post("/projects")
def create_project(
    request: Request,
    session: SessionDep,
    name: Annotated[str, Form(min_length=1, max_length=200)],
    artist: Annotated[str, Form(min_length=1, max_length=200)],
    description: Annotated[str, Form(max_length=10_000)] = "",
) -> RedirectResponse:
    project = projects.create_project(session, name=name, artist=artist, description=description)
    return see_other(f"/projects/{project.id}")


@router.get("/projects/{project_id}")
def project_page(project_id: int, request: Request, session: ReadSessionDep) -> Response:
    project = projects.get_project(session, project_id)
    ctx = ProjectContext(
        crumbs=[Crumb("Projects", "/projects"), Crumb(project.name)],
        project=project_card(session, project),
        sources=[
            SourceRow(s.display_name, s.format, s.duration_s, s.sample_rate, s.channels, s.id)
            for s in sources.list_sources(session, project_id)
        ],
        titles=projects.list_titles(session, project_id),
        images=[
            ImageRow(f"/api/v1/images/{i.id}", i.role, i.display_name, f"{i.width}×{i.height}")
            for i in images.list_images(session, project_id)
        ],
        runs=[run_row(session, r) for r in reversed(runs.list_runs(session, project_id))],
        tracks=[track_row(t) for t in tracks.list_tracks(session, project_id)],
        presets=["tiny", "paper"],
        page_data={"project_id": project_id, "shapes": preset_shapes()},
        disk=disk_line(usage.project_usage(session, storage_of(request), project_id)),
    )
    return render(request, "project.html", ctx)


@router.get("/sources/{source_id}")
def source_page(source_id: int, request: Request, session: ReadSessionDep) -> Response:
    """A source track's waveform: select a moment, "continue from here" with any checkpoint."""
    s = sources.get_source(session, source_id)
    project = projects.get_project(session, s.project_id)
    checkpoints = [
        {"checkpoint_id": c.id, "run_id": r.id, "epoch": c.epoch}
        for r in reversed(runs.list_runs(session, project.id))
        for c in sorted(r.checkpoints, key=lambda c: -c.epoch)
    ]
    row = SourceRow(s.display_name, s.format, s.duration_s, s.sample_rate, s.channels, s.id)
    return render(request, "source.html", SourceContext(
        crumbs=[Crumb("Projects", "/projects"), Crumb(project.name, f"/projects/{project.id}"),
                Crumb(s.display_name)],
        source=row,
        page_data={
            "project_id": project.id, "checkpoints": checkpoints,
            "source": {"id": s.id, "name": s.display_name, "duration_s": s.duration_s,
                       "sample_rate": s.sample_rate, "audio_url": f"/api/v1/sources/{s.id}/audio"},
        },
    ))


def preset_shapes() -> dict[str, dict[str, object]]:
    """Each preset's model shape as the run form shows it (the form's fields fill in from it)."""
    out: dict[str, dict[str, object]] = {}
    for name in ("tiny", "paper"):
        m = preset(name).model
        out[name] = {"frame_sizes": ",".join(map(str, m.frame_sizes)), "cell": m.cell,
                     "dim": m.dim, "n_rnn": m.n_rnn, "tiers": m.n_tiers}
    return out


@router.post("/projects/{project_id}/titles")
def save_titles(
    project_id: int, request: Request, session: SessionDep,
    titles: Annotated[str, Form(max_length=1_000_000)] = "",
) -> RedirectResponse:
    projects.replace_titles(session, project_id, projects.parse_titles_text(titles))
    return see_other(f"/projects/{project_id}#titles")
