"""The longest clips a run makes (600 s) in headless Chromium: the clip editor selects and loops
sections of one (a short loop from an excerpt, a long one streamed chunk by chunk, wrapping at
its end), and the song editor previews sections of it, rendered offline to match the server's
render. Neither decodes the whole clip: the pages' chunk stores say how much they decoded.
Skips only when /usr/bin/chromium is absent."""

from __future__ import annotations

from typing import Any

import httpx
import numpy as np
import pytest

from app.catalog import Checkpoint, Clip
from tests.web.conftest import Studio, screenshot
from tests.web.seed import SR, store_audio
from tests.web.test_studio_browser import COMPARE_JS, select_region

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
LONG_S = 600.0


def long_signal(seconds: float, seed: int = 5) -> np.ndarray:
    """Something that never repeats: a slow chirp, a pulse whose pitch steps every second, and a
    little noise, so a chunk played from the wrong place would not match the server's render."""
    n = int(seconds * SR)
    t = np.arange(n) / SR
    rng = np.random.default_rng(seed)
    chirp = 0.2 * np.sin(2 * np.pi * (110.0 * t + 0.4 * t * t / seconds * 200.0))
    steps = 220.0 * 2 ** (rng.integers(0, 24, int(seconds) + 1) / 12)
    pulse = 0.2 * np.sin(2 * np.pi * np.cumsum(steps[(t).astype(int)]) / SR) * (0.5 + 0.5 * np.cos(2 * np.pi * 2 * t))
    return np.clip(chirp + pulse + 0.02 * rng.standard_normal(n), -1, 1).astype(np.float32)


def api(studio: Studio, method: str, path: str, **kw: Any) -> Any:
    r = httpx.request(method, studio.base_url + "/api/v1" + path, timeout=60, **kw)
    r.raise_for_status()
    return r.json() if r.content else None


@pytest.fixture
def long_clip(live: Studio) -> int:
    with live.app.state.session_factory() as session:
        ck = session.query(Checkpoint).filter_by(run_id=live.seeded.run_id, epoch=2).one()
        clip = Clip(checkpoint_id=ck.id, project_id=live.seeded.project_id, run_id=live.seeded.run_id,
                    epoch=2, index=99, seed=99, temperature=1.0, sample_rate=SR, duration_s=LONG_S,
                    **store_audio(live.storage, live.seeded.project_id, long_signal(LONG_S)))
        session.add(clip)
        session.commit()
        return int(clip.id)


def decoded(page: Any, store: str) -> float:
    return float(page.evaluate(f"() => {store}.stats.decodedSeconds"))


def test_loops_of_a_600_s_clip_decode_only_what_they_play(page: Any, live: Studio, long_clip: int) -> None:
    page.goto(f"/clips/{long_clip}")
    page.wait_for_function("() => window.studio && window.studio.ws.getDuration() > 599")
    # A few seconds near the end, dragged on the waveform: L loops it from an excerpt.
    text = select_region(page, 0.905, 0.909)
    assert text.startswith("in 54")
    page.wait_for_timeout(400)  # the zero-crossing snap
    page.keyboard.press("l")
    page.keyboard.press("Space")
    page.wait_for_function("() => window.studio.player.loop !== null")
    page.wait_for_timeout(2500)  # longer than the section: it has wrapped around
    t, start, end, streamed = page.evaluate(
        "() => { const p = window.studio.player, r = p.loop; return [p.currentTime, r.start, r.end, r.streamed]; }")
    assert 540 < start <= t < end < 555 and end - start < 8 and not streamed
    assert decoded(page, "window.studio.player.chunks") < 12  # an excerpt around the loop
    screenshot(page, "long-clip-loop")

    # A 45 s section (longer than a chunk) streams, wraps at its end and keeps decoding little.
    page.evaluate("""() => {
      const { regions } = window.studio;
      regions.getRegions().filter((r) => !r.id.startsWith('marker-')).forEach((r) => r.remove());
      regions.addRegion({ start: 100, end: 145, color: 'rgba(79, 209, 197, 0.22)' });
    }""")
    page.wait_for_timeout(400)
    page.wait_for_function("() => window.studio.player.loop && window.studio.player.loop.streamed")
    loop = page.evaluate("() => [window.studio.player.loop.start, window.studio.player.loop.end]")
    assert loop[0] == pytest.approx(100, abs=0.01) and loop[1] == pytest.approx(145, abs=0.01)
    page.evaluate("() => window.studio.player.seek(window.studio.player.loop.end - 0.5)")
    page.wait_for_timeout(1500)
    t = page.evaluate("() => window.studio.player.currentTime")
    assert loop[0] <= t < loop[0] + 1.5, t  # past the end it came back to the start
    page.wait_for_function("() => window.studio.player.loop.stream.scheduled > 0")
    assert decoded(page, "window.studio.player.chunks") < 130  # a few 22 s chunks, not 600 s
    page.keyboard.press("Space")
    assert page.evaluate("() => window.studio.player.playing") is False
    assert not page.errors, page.errors  # type: ignore[attr-defined]


def test_a_song_from_a_600_s_clip_previews_and_matches_the_render(
    page: Any, live: Studio, long_clip: int
) -> None:
    short = live.seeded.clip_ids[1][0]
    edl = {"items": [
        {"clip_id": long_clip, "start_s": 18.5, "end_s": 42.25},  # crosses two chunk boundaries
        {"clip_id": short, "start_s": 0.5, "end_s": 3.0},
        {"clip_id": long_clip, "start_s": 590.0, "end_s": 596.0, "repeat": 2},
    ]}
    track = api(live, "POST", f"/projects/{live.seeded.project_id}/tracks", json={"name": "long", "edl": edl})
    page.goto(f"/tracks/{track['id']}")
    page.wait_for_selector(".block")
    page.click("#preview")
    page.wait_for_function("() => document.querySelector('#preview').textContent.includes('Stop')")
    page.wait_for_function("() => window.studio.preview.position > 1.0")
    assert page.evaluate("() => window.studio.preview.stream.scheduled") > 0
    assert decoded(page, "window.studio.preview.chunks") < 120  # chunks of 22 s, not 600 s
    page.click("#preview")
    screenshot(page, "long-clip-song")

    # Offline, the same schedule against the server's render: same length, aligned to the sample.
    agreement = page.evaluate(COMPARE_JS, track["audio_url"])
    print(f"\nlong-clip preview vs server render: {agreement}")
    assert agreement["length"] == agreement["server_length"]
    assert agreement["best_lag"] == 0
    assert min(agreement["snr_db"]) > 25
    # The offline render decoded chunks around its sections, not the 600 s clip.
    assert decoded(page, "window.studio.preview.offlineChunks") < 120
    # And the chunks join where they should: the same song with the long clip decoded whole
    # (told it is short) gives the same samples, across the chunk boundaries at 20 s and 40 s.
    diff = page.evaluate("""async () => {
      const clips = JSON.parse(document.getElementById('page-data').textContent).clips;
      const whole = Object.fromEntries(Object.entries(clips).map(([k, c]) => [k, { ...c, duration_s: Math.min(c.duration_s, 30) }]));
      const edl = window.studio.doc.edl;
      const a = await window.studio.preview.renderOffline(edl, clips, 44100);
      const b = await window.studio.preview.renderOffline(edl, whole, 44100);
      let worst = 0, energy = 0;
      for (let c = 0; c < 2; c++) for (let i = 0; i < a[c].length; i++) {
        worst = Math.max(worst, Math.abs(a[c][i] - b[c][i])); energy = Math.max(energy, Math.abs(b[c][i]));
      }
      return [worst, energy, a[0].length, b[0].length];
    }""")
    print(f"chunked vs whole decode: max |difference| {diff[0]:.2e} (peak {diff[1]:.3f})")
    assert diff[2] == diff[3] and diff[1] > 0.1
    assert diff[0] < 1e-5  # float rounding only (measured 6e-8); a misplaced chunk: ~0.1
    assert not page.errors, page.errors  # type: ignore[attr-defined]
