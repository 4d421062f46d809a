"""Server-rendered pages: structure (BeautifulSoup), context dataclasses, partials, assets."""

from __future__ import annotations

import ast
import dataclasses
import re
import warnings
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from app.web import STATIC_DIR, TEMPLATES_DIR
from app.web.contexts import PAGES
from app.web.graphics import nice_ticks, nll_chart, peaks_path
from tests.web.conftest import Studio


def soup(client: TestClient, url: str) -> BeautifulSoup:
    r = client.get(url)
    assert r.status_code == 200, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    return BeautifulSoup(r.text, "html.parser")


def crumbs(page: BeautifulSoup) -> list[str]:
    return [li.get_text(strip=True) for li in page.select("nav.crumbs li")]


def test_every_context_field_has_help_text() -> None:
    for template, ctx in PAGES.items():
        assert (TEMPLATES_DIR / template).is_file(), template
        for f in dataclasses.fields(ctx):
            assert f.metadata.get("help"), f"{ctx.__name__}.{f.name} has no help text"


def test_pages_maps_every_template_the_routes_render() -> None:
    web = Path(__file__).resolve().parents[2] / "app" / "web"
    rendered = {
        node.args[1].value
        for path in web.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        and node.func.id == "render" and len(node.args) > 1
        and isinstance(node.args[1], ast.Constant)
    }
    pages = {p.relative_to(TEMPLATES_DIR).as_posix() for p in TEMPLATES_DIR.rglob("[!_]*.html")}
    assert rendered == set(PAGES)
    assert pages <= set(PAGES)  # every full page (partials start with _) has its context


def test_projects_page_lists_and_creates(client: TestClient, studio: Studio) -> None:
    page = soup(client, "/projects")
    assert crumbs(page) == ["Projects"]
    card = page.select_one(f"a.card[data-project='{studio.seeded.project_id}']")
    assert card is not None and "Archspire" in card.get_text() and "6 clips" in card.get_text()
    form = page.select_one("form#new-project")
    assert form["method"] == "post" and {i["name"] for i in form.select("[name]")} == {"name", "artist", "description"}
    r = client.post("/projects", data={"name": "Second", "artist": "Band"}, follow_redirects=False)
    assert r.status_code == 303 and re.fullmatch(r"/projects/\d+", r.headers["location"])
    assert "Second" in client.get("/projects").text
    r = client.post("/projects", data={"name": "X", "artist": "Y"}, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403  # another site's form post (RELIABILITY.md item 30)
    assert client.get("/", follow_redirects=False).headers["location"] == "/projects"


def test_project_page(client: TestClient, studio: Studio) -> None:
    pid = studio.seeded.project_id
    page = soup(client, f"/projects/{pid}")
    assert crumbs(page) == ["Projects", "Mutations"]
    assert page.select_one("#upload-sources")["action"] == f"/api/v1/projects/{pid}/sources"
    assert page.select_one("#upload-image select[name=role]") is not None
    assert page.select_one("#start-run select[name=preset]") is not None
    assert "Drone Corpse Aviator" in page.select_one("textarea[name=titles]").get_text()
    assert page.select_one(f"a[href='/runs/{studio.seeded.run_id}']") is not None
    # The titles form replaces the corpus; a run needs sources (a 409 problem without them).
    r = client.post(f"/projects/{pid}/titles", data={"titles": "One\n\nTwo\n"}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get(f"/api/v1/projects/{pid}/titles").json()["data"] == ["One", "Two"]
    r = client.post(f"/projects/{pid}/runs", data={"preset": "tiny"})
    assert r.status_code == 409 and "upload album audio" in r.json()["detail"]
    r = client.post(f"/projects/{pid}/tracks", data={"name": "Opener"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/tracks/")
    assert client.get("/projects/999").status_code == 404


def test_run_page_chart_and_epochs(client: TestClient, studio: Studio) -> None:
    run_id = studio.seeded.run_id
    page = soup(client, f"/runs/{run_id}")
    assert crumbs(page) == ["Projects", "Mutations", f"Run {run_id}"]
    chart = page.select_one("svg.chart")
    assert len(chart.select("path.series")) == 2 and len(chart.select("circle")) == 4
    assert "valid · epoch 2: 5.9000 bits" in chart.get_text()
    rows = page.select("tr[data-epoch]")
    assert [r["data-epoch"] for r in rows] == ["1", "2"]
    assert rows[0].select_one("a")["href"] == f"/projects/{studio.seeded.project_id}/clips?run={run_id}&epoch=1"
    live = BeautifulSoup(client.get(f"/runs/{run_id}/live").text, "html.parser")
    assert live.select_one("#run-live")["data-status"] == "succeeded" and live.select_one("svg.chart")
    data = page.select_one("script#page-data")
    assert "/api/v1/jobs/" in data.get_text()


def test_clip_browser_groups_thumbnails_and_pages(client: TestClient, studio: Studio) -> None:
    pid = studio.seeded.project_id
    page = soup(client, f"/projects/{pid}/clips")
    heads = [h.select_one("strong").get_text() for h in page.select(".group-head")]
    assert heads == ["Run 1 › epoch 2", "Run 1 › epoch 1"]
    assert "valid NLL 5.900 bits" in page.select_one(".group-head").get_text()
    rows = page.select(".clip")
    assert [int(r["data-clip-id"]) for r in rows] == sorted(
        studio.seeded.clip_ids[2], reverse=True) + sorted(studio.seeded.clip_ids[1], reverse=True)
    path = rows[0].select_one(".wave svg path")["d"]
    assert path.startswith("M0,") and path.endswith("Z") and path.count("L") > 100
    assert "LUFS" in rows[0].get_text()
    assert page.select_one("select[name=sort] option[selected]")["value"] == "-epoch"
    assert page.select_one("[data-total]").get_text() == "6"
    # Filters go through the same service as the API.
    page = soup(client, f"/projects/{pid}/clips?epoch=1&sort=-loudness")
    assert len(page.select(".clip")) == 3 and not page.select(".group-head")
    # Level filters hide quiet and silent clips, the same way the API does.
    page = soup(client, f"/projects/{pid}/clips?loudness=-20&silence=0.1")
    api = client.get(f"/api/v1/projects/{pid}/clips", params={"min_lufs": -20, "max_silence": 0.1}).json()
    assert int(page.select_one("[data-total]").get_text()) == len(api["data"])
    assert page.select_one("select[name=loudness] option[selected]")["value"] == "-20"
    assert page.select_one("select[name=silence] option[selected]")["value"] == "0.1"


def test_clip_browser_pages_through_2000_clips(client: TestClient, studio: Studio) -> None:
    from tests.web.seed import seed_many

    pid = studio.seeded.project_id
    with studio.app.state.session_factory() as session:
        run_id = seed_many(session, studio.storage, pid, 2000)
    page = soup(client, f"/projects/{pid}/clips?run={run_id}")
    seen = [int(r["data-clip-id"]) for r in page.select(".clip")]
    more = page.select_one(".loadmore[data-next]")
    while more is not None:
        url = f"{more['data-next']}&after_group={more['data-last-group']}"
        part = BeautifulSoup(client.get(url).text, "html.parser")
        seen += [int(r["data-clip-id"]) for r in part.select(".clip")]
        # a header only where the epoch changes, never repeated across pages
        for head in part.select(".group-head"):
            assert head["data-group-head"] != more["data-last-group"]
        assert part.select_one("script[data-clips]") is not None
        more = part.select_one(".loadmore[data-next]")
    assert len(seen) == 2000 == len(set(seen))


def test_clip_editor_page(client: TestClient, studio: Studio) -> None:
    a, b = studio.seeded.clip_ids[1][:2]
    client.post(f"/api/v1/clips/{a}/markers", json={"time_s": 1.5, "label": "good motif"})
    client.post(f"/api/v1/projects/{studio.seeded.project_id}/tracks", json={"name": "Riff"})
    page = soup(client, f"/clips/{a}")
    assert crumbs(page)[-1] == f"Clip #{a}"
    wave = page.select_one("#waveform")
    assert wave["data-audio-url"] == f"/api/v1/clips/{a}/audio"
    assert wave["data-peaks-url"] == f"/api/v1/clips/{a}/peaks"
    assert page.select_one("[data-next]")["href"] == f"/clips/{b}"
    assert [o.get_text() for o in page.select("#track-select option")] == ["Riff", "New song…"]
    assert "good motif" in page.select_one("#markers").get_text()
    keys = page.select_one("#help dl").get_text()
    assert "send the selection to the song" in keys and "marker" in keys
    assert page.select_one("script[type=module][src='/static/js/clip-editor.js']") is not None
    assert client.get("/clips/999999").status_code == 404


def test_track_editor_page(client: TestClient, studio: Studio) -> None:
    a = studio.seeded.clip_ids[1][0]
    track = client.post(
        f"/api/v1/projects/{studio.seeded.project_id}/tracks",
        json={"name": "Opener", "edl": [{"clip_id": a, "start_s": 0.5, "end_s": 1.5, "repeat": 2}]},
    ).json()
    page = soup(client, f"/tracks/{track['id']}")
    assert crumbs(page)[-1] == "Opener"
    assert len(page.select(".lane[data-lane]")) == 2
    assert page.select_one("#track-name")["value"] == "Opener"
    import json

    data = json.loads(page.select_one("script#page-data").get_text())
    assert data["track"]["edl"]["items"][0]["repeat"] == 2
    assert str(a) in data["clips"] and data["clips"][str(a)]["audio_url"].endswith(f"/clips/{a}/audio")
    assert {"Alt", "undo / redo"} <= set(re.findall(r"Alt|undo / redo", page.select_one("#help").get_text()))


def test_templates_use_request_first_and_render_without_warnings(client: TestClient, studio: Studio) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        for url in ("/projects", f"/projects/{studio.seeded.project_id}/clips"):
            assert client.get(url).status_code == 200


def test_static_assets_and_vendored_licences(client: TestClient) -> None:
    for name in ("js/keys.js", "js/clips.js", "js/clip-editor.js", "js/track-editor.js", "css/studio.css",
                 "vendor/wavesurfer/wavesurfer.esm.js", "vendor/wavesurfer/plugins/regions.esm.js"):
        r = client.get(f"/static/{name}")
        assert r.status_code == 200 and r.headers["cache-control"] == "no-cache", name
    licence = (STATIC_DIR / "vendor" / "wavesurfer" / "LICENSE").read_text()
    assert "BSD 3-Clause" in licence
    # ES modules import vendored files by their served path only (no CDN, no bare specifiers).
    for js in (STATIC_DIR / "js").glob("*.js"):
        for spec in re.findall(r'^import .* from "([^"]+)";', js.read_text(), flags=re.M):
            assert spec.startswith(("./", "/static/")), (js.name, spec)
            target = (js.parent / spec) if spec.startswith("./") else STATIC_DIR / spec.removeprefix("/static/")
            assert Path(target).is_file(), (js.name, spec)


def test_graphics_helpers() -> None:
    assert peaks_path([]) == "M0,20H96"
    d = peaks_path([0.0, 1.0, -1.0, 0.5] * 50)
    assert d.startswith("M0,") and d.endswith("Z")
    assert nice_ticks(5.2, 6.9) == [5.0, 5.5, 6.0, 6.5, 7.0]
    ticks = nice_ticks(6.1, 7.2)
    assert ticks[0] <= 6.1 and ticks[-1] >= 7.2
    chart = nll_chart([{"epoch": 1, "train_nll_bits": 6.0, "valid_nll_bits": None}])
    assert len(chart.series) == 1 and not chart.empty
    assert nll_chart([]).empty


@pytest.mark.parametrize("path", ["/runs/999", "/tracks/999"])
def test_missing_things_are_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404
