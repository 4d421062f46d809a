"""The album pages of the studio: generated titles, the covers gallery, albums (with the
no-curation form) and the album editor with its exports. Routes read through app/services,
fill one context dataclass per template (help text on every field, as app/web/contexts.py
does) and render; everything a page changes goes through the REST API from its script.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.api.albums import album_out
from app.api.covers import cover_out
from app.api.exports import export_out
from app.api.titles import title_outs
from app.api.deps import ReadSessionDep
from app.catalog import Checkpoint, Project, Run, Title
from app.services import albums, covers, exports, projects, titles, tracks
from app.web.contexts import Crumb, ProjectCard, doc
from app.web.pages import project_card, render

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
TITLE_PAGE = 200  # titles listed on first load; the page script loads more by cursor
POOL = 300  # titles offered in the album editor's sidebar (pinned first)


@dataclass(frozen=True)
class AlbumRow:
    id: int = doc("album id")
    title: str = doc("album title")
    artist: str = doc("the band's new name")
    tracks: int = doc("number of tracks")
    duration_s: float = doc("total length with gaps and crossfades, seconds")
    cover_url: str | None = doc("picked cover image, if any")


@dataclass(frozen=True)
class AlbumsContext:
    """albums/index.html: a project's albums, a new album, the no-curation album."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the project")
    albums: list[AlbumRow] = doc("oldest first")
    epochs: list[int] = doc("epochs of the latest run that has checkpoints (for the auto form)")
    page_data: dict[str, Any] = doc("JSON for the page script: project id")


@dataclass(frozen=True)
class TitlesContext:
    """albums/titles.html: generated titles to browse, search, pin and edit; a form to draw more."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the project")
    discography: int = doc("how many discography titles the chains learn from")
    page_data: dict[str, Any] = doc("JSON for the page script: project id, first page of titles")


@dataclass(frozen=True)
class CoversContext:
    """albums/covers.html: the gallery of generated covers, pick and crop; a form to make more."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the project")
    has_cover: bool = doc("an album cover was uploaded (needed by both methods)")
    photos: int = doc("band photos uploaded (needed by the photos method)")
    backends: list[str] = doc("style backends installed on this machine, best first")
    page_data: dict[str, Any] = doc("JSON for the page script: project id, covers")


@dataclass(frozen=True)
class AlbumContext:
    """albums/album.html: the album editor (order, titles, joins, cover, timeline, check,
    transitions) and its exports."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    project: ProjectCard = doc("the album's project")
    album_id: int = doc("album id")
    page_data: dict[str, Any] = doc(
        "JSON for the page script: album, project tracks, covers, title pool, exports"
    )


ALBUM_PAGES: dict[str, type] = {
    "albums/index.html": AlbumsContext,
    "albums/titles.html": TitlesContext,
    "albums/covers.html": CoversContext,
    "albums/album.html": AlbumContext,
}


def _crumbs(project: Project, *tail: Crumb) -> list[Crumb]:
    return [Crumb("Projects", "/projects"), Crumb(project.name, f"/projects/{project.id}"), *tail]


@router.get("/projects/{project_id}/albums")
def albums_page(project_id: int, request: Request, session: ReadSessionDep) -> Response:
    project = projects.get_project(session, project_id)
    rows = []
    for album in albums.list_albums(session, project_id):
        out = album_out(session, album)
        rows.append(AlbumRow(out.id, out.title, out.artist, len(out.tracks), out.duration_s,
                             out.cover_url))
    run_id = session.scalar(
        select(Run.id).where(Run.project_id == project_id, Run.checkpoints.any())
        .order_by(Run.id.desc()).limit(1)
    )
    epochs = list(session.scalars(
        select(Checkpoint.epoch).where(Checkpoint.run_id == run_id).order_by(Checkpoint.epoch)
    )) if run_id else []
    ctx = AlbumsContext(
        crumbs=_crumbs(project, Crumb("Albums")), project=project_card(session, project),
        albums=rows, epochs=epochs,
        page_data={"project_id": project_id, "artist": f"{project.artist} (albumbot)"},
    )
    return render(request, "albums/index.html", ctx)


@router.get("/projects/{project_id}/generated-titles")
def titles_page(project_id: int, request: Request, session: ReadSessionDep) -> Response:
    project = projects.get_project(session, project_id)
    rows, cursor = titles.list_generated(session, project_id, limit=TITLE_PAGE)
    ctx = TitlesContext(
        crumbs=_crumbs(project, Crumb("Titles")), project=project_card(session, project),
        discography=len(projects.list_titles(session, project_id)),
        page_data={
            "project_id": project_id,
            "titles": [t.model_dump(mode="json") for t in title_outs(session, rows)],
            "next_cursor": cursor,
        },
    )
    return render(request, "albums/titles.html", ctx)


@router.get("/projects/{project_id}/covers")
def covers_page(project_id: int, request: Request, session: ReadSessionDep) -> Response:
    from model.covers import available_backends  # no torch at import: backends load lazily

    project = projects.get_project(session, project_id)
    images = {"cover": 0, "photo": 0}
    for image in project.images:
        images[image.role] += 1
    ctx = CoversContext(
        crumbs=_crumbs(project, Crumb("Covers")), project=project_card(session, project),
        has_cover=images["cover"] > 0, photos=images["photo"], backends=available_backends(),
        page_data={
            "project_id": project_id,
            "covers": [cover_out(c).model_dump(mode="json")
                       for c in covers.list_covers(session, project_id)],
        },
    )
    return render(request, "albums/covers.html", ctx)


@router.get("/albums/{album_id}")
def album_page(album_id: int, request: Request, session: ReadSessionDep) -> Response:
    album = albums.get_album(session, album_id)
    project = projects.get_project(session, album.project_id)
    out = album_out(session, album)
    ctx = AlbumContext(
        crumbs=_crumbs(project, Crumb("Albums", f"/projects/{project.id}/albums"),
                       Crumb(album.title)),
        project=project_card(session, project),
        album_id=album.id,
        page_data={
            "album": out.model_dump(mode="json"),
            "tracks": [
                {"id": t.id, "name": t.name or f"Track {t.id}", "duration_s": tracks.duration_of(t)}
                for t in tracks.list_tracks(session, project.id)
            ],
            "covers": [cover_out(c).model_dump(mode="json")
                       for c in covers.list_covers(session, project.id)],
            "titles": _title_pool(session, project.id),
            "exports": [export_out(session, e).model_dump(mode="json")
                        for e in exports.list_exports(session, album.id)],
        },
    )
    return render(request, "albums/album.html", ctx)


def _title_pool(session: Session, project_id: int) -> list[dict[str, Any]]:
    """Pinned titles first, then the newest, as {id, text, pinned}."""
    rows = session.scalars(
        select(Title).where(Title.project_id == project_id)
        .order_by(Title.picked.desc(), Title.id.desc()).limit(POOL)
    )
    return [{"id": t.id, "text": t.text, "pinned": t.picked} for t in rows]
