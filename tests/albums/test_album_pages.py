"""The album pages as HTML (BeautifulSoup): structure, context help text, data for the scripts,
vendored SortableJS and its licence, module import paths."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.web import STATIC_DIR, TEMPLATES_DIR
from app.web.contexts import ALBUM_PAGES
from tests.albums.conftest import Worker
from tests.albums.factories import API, add_run, make_project, make_track, storage_of, upload_image
from tests.model.test_titles import DISCOGRAPHY


def soup(client: TestClient, url: str) -> BeautifulSoup:
    r = client.get(url)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    return BeautifulSoup(r.text, "html.parser")


def page_data(page: BeautifulSoup) -> dict:
    return dict(json.loads(page.select_one("#page-data").string))


def test_every_album_page_context_field_has_help_text() -> None:
    for template, ctx in ALBUM_PAGES.items():
        assert (TEMPLATES_DIR / template).is_file(), template
        for f in dataclasses.fields(ctx):
            assert f.metadata.get("help"), f"{ctx.__name__}.{f.name} has no help text"


def test_pages_show_what_the_project_has(
    client: TestClient, worker: Worker, session: Session
) -> None:
    pid = make_project(client, name="Diotima", artist="Krallice")
    add_run(session, storage_of(client), pid, epochs=2, per_epoch=1, seconds=31.0)
    client.put(f"{API}/projects/{pid}/titles", json=DISCOGRAPHY)
    client.post(f"{API}/projects/{pid}/titles/generate", json={"n": 12, "seed": 1})
    upload_image(client, pid, "cover")
    client.post(f"{API}/projects/{pid}/covers/generate", json={"backend": "mosaic"})
    worker.run_all()
    track = make_track(client, pid, [], "song")
    album = client.post(f"{API}/projects/{pid}/albums", json={
        "title": "Coditany", "artist": "Krallbot", "tracks": [{"track_id": track["id"], "title": "x"}],
    }).json()

    index = soup(client, f"/projects/{pid}/albums")
    assert [a.get_text() for a in index.select("#album-list a")] == ["Coditany"]
    assert [o["value"] for o in index.select("#auto-album select[name=mode] option")] == [
        "clips", "generate", "epochs", "best"]
    assert "2" in [o["value"] for o in index.select("#auto-album select[name=epoch] option")]
    assert index.select_one("nav.tabs a[aria-current=page]").get_text() == "Albums"

    titles = soup(client, f"/projects/{pid}/generated-titles")
    assert len(page_data(titles)["titles"]) == 12
    assert titles.select_one("#generate-titles button")["type"] == "submit"
    assert not titles.select_one("#generate-titles button").has_attr("disabled")

    covers = soup(client, f"/projects/{pid}/covers")
    assert len(page_data(covers)["covers"]) == 1
    assert covers.select_one("#generate-covers option[value=photos]").has_attr("disabled")  # no photos

    editor = soup(client, f"/albums/{album['id']}")
    data = page_data(editor)
    assert data["album"]["id"] == album["id"] and data["tracks"][0]["name"] == "song"
    assert len(data["titles"]) == 12 and len(data["covers"]) == 1 and data["exports"] == []
    assert editor.select_one("#album-title")["value"] == "Coditany"
    assert [c.get_text(strip=True) for c in editor.select("nav.crumbs li")] == [
        "Projects", "Diotima", "Albums", "Coditany"]
    project = soup(client, f"/projects/{pid}")
    assert project.select_one(f"a[href='/projects/{pid}/albums']") is not None


def test_a_project_without_material_says_what_to_do(client: TestClient) -> None:
    pid = make_project(client)
    assert "Train a run first" in soup(client, f"/projects/{pid}/albums").get_text()
    titles = soup(client, f"/projects/{pid}/generated-titles")
    assert titles.select_one("#generate-titles button").has_attr("disabled")
    covers = soup(client, f"/projects/{pid}/covers")
    assert covers.select_one("#generate-covers button").has_attr("disabled")


@pytest.mark.parametrize("path", ["/albums/999", "/projects/999/albums", "/projects/999/covers",
                                  "/projects/999/generated-titles"])
def test_missing_things_are_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_sortablejs_is_vendored_with_its_licence_and_scripts_import_served_paths(
    client: TestClient,
) -> None:
    vendor = STATIC_DIR / "vendor" / "sortablejs"
    assert "MIT License" in (vendor / "LICENSE").read_text()
    assert "Sortable 1.15.7" in (vendor / "sortable.esm.js").read_text()[:200]
    for name in ("vendor/sortablejs/sortable.esm.js", "js/albums/album.js", "css/albums.css"):
        assert client.get(f"/static/{name}").status_code == 200, name
    for js in (STATIC_DIR / "js" / "albums").glob("*.js"):
        for spec in re.findall(r'^import .* from "([^"]+)";', js.read_text(), flags=re.M):
            assert spec.startswith(("./", "/static/")), (js.name, spec)
            target = js.parent / spec if spec.startswith("./") else STATIC_DIR / spec.removeprefix("/static/")
            assert Path(target).is_file(), (js.name, spec)
