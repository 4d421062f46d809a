"""The clip browser (run › epoch groups, filters, an endless list) and the clip editor."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import ReadSessionDep, StorageDep
from app.services import clips, projects, runs, tracks
from app.services.clips import ClipFilter
from app.storage import Storage
from app.web.contexts import (
    ClipContext,
    ClipRow,
    ClipRowsContext,
    ClipsContext,
    Crumb,
    MarkerRow,
    Option,
)
from app.web.rendering import render
from app.web.rows import clip_row, project_card, track_row
from model.pathology import FLAG_NAMES

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
PAGE_SIZE = 60
SORT_LABELS = {
    "-epoch": "Epoch, newest first",
    "-quality": "Quality, best first",
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
# Flag filter: value -> label (app/services/clips.py ClipFilter.flag).
FLAG_LABELS = {
    "": "Any clip", "clean": "No hard flag", "none": "No flag at all", "any": "Some flag",
    **{name: f"Flagged {name}" for name in FLAG_NAMES}, "unanalysed": "Not analysed yet",
}
Q = Annotated[str, Query(max_length=40)]
Search = Annotated[str, Query(max_length=200)]


def _filters(
    run: str, epoch: str, min_rating: str, kept: str, sort: str,
    loudness: str = "", silence: str = "", flag: str = "", tag: str = "", q: str = "",
) -> tuple[ClipFilter, dict[str, str], str]:
    def as_int(text: str) -> int | None:
        return int(text) if text.strip().lstrip("-").isdigit() else None

    # Within one epoch the best clips come first, unless another order is asked for.
    default = "-quality" if as_int(epoch) is not None else "-epoch"
    sort = sort if sort in SORT_LABELS else default
    flag = flag if flag in FLAG_LABELS else ""
    kept = kept if kept in KEPT_LABELS else ""
    loudness = loudness if loudness in LOUDNESS_LABELS else ""
    silence = silence if silence in SILENCE_LABELS else ""
    f = ClipFilter(
        run_id=as_int(run), epoch=as_int(epoch), min_rating=as_int(min_rating),
        kept=None if kept in ("", "null") else kept == "true", undecided=kept == "null",
        min_lufs=LOUDNESS_LABELS[loudness][1], max_silence=SILENCE_LABELS[silence][1],
        flag=flag or None,
        # "drone, intro": clips carrying both tags; q: text in the notes
        tags=tuple(t.strip() for t in tag.split(",") if t.strip()), text=q.strip() or None,
    )
    values = {"run": run, "epoch": epoch, "min_rating": min_rating, "kept": kept, "sort": sort,
              "loudness": loudness, "silence": silence, "flag": flag, "tag": tag, "q": q}
    return f, values, sort


def _page(
    session: ReadSessionDep, storage: Storage, project_id: int, f: ClipFilter, sort: str,
    values: dict[str, str], cursor: str | None,
) -> tuple[list[ClipRow], str | None]:
    rows, next_cursor = clips.list_clips(
        session, project_id, filters=f, sort=sort, cursor=cursor, limit=PAGE_SIZE
    )
    nll = runs.valid_nll_by_epoch(session, project_id)
    out = [clip_row(c, storage, nll) for c in rows]
    grouped = sort.lstrip("-") == "epoch"
    if not grouped:
        out = [replace(r, group="all", group_label="", group_nll="") for r in out]
    next_url = None
    if next_cursor:
        query = {k: v for k, v in values.items() if v}
        query["cursor"] = next_cursor
        next_url = f"/projects/{project_id}/clips/rows?" + urlencode(query)
    return out, next_url


@router.get("/projects/{project_id}/clips")
def clips_page(
    project_id: int, request: Request, session: ReadSessionDep, storage: StorageDep,
    run: Q = "", epoch: Q = "", min_rating: Q = "", kept: Q = "", sort: Q = "",
    loudness: Q = "", silence: Q = "", flag: Q = "", tag: Search = "", q: Search = "",
) -> Response:
    project = projects.get_project(session, project_id)
    f, values, sort = _filters(run, epoch, min_rating, kept, sort, loudness, silence, flag, tag, q)
    rows, next_url = _page(session, storage, project_id, f, sort, values, None)
    run_ids = [r.id for r in runs.list_runs(session, project_id)]
    epochs = clips.clip_epochs(session, project_id)
    songs = tracks.list_tracks(session, project_id)
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
        flag_options=[Option(k, label) for k, label in FLAG_LABELS.items()],
        total=clips.count_clips(session, project_id, f),
        live_url=f"/api/v1/projects/{project_id}/live-clips?"
        + urlencode({k: v for k, v in (("run", f.run_id), ("epoch", f.epoch)) if v is not None}),
        page_data={
            "project_id": project_id,
            "tracks": [{"id": t.id, "name": t.name} for t in songs],
        },
    )
    return render(request, "clips.html", ctx)


@router.get("/projects/{project_id}/clips/rows")
def clip_rows(
    project_id: int, request: Request, session: ReadSessionDep, storage: StorageDep,
    cursor: Annotated[str, Query(max_length=400)],
    run: Q = "", epoch: Q = "", min_rating: Q = "", kept: Q = "", sort: Q = "",
    loudness: Q = "", silence: Q = "", flag: Q = "", after_group: Q = "",
    tag: Search = "", q: Search = "",
) -> Response:
    """One more page of rows (HTML) for the browser's endless list."""
    projects.get_project(session, project_id)
    f, values, sort = _filters(run, epoch, min_rating, kept, sort, loudness, silence, flag, tag, q)
    rows, next_url = _page(session, storage, project_id, f, sort, values, cursor)
    ctx = ClipRowsContext(rows=rows, next_url=next_url, previous_group=after_group)
    return render(request, "_clip_rows.html", ctx)


@router.get("/clips/{clip_id}/row")
def one_clip_row(
    clip_id: int, request: Request, session: ReadSessionDep, storage: StorageDep, sort: Q = "",
) -> Response:
    """One clip's row (HTML), for a clip that appears while the browser is open (a live clip
    that finished, a kept excerpt); grouped by epoch when `sort` is."""
    clip = clips.get_clip(session, clip_id)
    row = clip_row(clip, storage, runs.valid_nll_by_epoch(session, clip.project_id))
    if sort.lstrip("-") != "epoch":
        row = replace(row, group="all", group_label="", group_nll="")
    ctx = ClipRowsContext(rows=[row], next_url=None, previous_group=row.group)
    return render(request, "_clip_rows.html", ctx)


@router.get("/clips/{clip_id}")
def clip_page(
    clip_id: int, request: Request, session: ReadSessionDep, storage: StorageDep
) -> Response:
    clip = clips.get_clip(session, clip_id)
    project = projects.get_project(session, clip.project_id)
    row = clip_row(clip, storage, runs.valid_nll_by_epoch(session, project.id))
    prev_id, next_id = clips.neighbour_ids(session, clip)
    markers = [MarkerRow(m.id, m.time_s, m.label) for m in clips.list_markers(session, clip_id)]
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
            "clip": row.as_json(),
            "sample_rate": clip.sample_rate,
            "markers": [{"id": m.id, "time_s": m.time_s, "label": m.label} for m in markers],
            "tracks": [{"id": t.id, "name": t.name} for t in track_rows],
        },
    )
    return render(request, "clip.html", ctx)
