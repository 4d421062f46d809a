"""Live clips in a real browser (headless Chromium) against a real worker process: a clip
being generated shows up "live" in its epoch, plays before it has finished generating, its
waveform grows, K keeps the last seconds heard as a new clip, and when the clip is finished it
is an ordinary row of the list, all without reloading the page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.live.conftest import Trained, api, checkpoint_id, generate, wait_job
from tests.web.conftest import browser_page, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(600)]
CLIP_S = 40.0
LIVE = ".live-clips .clip.live"


@pytest.fixture
def studio(chromium: Any, trained: Trained) -> Iterator[tuple[Any, str]]:
    with trained.server() as web, browser_page(chromium, web.url, timeout_ms=60_000) as page:
        yield page, web.url


def test_a_live_clip_plays_while_it_generates_and_keep_that_lands_a_clip(
    studio: tuple[Any, str], trained: Trained
) -> None:
    page, base = studio
    cid = checkpoint_id(base, trained.run_id)
    page.goto(f"/projects/{trained.project_id}/clips?run={trained.run_id}&epoch=1")
    page.evaluate("window.__samePage = true")  # gone if anything reloads the page
    assert page.locator("#live-clips").is_hidden()

    job = generate(base, cid, seconds=CLIP_S, seed=31)
    row = page.locator(LIVE)
    row.wait_for()
    assert row.locator(".badge.live").inner_text() == "live"
    live = api(base, "GET", f"/projects/{trained.project_id}/live-clips").json()["data"][0]
    assert row.locator(".title").inner_text() == f"Epoch {live['epoch']} · clip {live['index']}"

    row.locator("[data-live-play]").click()
    page.wait_for_function("() => Number(document.getElementById('live-player').dataset.position) > 1.0")
    # Heard while it is still being generated: the API still calls it live, part-written.
    now = api(base, "GET", live["url"].removeprefix("/api/v1")).json()
    assert now["state"] == "live" and now["generated_s"] < CLIP_S, now
    first_sound_ms = int(page.get_attribute("#live-player", "data-first-sound-ms") or -1)
    assert first_sound_ms >= 0
    print(f"live clip: play -> first sound {first_sound_ms} ms in Chromium")

    # The waveform grows as the clip does.
    page.wait_for_function(f"() => Number(document.querySelector('{LIVE}').dataset.samples) > 0")
    before = int(row.get_attribute("data-samples") or 0)
    page.wait_for_function(
        f"() => Number(document.querySelector('{LIVE}').dataset.samples) > {before}")
    screenshot(page, "live-clip-playing")

    # K: keep that. The last seconds heard become a clip, which joins the list.
    heard = float(page.get_attribute("#live-player", "data-position") or 0)
    page.keyboard.press("k")
    link = row.locator("[data-live-kept] a")
    link.wait_for()
    kept_id = int(re.sub(r"\D", "", link.get_attribute("href") or ""))
    kept = api(base, "GET", f"/clips/{kept_id}").json()
    assert kept["provenance"]["kind"] == "live" and kept["provenance"]["seed"] == live["seed"]
    assert kept["provenance"]["live_index"] == live["index"]
    assert 0.5 < kept["duration_s"] <= min(30.0, heard + 1.0)
    page.locator(f"#clip-{kept_id}").wait_for()

    # Finished: an ordinary clip row, without reloading.
    wait_job(base, job)
    result = api(base, "GET", f"/jobs/{job}").json()["result"]
    clip_id = int(result["clip_ids"][0])
    page.locator(f"#clip-{clip_id}").wait_for()
    assert page.evaluate("window.__samePage") is True
    assert page.locator(f"#clip-{clip_id} .badge.live").count() == 0
    # It plays as any clip does, and the live player gives way to the browser's own.
    page.locator(f"#clip-{clip_id} [data-play]").click()
    page.locator(f"#clip-{clip_id}.playing").wait_for()
    assert page.get_attribute("#live-player", "data-state") == "paused"
    screenshot(page, "live-clip-finished")
    assert page.errors == []  # type: ignore[attr-defined]
