"""HTML pages of the studio. Routes are adapters: read through app/services, fill the page's
context dataclass (app/web/contexts.py), render its template. Forms post here and redirect (303);
everything a page script changes goes through the REST API."""

from __future__ import annotations

from dataclasses import fields, replace
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.api.clips import clip_out
from app.api.deps import QueueDep, ReadSessionDep, SessionDep, StorageDep
from app.api.tracks import track_out
from app.catalog import Checkpoint, Clip, Job, Project, Run, SourceImage, Track
from app.schemas.runs import RunConfigIn
from app.services import clips as clip_service
from app.services import images, projects, runs, sources, tracks
from app.services.clips import ClipFilter
from app.services.errors import InvalidInput
from app.storage import Storage
from app.web import graphics
from app.web.contexts import (
    ClipContext,
    ClipRow,
    ClipRowsContext,
    ClipsContext,
    Crumb,
    EpochRow,
    ImageRow,
    MarkerRow,
    Option,
    ProjectCard,
    ProjectContext,
    ProjectsContext,
    RunContext,
    RunRow,
    SourceRow,
    TrackContext,
    TrackRow,
)

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PAGE_SIZE = 60
SORT_LABELS = {
    "-epoch": "Epoch, newest first",
    "epoch": "Epoch, oldest first",
    "-rating": "Rating, best first",
    "-loudness": "Loudness, loudest first",
    "loudness": "Loudness, quietest first",
    "silence": "Silence, least first",
    "-silence": "Silence, most first",
    "-created": "Newest clips first",
}
KEPT_LABELS = {"": "Any verdict", "true": "Kept", "false": "Rejected", "null": "Undecided"}
# Level filters: value -> (label, bound). Quiet clips are often collapses; silent ones are dead air.
LOUDNESS_LABELS = {"": ("Any loudness", None), "-40": ("Louder than −40 LUFS", -40.0),
                   "-30": ("Louder than −30 LUFS", -30.0), "-20": ("Louder than −20 LUFS", -20.0)}
SILENCE_LABELS = {"": ("Any silence", None), "0.5": ("≤ 50 % silent", 0.5),
                  "0.25": ("≤ 25 % silent", 0.25), "0.1": ("≤ 10 % silent", 0.1)}


def render(request: Request, name: str, context: Any, *, status: int = 200) -> Response:
    """`TemplateResponse(request, name, context)` with the dataclass's fields as the context."""
    templates: Jinja2Templates = request.app.state.templates
    values = {f.name: getattr(context, f.name) for f in fields(context)}
    response = templates.TemplateResponse(request, name, values, status_code=status)
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
        "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# -- projects -----------------------------------------------------------------------------------


def project_card(session: Session, project: Project) -> ProjectCard:
    counts = {
        name: session.scalar(select(func.count()).where(col == project.id)) or 0
        for name, col in (("runs", Run.project_id), ("clips", Clip.project_id), ("tracks", Track.project_id))
    }
    cover = session.scalar(
        select(SourceImage.id)
        .where(SourceImage.project_id == project.id, SourceImage.role == "cover")
        .order_by(SourceImage.id.desc())
        .limit(1)
    )
    return ProjectCard(
        id=project.id, name=project.name, artist=project.artist, description=project.description,
        cover_url=f"/api/v1/images/{cover}" if cover else None, **counts,
    )


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
def project_page(
    project_id: int, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    project = projects.get_project(session, project_id)
    card = project_card(session, project)
    run_rows = [run_row(session, r) for r in reversed(runs.list_runs(session, project_id))]
    ctx = ProjectContext(
        crumbs=[Crumb("Projects", "/projects"), Crumb(project.name)],
        project=card,
        sources=[
            SourceRow(s.display_name, s.format, s.duration_s, s.sample_rate, s.channels)
            for s in sources.list_sources(session, project_id)
        ],
        titles=projects.list_titles(session, project_id),
        images=[
            ImageRow(f"/api/v1/images/{i.id}", i.role, i.display_name, f"{i.width}×{i.height}")
            for i in images.list_images(session, project_id)
        ],
        runs=run_rows,
        tracks=[track_row(t) for t in tracks.list_tracks(session, project_id)],
        presets=["tiny", "paper"],
        page_data={"project_id": project_id},
    )
    return render(request, "project.html", ctx)


@router.post("/projects/{project_id}/titles")
def save_titles(
    project_id: int, request: Request, session: SessionDep,
    titles: Annotated[str, Form(max_length=1_000_000)] = "",
) -> RedirectResponse:
    projects.replace_titles(session, project_id, projects.parse_titles_text(titles))
    return see_other(f"/projects/{project_id}#titles")


@router.post("/projects/{project_id}/runs")
def start_run(
    project_id: int,
    request: Request,
    session: SessionDep,
    queue: QueueDep,
    preset: Annotated[str, Form(pattern="^(tiny|paper)$")] = "tiny",
    epochs: Annotated[str, Form(max_length=6)] = "",
    clips_per_epoch: Annotated[str, Form(max_length=4)] = "",
) -> RedirectResponse:
    try:
        cfg = RunConfigIn.model_validate(
            {
                "preset": preset,
                **({"epochs": int(epochs)} if epochs.strip() else {}),
                **({"clips_per_epoch": int(clips_per_epoch)} if clips_per_epoch.strip() else {}),
            }
        )
    except ValueError as exc:
        raise InvalidInput(f"run settings: {exc}") from None
    run = runs.create_run(session, queue, project_id, cfg)
    return see_other(f"/runs/{run.id}")


@router.post("/projects/{project_id}/tracks")
def new_track(
    project_id: int, request: Request, session: SessionDep, storage: StorageDep,
    name: Annotated[str, Form(max_length=300)] = "",
) -> RedirectResponse:
    track = tracks.create_track(session, storage, project_id, name=name or "Untitled song")
    return see_other(f"/tracks/{track.id}")


# -- runs ---------------------------------------------------------------------------------------


def run_row(session: Session, run: Run) -> RunRow:
    clips = session.scalar(select(func.count()).where(Clip.run_id == run.id)) or 0
    return RunRow(
        id=run.id, status=run.status, preset=str(run.config.get("preset", "")),
        epochs_done=run.current_epoch, epochs=int(run.config.get("epochs", 0) or 0), clips=clips,
        created=run.created_at.isoformat(timespec="seconds"), job_id=run.job_id,
    )


def nll_rows(run: Run) -> list[dict[str, Any]]:
    """Per-epoch NLL from the checkpoints, else from the run's metrics."""
    rows = [
        {"epoch": c.epoch, "train_nll_bits": c.train_nll_bits, "valid_nll_bits": c.valid_nll_bits}
        for c in run.checkpoints
    ]
    if rows:
        return rows
    return [m for m in run.metrics if isinstance(m, dict) and "epoch" in m]


def run_context(session: Session, run_id: int) -> RunContext:
    run = runs.get_run(session, run_id)
    project = projects.get_project(session, run.project_id)
    job = session.get(Job, run.job_id) if run.job_id else None
    per_epoch = dict(
        session.execute(
            select(Clip.epoch, func.count()).where(Clip.run_id == run.id).group_by(Clip.epoch)
        ).all()
    )
    epochs = [
        EpochRow(
            epoch=c.epoch, step=c.step, train_nll=c.train_nll_bits, valid_nll=c.valid_nll_bits,
            clips=per_epoch.get(c.epoch, 0),
            browse_url=f"/projects/{project.id}/clips?" + urlencode({"run": run.id, "epoch": c.epoch}),
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
        chart=graphics.nll_chart(nll_rows(run)),
        epochs=epochs,
        page_data={
            "run_id": run.id, "job_id": run.job_id, "status": run.status,
            "live_url": f"/runs/{run.id}/live", "run_url": f"/api/v1/runs/{run.id}",
            "events_url": f"/api/v1/jobs/{run.job_id}/events" if run.job_id else None,
        },
    )


@router.get("/runs/{run_id}")
def run_page(run_id: int, request: Request, session: ReadSessionDep) -> Response:
    return render(request, "run.html", run_context(session, run_id))


@router.get("/runs/{run_id}/live")
def run_live(run_id: int, request: Request, session: ReadSessionDep) -> Response:
    """The status, chart and epoch table alone: the run page swaps them in as training goes on."""
    return render(request, "_run_live.html", run_context(session, run_id))


# -- clips --------------------------------------------------------------------------------------


def checkpoint_nll(session: Session, project_id: int) -> dict[tuple[int, int], float | None]:
    rows = session.execute(
        select(Checkpoint.run_id, Checkpoint.epoch, Checkpoint.valid_nll_bits)
        .join(Run, Run.id == Checkpoint.run_id)
        .where(Run.project_id == project_id)
    )
    return {(r, e): v for r, e, v in rows}


def clip_row(clip: Clip, storage: Storage, nll: dict[tuple[int, int], float | None]) -> ClipRow:
    out = clip_out(clip)
    flags = []
    if clip.clipping and clip.clipping > 0.001:
        flags.append("clipping")
    if clip.silence_ratio is not None and clip.silence_ratio >= 0.5:
        flags.append("near-silent")
    if clip.loudness_lufs is None and clip.silence_ratio is not None and clip.silence_ratio >= 0.99:
        flags.append("silent")
    v = nll.get((clip.run_id, clip.epoch))
    return ClipRow(
        id=clip.id, run_id=clip.run_id, epoch=clip.epoch, group=f"{clip.run_id}:{clip.epoch}",
        group_label=f"Run {clip.run_id} › epoch {clip.epoch}",
        group_nll=f"valid NLL {v:.3f} bits" if v is not None else "",
        index=clip.index, duration_s=clip.duration_s, loudness_lufs=clip.loudness_lufs,
        peak_dbfs=clip.peak_dbfs, silence_ratio=clip.silence_ratio, clipping=clip.clipping,
        rating=clip.rating, kept=clip.kept, tags=list(clip.tags or []), notes=clip.notes or "",
        thumb=graphics.thumbnail_for(storage.path(clip.peaks_path) if clip.peaks_path else None),
        audio_url=out.audio_url, peaks_url=out.peaks_url, editor_url=f"/clips/{clip.id}",
        flags=flags,
    )


def clip_json(row: ClipRow) -> dict[str, Any]:
    return row.as_json()


def _filters(
    run: str, epoch: str, min_rating: str, kept: str, sort: str, loudness: str = "", silence: str = ""
) -> tuple[ClipFilter, dict[str, str], str]:
    def as_int(text: str) -> int | None:
        return int(text) if text.strip().lstrip("-").isdigit() else None

    sort = sort if sort in SORT_LABELS else "-epoch"
    kept = kept if kept in KEPT_LABELS else ""
    loudness = loudness if loudness in LOUDNESS_LABELS else ""
    silence = silence if silence in SILENCE_LABELS else ""
    f = ClipFilter(
        run_id=as_int(run), epoch=as_int(epoch), min_rating=as_int(min_rating),
        kept=None if kept in ("", "null") else kept == "true", undecided=kept == "null",
        min_lufs=LOUDNESS_LABELS[loudness][1], max_silence=SILENCE_LABELS[silence][1],
    )
    values = {"run": run, "epoch": epoch, "min_rating": min_rating, "kept": kept, "sort": sort,
              "loudness": loudness, "silence": silence}
    return f, values, sort


def _page(
    session: Session, storage: Storage, project_id: int, f: ClipFilter, sort: str,
    values: dict[str, str], cursor: str | None,
) -> tuple[list[ClipRow], str | None]:
    rows, next_cursor = clip_service.list_clips(
        session, project_id, filters=f, sort=sort, cursor=cursor, limit=PAGE_SIZE
    )
    nll = checkpoint_nll(session, project_id)
    out = [clip_row(c, storage, nll) for c in rows]
    grouped = sort.lstrip("-") == "epoch"
    if not grouped:
        out = [replace(r, group="all", group_label="", group_nll="") for r in out]
    next_url = None
    if next_cursor:
        query = {k: v for k, v in values.items() if v}
        next_url = f"/projects/{project_id}/clips/rows?" + urlencode({**query, "cursor": next_cursor})
    return out, next_url


Q = Annotated[str, Query(max_length=40)]


@router.get("/projects/{project_id}/clips")
def clips_page(
    project_id: int, request: Request, session: ReadSessionDep, storage: StorageDep,
    run: Q = "", epoch: Q = "", min_rating: Q = "", kept: Q = "", sort: Q = "-epoch",
    loudness: Q = "", silence: Q = "",
) -> Response:
    project = projects.get_project(session, project_id)
    f, values, sort = _filters(run, epoch, min_rating, kept, sort, loudness, silence)
    rows, next_url = _page(session, storage, project_id, f, sort, values, None)
    total = session.scalar(
        select(func.count()).select_from(Clip).where(
            Clip.project_id == project_id, *clip_service._conditions(f)
        )
    ) or 0
    run_ids = session.scalars(select(Run.id).where(Run.project_id == project_id).order_by(Run.id))
    epochs = session.scalars(
        select(Clip.epoch).where(Clip.project_id == project_id).distinct().order_by(Clip.epoch)
    )
    tracks_list = tracks.list_tracks(session, project_id)
    ctx = ClipsContext(
        crumbs=[Crumb("Projects", "/projects"), Crumb(project.name, f"/projects/{project.id}"),
                Crumb("Clips")],
        project=project_card(session, project),
        rows=rows,
        next_url=next_url,
        filters=values,
        run_options=[Option("", "All runs")] + [Option(str(r), f"Run {r}") for r in run_ids],
        epoch_options=[Option("", "All epochs")] + [Option(str(e), f"Epoch {e}") for e in epochs],
        sort_options=[Option(k, v) for k, v in SORT_LABELS.items()],
        kept_options=[Option(k, v) for k, v in KEPT_LABELS.items()],
        loudness_options=[Option(k, label) for k, (label, _) in LOUDNESS_LABELS.items()],
        silence_options=[Option(k, label) for k, (label, _) in SILENCE_LABELS.items()],
        total=total,
        page_data={
            "project_id": project_id,
            "tracks": [{"id": t.id, "name": t.name} for t in tracks_list],
        },
    )
    return render(request, "clips.html", ctx)


@router.get("/projects/{project_id}/clips/rows")
def clip_rows(
    project_id: int, request: Request, session: ReadSessionDep, storage: StorageDep,
    cursor: Annotated[str, Query(max_length=400)],
    run: Q = "", epoch: Q = "", min_rating: Q = "", kept: Q = "", sort: Q = "-epoch",
    loudness: Q = "", silence: Q = "", after_group: Q = "",
) -> Response:
    """One more page of rows (HTML) for the browser's endless list."""
    projects.get_project(session, project_id)
    f, values, sort = _filters(run, epoch, min_rating, kept, sort, loudness, silence)
    rows, next_url = _page(session, storage, project_id, f, sort, values, cursor)
    ctx = ClipRowsContext(rows=rows, next_url=next_url, previous_group=after_group)
    return render(request, "_clip_rows.html", ctx)


@router.get("/clips/{clip_id}")
def clip_page(clip_id: int, request: Request, session: ReadSessionDep, storage: StorageDep) -> Response:
    clip = clip_service.get_clip(session, clip_id)
    project = projects.get_project(session, clip.project_id)
    row = clip_row(clip, storage, checkpoint_nll(session, project.id))
    prev_id = session.scalar(
        select(func.max(Clip.id)).where(Clip.project_id == project.id, Clip.id < clip.id)
    )
    next_id = session.scalar(
        select(func.min(Clip.id)).where(Clip.project_id == project.id, Clip.id > clip.id)
    )
    markers = [MarkerRow(m.id, m.time_s, m.label) for m in clip_service.list_markers(session, clip_id)]
    track_rows = [track_row(t) for t in tracks.list_tracks(session, project.id)]
    ctx = ClipContext(
        crumbs=[Crumb("Projects", "/projects"), Crumb(project.name, f"/projects/{project.id}"),
                Crumb("Clips", f"/projects/{project.id}/clips?" + urlencode({"run": clip.run_id})),
                Crumb(f"Clip #{clip.id}")],
        project=project_card(session, project),
        clip=row,
        sample_rate=clip.sample_rate,
        markers=markers,
        tracks=track_rows,
        prev_url=f"/clips/{prev_id}" if prev_id else None,
        next_url=f"/clips/{next_id}" if next_id else None,
        page_data={
            "project_id": project.id,
            "clip": clip_json(row),
            "sample_rate": clip.sample_rate,
            "markers": [{"id": m.id, "time_s": m.time_s, "label": m.label} for m in markers],
            "tracks": [{"id": t.id, "name": t.name} for t in track_rows],
        },
    )
    return render(request, "clip.html", ctx)


# -- tracks -------------------------------------------------------------------------------------


def track_row(track: Track) -> TrackRow:
    s = tracks.summary(track)
    return TrackRow(
        id=track.id, name=track.name, revision=track.revision, items=s["items"],
        lanes=s["lanes"], duration_s=s["duration_s"],
    )


@router.get("/tracks/{track_id}")
def track_page(track_id: int, request: Request, session: ReadSessionDep, storage: StorageDep) -> Response:
    track = tracks.get_track(session, track_id)
    project = projects.get_project(session, track.project_id)
    nll = checkpoint_nll(session, project.id)
    out = track_out(track)
    used_ids = {i["clip_id"] for i in out.edl.get("items", []) if isinstance(i.get("clip_id"), int)}
    used = list(session.scalars(select(Clip).where(Clip.id.in_(used_ids)))) if used_ids else []
    kept = list(
        session.scalars(
            select(Clip)
            .where(Clip.project_id == project.id, Clip.kept.is_not(False))
            .order_by(Clip.kept.desc().nulls_last(), Clip.rating.desc().nulls_last(), Clip.id.desc())
            .limit(24)
        )
    )
    kept_rows = [clip_row(c, storage, nll) for c in kept]
    clip_map = {c.id: clip_json(clip_row(c, storage, nll)) for c in used}
    clip_map.update({r.id: clip_json(r) for r in kept_rows})
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
