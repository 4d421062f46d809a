"""The album pages in headless Chromium against a real uvicorn server (the studio's set-up in
tests/web): pin a title, pick and crop a cover, assemble an album from two songs by dragging,
drop titles onto the tracks, check it, play a transition, export it and download the zip.

Jobs run on a thread of this process through the real runners and leases (the Celery worker
path is covered by test_worker_e2e.py). Skips only when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import io
import json
import threading
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.catalog import Clip
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings
from tests.albums.conftest import RUNNERS
from tests.albums.factories import add_run, image_bytes
from tests.model.test_titles import DISCOGRAPHY
from tests.web.conftest import LiveServer, chromium, screenshot  # noqa: F401 - fixture reused
from worker.lease import execute
from worker.runtime import Runtime

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
API = "/api/v1"


class ThreadQueue:
    """A TaskQueue whose jobs run on one background thread, like a one-process worker."""

    def __init__(self) -> None:
        self.rt: Runtime | None = None
        self.pool = ThreadPoolExecutor(max_workers=1)
        self.errors: list[BaseException] = []

    def enqueue(self, task: str, job_id: int, *, queue: str) -> None:
        assert self.rt is not None
        self.pool.submit(self._run, task, job_id)

    def _run(self, task: str, job_id: int) -> None:
        assert self.rt is not None
        try:
            execute(self.rt, "browser@test", job_id, *RUNNERS[task])
        except Exception as exc:  # noqa: BLE001 - the job row has the reason; the test reads it
            self.errors.append(exc)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[dict[str, Any]]:
    settings = Settings(data_dir=tmp_path / "data", sse_poll_s=0.05, heartbeat_interval_s=0.2,
                        job_stale_after_s=5.0)
    upgrade(settings)
    queue = ThreadQueue()
    app = create_app(settings, queue=queue)
    queue.rt = Runtime.create(settings, lambda *a: None)
    with LiveServer(app) as server:
        yield {"url": server.url, "app": app, "queue": queue}
    queue.pool.shutdown(wait=True)
    queue.rt.close()


def call(site: dict[str, Any], method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(method, site["url"] + API + path, timeout=30, **kw)
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def wait_job(site: dict[str, Any], job_id: int) -> dict[str, Any]:
    done = threading.Event()
    site["queue"].pool.submit(done.set)  # jobs run in order: this runs after the job
    assert done.wait(120)
    job = call(site, "GET", f"/jobs/{job_id}")
    assert job["status"] == "succeeded", job
    return dict(job)


@pytest.fixture
def project(site: dict[str, Any]) -> dict[str, Any]:
    """A project with 35 s clips, two songs, generated titles and two generated covers."""
    pid = call(site, "POST", "/projects", json={"name": "Punk In Drublic", "artist": "NOFX"})["id"]
    app = site["app"]
    with app.state.session_factory() as session:
        run = add_run(session, app.state.storage, pid, epochs=2, per_epoch=1, seconds=35.0)
        clips = list(session.scalars(select(Clip.id).where(Clip.run_id == run.id).order_by(Clip.id)))
    songs = [
        call(site, "POST", f"/projects/{pid}/tracks", json={
            "name": name, "edl": [{"clip_id": clip, "start_s": 0, "end_s": 33}]})["id"]
        for name, clip in (("first song", clips[0]), ("second song", clips[1]))
    ]
    call(site, "PUT", f"/projects/{pid}/titles", json=DISCOGRAPHY)
    wait_job(site, call(site, "POST", f"/projects/{pid}/titles/generate", json={"n": 30, "seed": 4})["id"])
    call(site, "POST", f"/projects/{pid}/images", data={"role": "cover"},
         files={"file": ("cover.png", image_bytes(), "image/png")})
    wait_job(site, call(site, "POST", f"/projects/{pid}/covers/generate",
                        json={"backend": "mosaic", "n": 2, "seed": 1})["id"])
    return {"id": pid, "songs": songs}


@pytest.fixture
def page(chromium: Any, site: dict[str, Any]) -> Iterator[Any]:  # noqa: F811 - uses the import
    context = chromium.new_context(viewport={"width": 1440, "height": 900}, base_url=site["url"],
                                   accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(20_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.errors = errors  # type: ignore[attr-defined]
    yield page
    context.close()


def drag(page: Any, source: Any, target: Any) -> None:
    """A mouse drag in small steps (SortableJS runs in fallback mode: mouse events)."""
    a, b = source.bounding_box(), target.bounding_box()
    page.mouse.move(a["x"] + a["width"] / 2, a["y"] + a["height"] / 2)
    page.mouse.down()
    for k in range(1, 16):
        page.mouse.move(a["x"] + a["width"] / 2, a["y"] + (b["y"] - a["y"] - 10) * k / 15 + a["height"] / 2)
        page.wait_for_timeout(20)
    page.mouse.up()


def test_titles_and_covers_pages(page: Any, site: dict[str, Any], project: dict[str, Any]) -> None:
    pid = project["id"]
    page.goto(f"/projects/{pid}/generated-titles")
    rows = page.locator("#title-list li")
    assert rows.count() == 30
    first = rows.nth(0).locator("input").input_value()
    rows.nth(0).locator("button.pin").click()
    page.wait_for_function("() => document.querySelector('#title-list li').classList.contains('pinned')")
    page.fill("#title-search input[name=q]", first.split()[0])
    page.wait_for_function("n => document.querySelectorAll('#title-list li').length < n", arg=30)
    page.check("#title-search input[name=pinned]")
    page.wait_for_function("() => document.querySelectorAll('#title-list li').length === 1")
    screenshot(page, "albums-titles")

    page.goto(f"/projects/{pid}/covers")
    assert page.locator("#gallery figure").count() == 2
    page.locator("#gallery [data-pick]").nth(1).click()
    page.wait_for_function("() => document.querySelectorAll('#gallery figure.picked').length === 1")
    page.locator("#gallery [data-crop]").nth(1).click()
    box = page.locator("#cropper img").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.2, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.7, steps=8)
    page.mouse.up()
    page.click("[data-crop-save]")
    page.wait_for_function("() => document.getElementById('crop-dialog').hidden")
    covers = call(site, "GET", f"/projects/{pid}/covers")["data"]
    crop = covers[1]["crop"]
    assert covers[1]["picked"] and crop and 600 <= crop["size"] <= 800, crop
    screenshot(page, "albums-covers")
    assert page.errors == []  # type: ignore[attr-defined]


def test_assemble_an_album_export_and_download(
    page: Any, site: dict[str, Any], project: dict[str, Any], tmp_path: Path
) -> None:
    pid = project["id"]
    page.goto(f"/projects/{pid}/albums")
    page.fill("#new-album input[name=title]", "Bot Prownies")
    page.fill("#new-album input[name=artist]", "Dadabots")
    page.click("#new-album button[type=submit]")
    page.wait_for_url("**/albums/*")
    for song in project["songs"]:
        page.select_option("#add-track-select", str(song))
        page.click("#add-track")
    tracks = page.locator(".album-track")
    assert tracks.count() == 2
    # Drag the second song above the first.
    drag(page, tracks.nth(1).locator(".handle"), tracks.nth(0))
    page.wait_for_function(
        "ids => window.album.tracks.map(t => t.track_id).join() === ids", arg=f"{project['songs'][1]},{project['songs'][0]}"
    )
    # Drop titles from the pool onto the tracks.
    pool = page.locator("#title-pool li")
    names = [pool.nth(0).inner_text(), pool.nth(1).inner_text()]
    for i in range(2):
        pool.nth(i).drag_to(page.locator(".album-track .title").nth(i))
    assert [page.locator(".album-track .title").nth(i).input_value() for i in range(2)] == names
    page.select_option("[data-join='0'] select", "crossfade")
    page.fill("[data-join='0'] input", "3000")
    page.dispatch_event("[data-join='0'] input", "change")
    page.locator("#cover-pick button").first.click()
    page.click("#save-album")
    page.wait_for_function("() => document.getElementById('save-status').textContent === 'saved'")
    album_id = int(page.url.rsplit("/", 1)[1])
    saved = call(site, "GET", f"/albums/{album_id}")
    assert [t["title"] for t in saved["tracks"]] == names
    assert saved["tracks"][0]["crossfade_ms"] == 3000 and saved["cover_id"] is not None
    assert page.text_content("#total-time") == "1:03.00"  # 33 + 33 − 3

    page.click("#check-album")
    page.wait_for_selector("#problems li:has-text('Ready')")
    with page.expect_response(lambda r: "/transition/1/audio" in r.url) as transition:
        page.click("[data-transition='1']")
    assert transition.value.status in (200, 206)
    screenshot(page, "albums-editor")

    page.check("#export-form input[name=wav]")
    page.click("#export-form button[type=submit]")
    link = page.locator("#exports a[download]")
    link.wait_for(timeout=120_000)
    with page.expect_download() as download:
        link.click()
    path = tmp_path / "album.zip"
    download.value.save_as(path)
    assert download.value.suggested_filename.startswith("Dadabots - Bot Prownies (")
    zf = zipfile.ZipFile(io.BytesIO(path.read_bytes()))
    flacs = sorted(n for n in zf.namelist() if n.endswith(".flac"))
    assert [n.rsplit("/", 1)[1] for n in flacs] == [f"01 - {names[0]}.flac", f"02 - {names[1]}.flac"]
    assert len([n for n in zf.namelist() if n.endswith(".wav")]) == 2
    manifest = json.loads(zf.read(next(n for n in zf.namelist() if n.endswith("manifest.json"))))
    assert [t["track_id"] for t in manifest["tracks"]] == project["songs"][::-1]
    assert manifest["checks"] == []
    screenshot(page, "albums-exported")
    assert page.errors == []  # type: ignore[attr-defined]
    assert site["queue"].errors == []
