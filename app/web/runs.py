"""A training run's page (live progress, the NLL curve, its epochs) and the part of it that is
swapped in as training goes on; the project page's form that starts a run."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.api.deps import LIMIT_JOBS, QueueDep, ReadSessionDep, SessionDep
from app.catalog import Job
from app.schemas.runs import RunConfigIn
from app.services import clips, projects, runs, usage
from app.services.errors import InvalidInput
from app.web import graphics
from app.web.contexts import Crumb, EpochRow, RunContext
from app.web.disk import disk_line, storage_of
from app.web.quality_chart import quality_chart
from app.web.rendering import render, see_other
from app.web.rows import project_card, run_row

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


def run_context(session: ReadSessionDep, run_id: int) -> RunContext:
    run = runs.get_run(session, run_id)
    project = projects.get_project(session, run.project_id)
    job = runs.run_job(session, run)
    per_epoch = clips.count_run_clips_by_epoch(session, run.id)
    epochs = [
        EpochRow(
            epoch=c.epoch, step=c.step, train_nll=c.train_nll_bits, valid_nll=c.valid_nll_bits,
            clips=per_epoch.get(c.epoch, 0),
            browse_url=f"/projects/{project.id}/clips?"
            + urlencode({"run": run.id, "epoch": c.epoch}),
            style_distance=c.style_distance, flagged_share=c.flagged_share,
            copied_share=c.copied_share, checkpoint_id=c.id,
        )
        for c in run.checkpoints
    ]
    return RunContext(
        crumbs=[Crumb("Projects", "/projects"), Crumb(project.name, f"/projects/{project.id}"),
                Crumb(f"Run {run.id}")],
        project=project_card(session, project),
        run=run_row(session, run),
        error=run.error,
        progress=job.progress if job else (1.0 if run.status == "succeeded" else 0.0),
        message=job.message if job else "",
        chart=graphics.nll_chart(runs.nll_rows(run)),
        quality=quality_chart(runs.quality_rows(run)),
        epochs=epochs,
        page_data={
            "run_id": run.id, "job_id": run.job_id, "status": run.status,
            "live_url": f"/runs/{run.id}/live", "run_url": f"/api/v1/runs/{run.id}",
            "events_url": f"/api/v1/jobs/{run.job_id}/events" if run.job_id else None,
            "project_id": project.id,
            # A cancel asked and not honoured yet: the page offers a force stop after a while.
            "cancel_requested_at": _cancel_pending_since(job),
        },
    )


@router.get("/runs/{run_id}")
def run_page(run_id: int, request: Request, session: ReadSessionDep) -> Response:
    ctx = run_context(session, run_id)
    # Measured here, not in run_context: the live part is polled and need not walk the folder.
    disk = disk_line(usage.run_usage(session, storage_of(request), run_id))
    wait_s = request.app.state.settings.force_stop_after_s
    page_data = {**ctx.page_data, "force_stop_after_s": wait_s}
    return render(request, "run.html", replace(ctx, disk=disk, page_data=page_data))


def _cancel_pending_since(job: Job | None) -> str | None:
    """When the running job was asked to stop (ISO 8601), or None when it was not / it ended."""
    if job is None or job.status != "running" or job.cancel_requested_at is None:
        return None
    return job.cancel_requested_at.isoformat()


@router.get("/runs/{run_id}/live")
def run_live(run_id: int, request: Request, session: ReadSessionDep) -> Response:
    """The status, chart and epoch table alone: the run page swaps them in as training goes on."""
    return render(request, "_run_live.html", run_context(session, run_id))


@router.post("/projects/{project_id}/runs", dependencies=[LIMIT_JOBS])  # as the API's
def start_run(
    project_id: int,
    request: Request,
    session: SessionDep,
    queue: QueueDep,
    preset: Annotated[str, Form(pattern="^(tiny|paper)$")] = "tiny",
    epochs: Annotated[str, Form(max_length=6)] = "",
    clips_per_epoch: Annotated[str, Form(max_length=4)] = "",
    frame_sizes: Annotated[str, Form(max_length=40)] = "",
    cell: Annotated[str, Form(pattern="^(|gru|lstm)$")] = "",
    dim: Annotated[str, Form(max_length=5)] = "",
    n_rnn: Annotated[str, Form(max_length=3)] = "",
) -> RedirectResponse:
    try:
        cfg = RunConfigIn.model_validate(
            {
                "preset": preset,
                **({"epochs": int(epochs)} if epochs.strip() else {}),
                **({"clips_per_epoch": int(clips_per_epoch)} if clips_per_epoch.strip() else {}),
                "model": shape_overrides(frame_sizes, cell, dim, n_rnn),
            }
        )
    except ValueError as exc:
        raise InvalidInput(f"run settings: {exc}") from None
    run = runs.create_run(session, queue, project_id, cfg)
    return see_other(f"/runs/{run.id}")


def shape_overrides(frame_sizes: str, cell: str, dim: str, n_rnn: str) -> dict[str, object]:
    """The run form's model shape fields as SampleRNNConfig overrides; a blank field keeps the
    preset's value. "16,4" is frame_sizes (16, 4): a 3-tier model. ValueError names a bad one."""
    out: dict[str, object] = {}
    if frame_sizes.strip():
        try:
            sizes = [int(p) for p in frame_sizes.replace(" ", "").split(",")]
        except ValueError:
            raise ValueError(f"tiers: frame sizes like 16 or 16,4, not {frame_sizes!r}") from None
        if not 1 <= len(sizes) <= 4 or any(not 1 <= f <= 64 for f in sizes):
            raise ValueError("tiers: 1 to 4 frame sizes, each 1..64")
        out["frame_sizes"] = sizes
    if cell:
        out["cell"] = cell
    for name, text, top in (("dim", dim, 8192), ("n_rnn", n_rnn, 16)):
        if text.strip():
            value = int(text)
            if not 1 <= value <= top:
                raise ValueError(f"{name} must be 1..{top}, got {value}")
            out[name] = value
    return out
