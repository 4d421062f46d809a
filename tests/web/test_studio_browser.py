"""The studio in headless Chromium against a real uvicorn server: audition, cut, stitch, layer.

The catalog is seeded directly (tests/web/seed.py): one project, one run, clips from two epochs.
Screenshots of every page land in artifacts/screenshots/. Skips only when /usr/bin/chromium is
absent.
"""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from tests.plans import tiny_plan
from tests.web.conftest import Studio, screenshot
from tests.web.seed import seed_many

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


def api(studio: Studio, method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(method, studio.base_url + "/api/v1" + path, timeout=10, **kw)
    r.raise_for_status()
    return r.json() if r.content else None


def select_region(page: Any, x0: float, x1: float) -> str:
    """Drag across the waveform from fraction x0 to x1 of its width; return the selection text."""
    before = page.text_content("#selection")
    box = page.locator("#waveform").bounding_box()
    y = box["y"] + box["height"] * 0.4
    page.mouse.move(box["x"] + box["width"] * x0, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * x1, y, steps=12)
    page.mouse.up()
    page.wait_for_function(
        "before => document.querySelector('#selection').textContent !== before", arg=before
    )
    return page.text_content("#selection")


def wait_saved(page: Any) -> int:
    page.wait_for_function("() => !window.studio.dirty && /^saved/.test(document.querySelector('#save-status').textContent)")
    return int(page.evaluate("window.studio.revision"))


COMPARE_JS = """
async (url) => {
  const data = await (await fetch(url)).arrayBuffer();
  const ctx = new OfflineAudioContext(2, 1, 44100);
  const server = await ctx.decodeAudioData(data);
  // Compare below 5 kHz: the browser's resampler and soxr differ near the clips' 8 kHz Nyquist.
  const smooth = (x) => {
    const out = new Float32Array(x.length);
    let acc = 0;
    for (let i = 0; i < x.length; i++) { acc += x[i] - (i >= 8 ? x[i - 8] : 0); out[i] = acc / 8; }
    return out;
  };
  const sl = smooth(server.getChannelData(0)), sr = smooth(server.getChannelData(1));
  const [pl, pr] = (await window.studio.renderOffline(44100)).map(smooth);
  const snr = (a, b, lag) => {
    let sig = 0, err = 0;
    for (let i = 1000; i < Math.min(a.length, b.length) - 1000; i++) {
      sig += b[i] * b[i];
      const d = a[i + lag] - b[i];
      err += d * d;
    }
    return 10 * Math.log10(sig / Math.max(err, 1e-20));
  };
  const lags = [-2, -1, 0, 1, 2];
  const scores = lags.map((lag) => snr(pl, sl, lag) + snr(pr, sr, lag));
  return {
    length: pl.length, server_length: sl.length,
    best_lag: lags[scores.indexOf(Math.max(...scores))],
    snr_db: [snr(pl, sl, 0), snr(pr, sr, 0)].map((v) => Math.round(v * 10) / 10),
  };
}
"""


def test_audition_cut_stitch_and_layer(page: Any, live: Studio) -> None:
    pid, run_id = live.seeded.project_id, live.seeded.run_id
    epoch1, epoch2 = live.seeded.clip_ids[1], live.seeded.clip_ids[2]

    # Projects, project and run pages render and have no script errors.
    page.goto("/projects")
    page.get_by_role("link", name="Mutations").first.wait_for()
    screenshot(page, "01-projects")
    page.goto(f"/projects/{pid}")
    page.get_by_role("heading", name="Training runs").wait_for()
    screenshot(page, "02-project")
    page.goto(f"/runs/{run_id}")
    page.locator("svg.chart path.series").first.wait_for()
    assert page.locator("tr[data-epoch]").count() == 2
    screenshot(page, "03-run")

    # Clip browser: the newest epoch first, first clip selected; Space plays and time advances.
    page.goto(f"/projects/{pid}/clips?run={run_id}")
    first = epoch2[-1]
    page.wait_for_selector(f"#clip-{first}.selected")
    assert page.locator(".group-head").all_text_contents()[0].startswith("Run 1 › epoch 2")
    page.keyboard.press("Space")
    page.wait_for_function("() => document.querySelector('[data-i-time]').textContent > '0:00.30'")
    assert page.locator(f"#clip-{first}.playing").count() == 1
    screenshot(page, "04-clips-playing")

    # Rate 4 and keep with the keyboard; the verdict auto-advances to the next clip.
    page.keyboard.press("4")
    page.wait_for_function(f"() => document.querySelector('#clip-{first} [data-stars]').getAttribute('aria-label') === 'Rating 4 of 5'")
    page.keyboard.press("k")
    second = epoch2[-2]
    page.wait_for_selector(f"#clip-{second}.selected")
    clip = api(live, "GET", f"/clips/{first}")
    assert clip["rating"] == 4 and clip["kept"] is True
    # Keys are ignored while typing in a field.
    page.locator("[data-i-notes]").fill("5 k x")
    page.locator("[data-i-notes]").press("Tab")
    page.wait_for_function("() => document.querySelector('[data-i-status]').textContent === 'saved'")
    assert api(live, "GET", f"/clips/{second}")["notes"] == "5 k x"
    assert api(live, "GET", f"/clips/{second}")["rating"] is None
    # A/B: B goes back to the previous clip at the same relative time.
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("b")
    page.wait_for_selector(f"#clip-{first}.selected")
    page.keyboard.press("?")
    page.wait_for_selector("#help.open")
    screenshot(page, "05-keymap")
    page.keyboard.press("Escape")

    # Clip editor (epoch 1): select a region (snapped to zero crossings), send it to a new song.
    page.goto(f"/clips/{epoch1[0]}")
    page.wait_for_function("() => window.studio && window.studio.ws.getDuration() > 0")
    text = select_region(page, 0.2, 0.45)
    assert text.startswith("in ")
    page.wait_for_timeout(300)  # the snap answer
    # L loops the selection from decoded samples: the playhead stays inside it.
    page.keyboard.press("l")
    page.keyboard.press("Space")
    page.wait_for_function("() => window.studio.player.loop !== null")
    page.wait_for_timeout(1600)  # longer than the ~1 s selection: it has wrapped around
    t, start, end = page.evaluate(
        "() => { const r = window.studio.player.loop; return [window.studio.player.currentTime, r.start, r.end]; }")
    assert start <= t < end and end - start < 1.5
    page.keyboard.press("Space")
    page.select_option("#track-select", "new")
    page.keyboard.press("Enter")
    page.wait_for_selector("#sent-link")
    screenshot(page, "06-clip-editor")
    track_id = int(page.get_attribute("#sent-link", "href").rsplit("/", 1)[1])
    first_item = api(live, "GET", f"/tracks/{track_id}")["edl"]["items"][0]
    assert first_item["clip_id"] == epoch1[0] and 0.7 < first_item["start_s"] < 0.9
    snapped = api(live, "GET", f"/clips/{epoch1[0]}/zero-crossings", params={"t": first_item["start_s"]})
    assert snapped["times"][0] == pytest.approx(first_item["start_s"], abs=1e-6)  # already on a crossing

    # A second section, from another epoch, to the same song.
    page.goto(f"/clips/{epoch2[0]}")
    page.wait_for_function("() => window.studio && window.studio.ws.getDuration() > 0")
    select_region(page, 0.5, 0.8)
    page.wait_for_timeout(300)
    page.select_option("#track-select", str(track_id))
    page.click("#send")
    page.wait_for_selector("#sent-link")

    # Song editor: crossfade the join, repeat the first item, add a clip on lane 2 (hard right),
    # nudge it, save; the API then holds exactly that edit list.
    page.goto(f"/tracks/{track_id}")
    page.wait_for_selector(".block")
    assert page.locator(".block").count() == 2
    page.locator("#items li").nth(1).click()
    page.fill('[data-field="crossfade_ms"]', "50")
    page.press('[data-field="crossfade_ms"]', "Enter")
    page.locator("#items li").nth(0).click()
    page.locator("body").click(position={"x": 5, "y": 880})
    page.keyboard.press("d")
    page.keyboard.press("d")
    assert page.input_value('[data-field="repeat"]') == "3"
    page.click(f'[data-add-clip="{first}"][data-lane="1"]')
    page.wait_for_selector('.lane[data-lane="1"] .block')
    page.locator("body").click(position={"x": 5, "y": 880})
    page.keyboard.press("Alt+ArrowRight")
    page.keyboard.press("Alt+Shift+ArrowRight")
    page.click("#save")
    revision = wait_saved(page)
    screenshot(page, "07-track-editor")

    track = api(live, "GET", f"/tracks/{track_id}")
    assert track["revision"] == revision
    items = track["edl"]["items"]
    assert [(i["clip_id"], i["lane"]) for i in items] == [(epoch1[0], 0), (epoch2[0], 0), (first, 1)]
    assert items[0]["repeat"] == 3
    assert items[1]["crossfade_s"] == pytest.approx(0.05)
    assert items[2]["offset_s"] == pytest.approx(0.011)
    assert items[2]["start_s"] == 0 and items[2]["end_s"] == pytest.approx(4.0)
    assert track["edl"]["lanes"]["1"]["pan"] == 1.0 and track["edl"]["lanes"]["0"]["pan"] == -1.0
    revisions = api(live, "GET", f"/tracks/{track_id}/revisions")["data"]
    assert len(revisions) == revision >= 3

    # The Web Audio preview, rendered offline at 44.1 kHz, agrees with the server's render: same
    # length, aligned to the sample, differing only by the resamplers (16 kHz clips → 44.1 kHz).
    agreement = page.evaluate(COMPARE_JS, track["audio_url"])
    print(f"\npreview vs server render: {agreement}")
    assert agreement["length"] == agreement["server_length"]
    assert agreement["best_lag"] == 0
    assert min(agreement["snr_db"]) > 25  # measured about 30 and 37 dB

    # Reload: the arrangement comes back as saved.
    page.reload()
    page.wait_for_selector('.lane[data-lane="1"] .block')
    assert "×3" in page.locator("#items li").nth(0).text_content()
    assert page.text_content('[data-lane-summary="1"]').startswith("pan R")
    page.locator("#items li").nth(1).click()
    assert page.input_value('[data-field="crossfade_ms"]') == "50"

    # Undo / redo: an edit and its undo; autosave stores both as revisions.
    page.locator("#items li").nth(0).click()
    page.locator("body").click(position={"x": 5, "y": 880})
    page.keyboard.press("Delete")
    assert page.locator("#items li").count() == 2
    page.keyboard.press("Control+z")
    assert page.locator("#items li").count() == 3
    wait_saved(page)
    assert len(api(live, "GET", f"/tracks/{track_id}")["edl"]["items"]) == 3

    # Preview in the browser (Web Audio) and play the server render.
    page.click("#preview")
    page.wait_for_function("() => document.querySelector('#preview').textContent.includes('Stop')")
    page.wait_for_function("() => parseFloat(document.querySelector('#cursor').style.left) > 100")
    page.click("#preview")
    page.click("#render")
    page.wait_for_function("() => document.querySelector('#render-audio').currentTime > 0.2")
    screenshot(page, "08-track-render")
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_two_thousand_clips_load_and_stay_usable(page: Any, live: Studio) -> None:
    pid = live.seeded.project_id
    with live.app.state.session_factory() as session:
        run_id = seed_many(session, live.storage, pid, 2000)
    timings = []
    for _ in range(5):
        t0 = time.perf_counter()
        api(live, "GET", f"/projects/{pid}/clips", params={"limit": 100, "sort": "-rating"})
        timings.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    page.goto(f"/projects/{pid}/clips?run={run_id}")
    page.wait_for_selector(".clip.selected")
    load_s = time.perf_counter() - t0
    assert page.locator(".clip").count() == 60
    # Scrolling to the end of the list fetches the next pages through the cursor.
    for _ in range(3):
        page.locator(".loadmore").last.scroll_into_view_if_needed()
        page.wait_for_timeout(400)
    assert page.locator(".clip").count() >= 180
    page.keyboard.press("ArrowDown")
    page.keyboard.press("3")
    selected = int(page.get_attribute(".clip.selected", "data-clip-id"))
    page.wait_for_function(f"() => document.querySelector('#clip-{selected} [data-stars]').getAttribute('aria-label') === 'Rating 3 of 5'")
    screenshot(page, "09-clips-2000")
    print(f"\n2,000 clips: clip list API {min(timings) * 1000:.0f}-{max(timings) * 1000:.0f} ms "
          f"(100 per page); browser page ready in {load_s * 1000:.0f} ms")
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_run_page_follows_the_job_live(page: Any, live: Studio) -> None:
    """Progress arrives over SSE; a new checkpoint appears in the chart and the epoch table."""
    from app.catalog import Checkpoint, Job, Run

    pid = live.seeded.project_id
    factory = live.app.state.session_factory
    with factory() as s:
        job = Job(kind="run", task="run-training", queue="gpu", status="running", progress=0.1,
                  message="epoch 1/3", project_id=pid)
        s.add(job)
        s.flush()
        run = Run(project_id=pid, config=tiny_plan(epochs=3), status="running", job_id=job.id)
        s.add(run)
        s.flush()
        s.add(Checkpoint(run_id=run.id, epoch=1, step=10, path="a", train_nll_bits=7.0, valid_nll_bits=7.2))
        s.commit()
        run_id, job_id = run.id, job.id
    page.goto(f"/runs/{run_id}")
    page.wait_for_selector("tr[data-epoch='1']")
    with factory() as s:
        s.add(Checkpoint(run_id=run_id, epoch=2, step=20, path="b", train_nll_bits=6.1, valid_nll_bits=6.4))
        r = s.get(Run, run_id)
        r.current_epoch = 2
        j = s.get(Job, job_id)
        j.progress, j.message = 0.66, "epoch 2/3"
        s.commit()
    page.wait_for_function("() => document.querySelector('[data-job-message]').textContent === 'epoch 2/3'")
    page.wait_for_selector("tr[data-epoch='2']")
    assert page.locator("svg.chart circle").count() == 4
    width = page.get_attribute("[data-progress]", "style")
    assert "66" in width
    screenshot(page, "10-run-live")
    with factory() as s:
        j = s.get(Job, job_id)
        j.status, j.progress, j.message = "succeeded", 1.0, "done"
        s.get(Run, run_id).status = "succeeded"
        s.commit()
    page.wait_for_selector("#run-live[data-status='succeeded']")
    page.wait_for_selector("#cancel-run", state="hidden")
    assert not page.errors, page.errors  # type: ignore[attr-defined]
