"""The radio's pages: a run's radio page (start one, with the realtime factor this hardware
reached with this run's shape before, and its radios so far) and one radio's player page (the
stream, its realtime factor and buffer, stop, "keep that"). Both only read; the scripts call the
REST API to start, stop and keep."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import ReadSessionDep, StorageDep
from app.presenters import radio_out
from app.services import projects, radio, runs
from app.services.radio_speed import estimate_from_clips
from app.web.context_fields import Crumb
from app.web.radio_contexts import RadioContext, RadioStartContext
from app.web.rendering import render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


@router.get("/runs/{run_id}/radio")
def radio_start_page(
    run_id: int, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    run = runs.get_run(session, run_id)
    project = projects.get_project(session, run.project_id)
    outs = [radio_out(radio.get_radio(session, storage, j.id))
            for j in radio.radios_of_run(session, run_id)]
    measured = next((o.realtime_factor for o in outs if o.realtime_factor is not None), None)
    estimate = None if measured is not None else estimate_from_clips(run.metrics or [])
    return render(request, "radio_start.html", RadioStartContext(
        crumbs=[Crumb("Projects", "/projects"), Crumb(project.name, f"/projects/{project.id}"),
                Crumb(f"Run {run.id}", f"/runs/{run.id}"), Crumb("Radio")],
        run_id=run.id, epochs=sorted((c.epoch for c in run.checkpoints), reverse=True),
        measured_rtf=measured, estimate=estimate, radios=outs, page_data={"run_id": run.id},
    ))


@router.get("/radio/{radio_id}")
def radio_page(
    radio_id: int, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    out = radio_out(radio.get_radio(session, storage, radio_id))
    run = runs.get_run(session, out.run_id)
    project = projects.get_project(session, run.project_id)
    return render(request, "radio.html", RadioContext(
        crumbs=[Crumb("Projects", "/projects"), Crumb(project.name, f"/projects/{project.id}"),
                Crumb(f"Run {run.id}", f"/runs/{run.id}"),
                Crumb("Radio", f"/runs/{run.id}/radio"), Crumb(f"Radio {radio_id}")],
        radio=out,
        page_data={"radio_id": radio_id, "radio_url": f"/api/v1/radio/{radio_id}",
                   "stream_url": out.stream_url, "project_id": project.id},
    ))
