"""Long clips in the browser, measured (issue 14): a seeded studio with one 600 s clip behind
uvicorn, headless Chromium (Debian's /usr/bin/chromium), and the times that matter to a curator.
Prints one JSON object. Usage: PYTHONPATH=. .venv/bin/python benchmarks/long_clips.py

- `editor_ready_s`: the clip editor of the 600 s clip, from navigation until its waveform is up;
- `loop_start_s` / `loop_decoded_s`: L + Space on a 3 s selection near the end until the loop
  plays, and how much audio the page decoded for it;
- `stream_start_s` / `stream_decoded_s`: the same for a 45 s selection (streamed by chunks);
- `whole_decode_s` / `whole_decoded_mb`: what decoding the whole clip would cost instead
  (fetch + decodeAudioData of the 600 s WAV, and the size of the decoded buffer);
- `preview_start_s`: the song editor's Preview of a song with two sections of the clip.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from app.catalog import Checkpoint, Clip
from tests.web.conftest import CHROMIUM, CHROMIUM_ARGS, LiveServer, make_studio
from tests.web.seed import SR, store_audio
from tests.web.test_long_clips_browser import long_signal

SECONDS = 600.0
DECODED = "() => window.studio.player.chunks?.stats.decodedSeconds || 0"
SELECT = """([start, end]) => {
  const { regions, player } = window.studio;
  player.pause();
  regions.getRegions().forEach((r) => r.remove());
  regions.addRegion({ start, end });
}"""
LOOP = """([start, end]) => window.studio.player.setLoop({ start, end })
  .then(() => window.studio.player.play())"""
WHOLE = """async (url) => {
  const t0 = performance.now();
  const data = await (await fetch(url)).arrayBuffer();
  const buffer = await new AudioContext().decodeAudioData(data);
  return [(performance.now() - t0) / 1000, buffer.length * buffer.numberOfChannels * 4 / 1e6];
}"""


def seed_long_clip(studio: Any) -> int:
    with studio.app.state.session_factory() as session:
        ck = session.query(Checkpoint).filter_by(run_id=studio.seeded.run_id, epoch=2).one()
        audio = store_audio(studio.storage, studio.seeded.project_id, long_signal(SECONDS))
        clip = Clip(checkpoint_id=ck.id, project_id=studio.seeded.project_id,
                    run_id=studio.seeded.run_id, epoch=2, index=99, seed=99, temperature=1.0,
                    sample_rate=SR, duration_s=SECONDS, **audio)
        session.add(clip)
        session.commit()
        return int(clip.id)


def measure(page: Any, base_url: str, project_id: int, clip_id: int) -> dict[str, float]:
    out: dict[str, float] = {"clip_s": SECONDS}
    t = time.perf_counter()
    page.goto(f"/clips/{clip_id}")
    page.wait_for_function("() => window.studio && window.studio.ws.getDuration() > 599")
    out["editor_ready_s"] = time.perf_counter() - t
    for name, span in {"loop": (550.0, 553.0), "stream": (100.0, 145.0)}.items():
        page.evaluate(SELECT, list(span))
        page.wait_for_timeout(500)
        before = page.evaluate(DECODED)
        t = time.perf_counter()
        page.evaluate(LOOP, list(span))
        page.wait_for_function("() => window.studio.player.loop !== null")
        out[f"{name}_start_s"] = time.perf_counter() - t
        out[f"{name}_decoded_s"] = page.evaluate(DECODED) - before
    page.evaluate("() => window.studio.player.pause()")
    out["whole_decode_s"], out["whole_decoded_mb"] = page.evaluate(
        WHOLE, f"/api/v1/clips/{clip_id}/audio"
    )
    edl = {"items": [{"clip_id": clip_id, "start_s": 18.5, "end_s": 42.25},
                     {"clip_id": clip_id, "start_s": 590.0, "end_s": 596.0}]}
    track = httpx.post(f"{base_url}/api/v1/projects/{project_id}/tracks",
                       json={"name": "long", "edl": edl}, timeout=60).json()
    page.goto(f"/tracks/{track['id']}")
    page.wait_for_selector(".block")
    t = time.perf_counter()
    page.click("#preview")
    page.wait_for_function("() => window.studio.preview.playing")
    out["preview_start_s"] = time.perf_counter() - t
    return out


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        studio = make_studio(Path(tmp))
        clip_id = seed_long_clip(studio)
        with LiveServer(studio.app) as server, sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            context = browser.new_context(base_url=server.url,
                                          viewport={"width": 1440, "height": 900})
            page = context.new_page()
            page.set_default_timeout(120_000)
            out = measure(page, server.url, studio.seeded.project_id, clip_id)
            browser.close()
    print(json.dumps({k: round(v, 3) for k, v in out.items()}))


if __name__ == "__main__":
    main()
