"""The album pages of the studio: generated titles, the covers gallery, albums (with the
no-curation form) and the album editor with its exports. Routes read through app/services,
fill one context dataclass per template (app/web/contexts.py) and render; everything a page
changes goes through the REST API from its script.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from app.api.deps import ReadSessionDep, SettingsDep
from app.catalog import Project
from app.presenters import album_out, cover_out, export_out, title_outs
from app.services import (
    albums,
    cover_backends,
    covers,
    exports,
    images,
    projects,
    runs,
    titles,
    tracks,
)
from app.web.contexts import (
    AlbumContext,
    AlbumRow,
    AlbumsContext,
    CoversContext,
    Crumb,
    TitlesContext,
)
from app.web.rendering import render
from app.web.rows import project_card

router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)
TITLE_PAGE = 200  # titles listed on first load; the page script loads more by cursor
POOL = 300  # titles offered in the album editor's sidebar (pinned first)


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
    ctx = AlbumsContext(
        crumbs=_crumbs(project, Crumb("Albums")), project=project_card(session, project),
        albums=rows, epochs=runs.trained_epochs(session, project_id),
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
def covers_page(
    project_id: int, request: Request, session: ReadSessionDep, settings: SettingsDep
) -> Response:
    project = projects.get_project(session, project_id)
    counts = images.count_by_role(session, project_id)
    ctx = CoversContext(
        crumbs=_crumbs(project, Crumb("Covers")), project=project_card(session, project),
        has_cover=counts["cover"] > 0, photos=counts["photo"],
        backends=[b.name for b in cover_backends.backend_statuses(settings) if b.available],
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
            "titles": [{"id": t.id, "text": t.text, "pinned": t.picked}
                       for t in titles.title_pool(session, project.id, limit=POOL)],
            "exports": [export_out(session, e).model_dump(mode="json")
                        for e in exports.list_exports(session, album.id)],
        },
    )
    return render(request, "albums/album.html", ctx)
