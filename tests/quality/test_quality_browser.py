"""The quality studio in headless Chromium against a real uvicorn server: badges with reasons
in the clip browser, the flag filter and best-first sort, the run page's quality plot, and the
clip editor's A/B against the album (the source track plays at the matching moment)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from app.migrate import upgrade
from app.queue import RecordingQueue
from tests.quality.seed import QualitySeed, seed_quality, studio_settings
from tests.web.conftest import Studio, chromium, live, page, screenshot  # noqa: F401 - fixtures
from tests.web.seed import seed_studio

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


@pytest.fixture
def studio(tmp_path: Path) -> Studio:
    settings = studio_settings(tmp_path)
    upgrade(settings)
    app = create_app(settings, queue=RecordingQueue())
    with app.state.session_factory() as session:
        seeded = seed_studio(session, app.state.storage)
        app.state.quality = seed_quality(session, app.state.storage, settings)
    return Studio(app, seeded)


def seed_of(live: Studio) -> QualitySeed:  # noqa: F811
    return live.app.state.quality  # type: ignore[no-any-return]


def test_badges_filters_and_best_first(page: Any, live: Studio) -> None:  # noqa: F811
    q = seed_of(live)
    page.goto(f"/projects/{q.project_id}/clips?run={q.run_id}")
    page.wait_for_selector(f"#clip-{q.clips['copy']} [data-flag='copied']")
    copied = page.locator(f"#clip-{q.clips['copy']} [data-flag='copied']")
    assert "follows 0" in copied.get_attribute("title")
    assert page.locator(f"#clip-{q.clips['loop']} [data-flag='loop']").count() == 1
    assert page.locator(f"#clip-{q.clips['noise0']} [data-flag='noise']").count() == 1
    assert page.locator(f"#clip-{q.clips['music0']} [data-quality]").count() == 1
    # Selecting a clip lists its flags' reasons in the inspector.
    page.locator(f"#clip-{q.clips['loop']} .meta").click()
    page.wait_for_selector("[data-i-flags] li[data-flag='loop']")
    assert "repeats a 0.50 s segment" in page.text_content("[data-i-flags]")
    screenshot(page, "20-clips-flags")

    # The flag filter: only clips with no hard flag, best first.
    page.select_option("select[name=flag]", "clean")
    page.select_option("select[name=sort]", "-quality")
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url("**flag=clean**")
    ids = [int(x) for x in page.locator(".clip").evaluate_all("rows => rows.map(r => r.dataset.clipId)")]
    hidden = {q.clips[n] for n in ("copy", "copy2", "noise0", "noise1", "noise2")}
    assert ids and not hidden & set(ids)
    scores = page.locator(".clip [data-quality]").all_text_contents()
    values = [int(v.lstrip("Q")) for v in scores]
    assert values == sorted(values, reverse=True)
    # Within one epoch the default order is best first.
    page.goto(f"/projects/{q.project_id}/clips?run={q.run_id}&epoch=5")
    assert page.locator("select[name=sort]").input_value() == "-quality"
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_run_page_plots_quality_per_epoch(page: Any, live: Studio) -> None:  # noqa: F811
    q = seed_of(live)
    page.goto(f"/runs/{q.run_id}")
    chart = page.locator("svg[data-quality-chart]")
    chart.wait_for()
    assert chart.locator("path.series").count() == 4  # NLL, style, flagged, copied
    assert chart.locator("[data-mark='m-best']").count() == 1
    assert chart.locator("[data-mark='m-copied']").count() == 1
    legend = page.locator("section[aria-labelledby=quality-title] .legend").text_content()
    assert "copies from epoch 6" in legend and "closest to the album without copies: epoch 4" in legend
    rows = page.locator("tr[data-epoch] [data-style]").all_text_contents()
    assert len(rows) == 6 and all(r != "–" for r in rows)
    styles = [float(r) for r in rows]
    assert styles[0] > styles[3]  # noise is further from the album than music
    # The README's picture (docs/quality-plot.png) is this screenshot.
    section = page.locator("section[aria-labelledby=quality-title]")
    section.screenshot(path=str(screenshot(page, "21-run-quality").with_name("21-quality-plot.png")))
    assert page.errors == []  # type: ignore[attr-defined]


def test_the_clip_editor_plays_the_matched_source_moment_a_b(page: Any, live: Studio) -> None:  # noqa: F811
    q = seed_of(live)
    page.goto(f"/clips/{q.clips['copy']}")
    page.wait_for_function("() => window.studio && window.studio.ws.getDuration() > 0")
    text = page.text_content("[data-source-text]")
    assert "Album Track" in text and "copied" in text
    source = page.evaluate("window.studio.ab.source")
    assert source["audio_url"].startswith("/api/v1/sources/")

    page.keyboard.press("Space")  # the clip plays
    page.wait_for_function("() => window.studio.player.currentTime > 0.3")
    page.keyboard.press("b")  # ... and B switches to the album at the matching moment
    page.wait_for_function("() => window.studio.ab.onSource && !window.studio.ab.audio.paused")
    page.wait_for_function(
        "s => window.studio.ab.audio.currentTime > s.source_offset_s - s.clip_offset_s + 0.3", arg=source
    )
    assert page.locator("#ab-source[aria-pressed=true]").count() == 1
    assert page.evaluate("window.studio.player.playing") is False
    screenshot(page, "22-clip-source-ab")
    page.keyboard.press("b")  # back to the clip, still playing, at the same moment
    page.wait_for_function("() => !window.studio.ab.onSource && window.studio.player.playing")
    page.locator("#play-source").click()
    page.wait_for_function(
        "s => window.studio.ab.onSource && window.studio.ab.audio.currentTime >= s.source_offset_s", arg=source
    )
    assert page.errors == []  # type: ignore[attr-defined]
