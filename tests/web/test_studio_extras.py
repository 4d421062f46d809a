"""Studio extras in headless Chromium against a real uvicorn server (UX.md rows 6, 8, 26, 29):
the clip editor's spectrogram toggle and playback rate, dragging a song item in time, and the
split-channel view of the render. Screenshots land in artifacts/screenshots/extras-*.png."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.web.conftest import Studio, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def api(studio: Studio, method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(method, studio.base_url + "/api/v1" + path, timeout=30, **kw)
    r.raise_for_status()
    return r.json() if r.content else None


def wait_saved(page: Any) -> int:
    page.wait_for_function("() => !window.studio.dirty && /^saved/.test(document.querySelector('#save-status').textContent)")
    return int(page.evaluate("window.studio.revision"))


def open_clip(page: Any, clip_id: int) -> None:
    page.goto(f"/clips/{clip_id}")
    page.wait_for_function("() => window.studio && window.studio.ws")


def test_spectrogram_toggle_and_png_endpoint(page: Any, live: Studio) -> None:
    clip_id = live.seeded.clip_ids[1][0]
    r = httpx.get(f"{live.base_url}/api/v1/clips/{clip_id}/spectrogram.png", timeout=30)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/png"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.content[:8] == b"\x89PNG\r\n\x1a\n"
    missing = httpx.get(f"{live.base_url}/api/v1/clips/999999/spectrogram.png", timeout=10)
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")

    open_clip(page, clip_id)
    assert page.locator("#spectrogram").is_hidden()
    page.click("#spec-toggle")
    page.wait_for_function("() => { const i = document.querySelector('#spectrogram-img'); return i.complete && i.naturalWidth > 0; }")
    box = page.locator("#spectrogram-img").bounding_box()
    assert box and box["width"] > 100 and box["height"] > 50
    assert page.get_attribute("#spec-toggle", "aria-pressed") == "true"
    screenshot(page, "extras-01-spectrogram")
    # S hides it again (keys work from the page, not while typing); ? lists the key.
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("s")
    page.wait_for_selector("#spectrogram", state="hidden")
    page.keyboard.press("s")
    page.wait_for_selector("#spectrogram", state="visible")
    page.keyboard.press("?")
    assert "spectrogram" in page.locator("#help").inner_text().lower()
    page.keyboard.press("Escape")
    assert not page.errors, page.errors


MEASURE_JS = """
async (ms) => {
  const a = window.studio.player.audio;
  const sleep = (t) => new Promise((r) => setTimeout(r, t));
  const t0 = a.currentTime, p0 = performance.now();
  await sleep(ms);
  return (a.currentTime - t0) / ((performance.now() - p0) / 1000);
}
"""


def test_playback_rate_doubles_speed(page: Any, live: Studio) -> None:
    clip_id = live.seeded.clip_ids[2][0]  # 4 s
    open_clip(page, clip_id)
    page.click("#play")
    page.wait_for_function("() => window.studio.player.audio.currentTime > 0.05")
    speed_1x = page.evaluate(MEASURE_JS, 700)
    page.evaluate("() => { window.studio.player.pause(); window.studio.player.seek(0); }")
    page.select_option("#rate", "2")
    assert page.evaluate("window.studio.player.audio.playbackRate") == 2
    assert page.evaluate("window.studio.player.audio.preservesPitch") is True
    page.click("#play")
    page.wait_for_function("() => window.studio.player.audio.currentTime > 0.05")
    speed_2x = page.evaluate(MEASURE_JS, 700)
    assert speed_1x > 0.3, speed_1x
    assert speed_2x / speed_1x > 1.5, (speed_1x, speed_2x)
    screenshot(page, "extras-02-rate-2x")
    # [ and ] step through 0.5 .. 2.
    page.evaluate("() => window.studio.player.pause()")
    page.locator("#time").click()
    page.keyboard.press("[")
    assert page.input_value("#rate") == "1.5"
    page.keyboard.press("]")
    page.keyboard.press("]")
    assert page.input_value("#rate") == "2"
    assert page.evaluate("window.studio.player.audio.playbackRate") == 2
    assert not page.errors, page.errors


def test_drag_lane2_item_changes_its_offset(page: Any, live: Studio) -> None:
    a, b = live.seeded.clip_ids[1][0], live.seeded.clip_ids[2][0]
    edl = {
        "items": [
            {"clip_id": a, "start_s": 0.0, "end_s": 2.0, "lane": 0},
            {"clip_id": b, "start_s": 0.5, "end_s": 2.5, "lane": 1},
        ],
        "lanes": {"0": {"pan": -1, "offset_s": 0, "gain_db": 0}, "1": {"pan": 1, "offset_s": 0, "gain_db": 0}},
    }
    track = api(live, "POST", f"/projects/{live.seeded.project_id}/tracks", json={"name": "Drag", "edl": edl})
    page.goto(f"/tracks/{track['id']}")
    block = page.locator('[data-lane-body="1"] .block')
    block.wait_for()
    box = block.bounding_box()
    pps = box["width"] / 2.0  # the item is 2 s long
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 50, y, steps=5)
    page.mouse.move(x + 100, y, steps=5)
    screenshot(page, "extras-03-dragging")
    page.mouse.up()
    assert not page.locator("#undo").is_disabled()
    wait_saved(page)
    items = api(live, "GET", f"/tracks/{track['id']}")["edl"]["items"]
    expected = 100 / pps
    assert abs(items[1]["offset_s"] - expected) <= 0.02, (items[1]["offset_s"], expected)
    assert round(items[1]["offset_s"] * 1000, 6) == round(items[1]["offset_s"] * 1000)  # 1 ms steps
    assert items[0].get("offset_s", 0) == 0
    new_box = page.locator('[data-lane-body="1"] .block').bounding_box()
    assert abs(new_box["x"] - box["x"] - 100) < 3
    screenshot(page, "extras-04-dragged")
    # Undo puts it back (and saves that too).
    page.keyboard.press("Control+z")
    wait_saved(page)
    assert api(live, "GET", f"/tracks/{track['id']}")["edl"]["items"][1].get("offset_s", 0) == 0
    assert not page.errors, page.errors


def test_stereo_view_of_a_hard_left_track(page: Any, live: Studio) -> None:
    clip_id = live.seeded.clip_ids[1][0]
    edl = {
        "items": [{"clip_id": clip_id, "start_s": 0.0, "end_s": 3.0, "lane": 0}],
        "lanes": {"0": {"pan": -1, "offset_s": 0, "gain_db": 0}},
    }
    track = api(live, "POST", f"/projects/{live.seeded.project_id}/tracks", json={"name": "Left", "edl": edl})
    peaks = api(live, "GET", f"/tracks/{track['id']}/peaks", params={"revision": track["revision"]})
    assert peaks["channels"] == 2 and peaks["revision"] == track["revision"]
    left, right = peaks["peaks"]
    assert len(left) == len(right) > 100
    assert max(abs(v) for v in right) == 0
    assert max(abs(v) for v in left) > 0.05
    assert abs(peaks["duration"] - 3.0) < 0.05
    # Errors: unknown track 404, empty track 409, both as problems.
    assert httpx.get(f"{live.base_url}/api/v1/tracks/999999/peaks", timeout=10).status_code == 404
    empty = api(live, "POST", f"/projects/{live.seeded.project_id}/tracks", json={"name": "Empty"})
    r = httpx.get(f"{live.base_url}/api/v1/tracks/{empty['id']}/peaks", timeout=10)
    assert r.status_code == 409 and r.headers["content-type"].startswith("application/problem+json")

    page.goto(f"/tracks/{track['id']}")
    page.click("#stereo-toggle")
    page.wait_for_function("() => window.studio.stereoPeaks")
    paths = page.locator("#stereo-view svg path")
    assert paths.count() == 2
    for ch in (0, 1):
        box = page.locator(f'#stereo-view svg[data-channel="{ch}"]').bounding_box()
        assert box and box["width"] > 200 and box["height"] > 30
    shown = page.evaluate("window.studio.stereoPeaks.peaks.map((c) => Math.max(...c.map(Math.abs)))")
    assert shown[1] == 0 and shown[0] > 0.05
    page.locator("#stereo-view").scroll_into_view_if_needed()
    screenshot(page, "extras-05-stereo-view")
    assert not page.errors, page.errors
