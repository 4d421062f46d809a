"""Curating at scale in headless Chromium: select 20 clips and reject them in one action, tag
and search, delete a clip (what goes is shown first) and be refused for one a song uses."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from app.catalog import Clip, Track
from tests.web.conftest import Studio, make_studio, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture
def studio(tmp_path: Path) -> Studio:
    return make_studio(tmp_path, per_epoch=12)  # 24 clips over two epochs


def api(studio: Studio, method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(method, studio.base_url + "/api/v1" + path, timeout=10, **kw)
    r.raise_for_status()
    return r.json() if r.content else None


def test_select_twenty_clips_and_reject_them_in_one_request(page: Any, live: Studio) -> None:
    pid, run_id = live.seeded.project_id, live.seeded.run_id
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}") if "/api/v1/" in r.url else None)
    page.goto(f"/projects/{pid}/clips?run={run_id}")
    rows = page.locator(".clip")
    rows.first.wait_for()
    assert rows.count() == 24
    ids = [int(x) for x in page.eval_on_selector_all(".clip", "rs => rs.map(r => r.dataset.clipId)")]

    # Click the first, Shift+click the 20th: 20 picked. Ctrl+click adds and removes one.
    rows.nth(0).locator(".meta").click()
    rows.nth(19).locator(".meta").click(modifiers=["Shift"])
    page.wait_for_selector('#batchbar[data-count="20"]')
    rows.nth(22).locator(".meta").click(modifiers=["Control"])
    page.wait_for_selector('#batchbar[data-count="21"]')
    rows.nth(22).locator(".meta").click(modifiers=["Control"])
    page.wait_for_selector('#batchbar[data-count="20"]')
    assert page.locator(".clip.picked").count() == 20
    screenshot(page, "curation-20-picked")

    requests.clear()
    page.click('[data-b-kept="false"]')
    page.wait_for_function("() => document.querySelector('[data-b-status]').textContent === 'saved 20 clips'")
    edits = [r for r in requests if r.startswith(("POST", "PATCH"))]
    assert edits == [f"POST {live.base_url}/api/v1/projects/{pid}/clips/batch"]  # ONE request
    assert page.locator(".clip.rejected").count() == 20
    listed = api(live, "GET", f"/projects/{pid}/clips", params={"kept": "false", "limit": 100})["data"]
    assert sorted(c["id"] for c in listed) == sorted(ids[:20])
    screenshot(page, "curation-20-rejected")

    # Select all in view, then tag three clips and find them again with the filter box.
    page.click("[data-b-all]")
    page.wait_for_selector('#batchbar[data-count="24"]')
    page.keyboard.press("Escape")
    page.wait_for_selector('#batchbar[data-count="0"]')
    rows.nth(20).locator(".meta").click()
    rows.nth(22).locator(".meta").click(modifiers=["Shift"])
    page.fill("[data-b-tag]", "gem")
    page.click("[data-b-addtag]")
    page.wait_for_function("() => document.querySelector('[data-b-status]').textContent === 'saved 3 clips'")
    api(live, "PATCH", f"/clips/{ids[5]}", json={"notes": "Huge RIFF at 0:02"})
    page.fill('#filters input[name="tag"]', "gem")
    page.click('#filters button[type="submit"]')
    page.wait_for_url("**tag=gem**")
    assert sorted(int(x) for x in page.eval_on_selector_all(".clip", "rs => rs.map(r => r.dataset.clipId)")) == sorted(ids[20:23])
    page.fill('#filters input[name="tag"]', "")
    page.fill('#filters input[name="q"]', "huge riff")
    page.click('#filters button[type="submit"]')
    page.wait_for_url("**q=huge**")
    assert page.eval_on_selector_all(".clip", "rs => rs.map(r => r.dataset.clipId)") == [str(ids[5])]
    assert page.errors == []  # type: ignore[attr-defined]


def test_delete_shows_what_goes_and_refuses_a_clip_a_song_uses(page: Any, live: Studio) -> None:
    pid, run_id = live.seeded.project_id, live.seeded.run_id
    used, unused = live.seeded.clip_ids[2][0], live.seeded.clip_ids[2][1]
    with live.app.state.session_factory() as s:
        track = Track(project_id=pid, name="Opener", edl={"items": [
            {"clip_id": used, "start_s": 0.0, "end_s": 1.0}]})
        s.add(track)
        s.commit()
        track_id = track.id
    page.goto(f"/projects/{pid}/clips?run={run_id}")
    page.locator(f"#clip-{used} .meta").click()
    page.wait_for_selector(f"#clip-{used}.selected")
    page.click("[data-i-delete]")
    page.wait_for_selector('#delete-dialog[data-state="refused"]')
    text = page.text_content("#delete-dialog")
    assert "cannot be deleted" in text and "Opener" in text
    assert page.get_attribute(f'#delete-dialog [data-user="track-{track_id}"] a', "href") == f"/tracks/{track_id}"
    assert page.locator("#delete-dialog [data-d-confirm]").is_hidden()
    screenshot(page, "curation-delete-refused")
    page.click("#delete-dialog [data-d-cancel]")
    assert api(live, "GET", f"/clips/{used}")["id"] == used
    # The clip editor refuses the same way.
    page.goto(f"/clips/{used}")
    page.click("#clip-delete")
    page.wait_for_selector('#delete-dialog[data-state="refused"]')
    assert "Opener" in page.text_content("#delete-dialog")
    page.click("#delete-dialog [data-d-cancel]")
    page.goto(f"/projects/{pid}/clips?run={run_id}")

    # An unused clip: the dialog says what goes (rows, files), then it is gone, files too.
    with live.app.state.session_factory() as s:
        clip = s.get(Clip, unused)
        assert clip is not None
        files = [live.storage.path(clip.audio_path), live.storage.path(clip.peaks_path or "")]
    assert all(f.is_file() for f in files)
    page.locator(f"#clip-{unused} .meta").click()
    page.wait_for_selector(f"#clip-{unused}.selected")
    page.click("[data-i-delete]")
    page.wait_for_selector('#delete-dialog[data-state="confirm"]')
    text = page.text_content("#delete-dialog")
    assert "1 clip(s)" in text and "2 file(s)" in text and ".wav" in text
    screenshot(page, "curation-delete-confirm")
    page.click("#delete-dialog [data-d-confirm]")
    page.wait_for_selector(f"#clip-{unused}", state="detached")
    assert not any(f.exists() for f in files)
    assert httpx.get(f"{live.base_url}/api/v1/clips/{unused}").status_code == 404
    # The refusal is the only failed request (the browser logs a 409 as a console error).
    errors = [e for e in page.errors if "status of 409" not in e]  # type: ignore[attr-defined]
    assert errors == []
