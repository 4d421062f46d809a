"""Listening live, measured (issue 10), with `tiny` and the small shape (dim 256 x 2 GRU), on
this machine's CPU:

- the radio: `POST /runs/{id}/radio` until the first audio byte of its stream;
- live clips: "play" on a clip that is being generated until its first sound. Over HTTP: the
  clip is asked for (`POST .../generate`), the stream is opened the moment the clip is listed
  as live (the earliest a curator can press play), and the time is from opening it to the first
  sample; also from the POST. In Chromium (when /usr/bin/chromium is there): the clip browser's
  play button on the live row, as soon as the row shows, until the <audio> element's `playing`
  event of the page's player (the first sample scheduled on Web Audio, plus the output latency),
  with the browser's audio output already started by an earlier sound (warm).

An embedded stack (SQLite, filesystem broker, one real worker process, one generate thread),
uvicorn on loopback, one run per shape trained for one short epoch. Per shape and kind: one cold
start (the worker's first of that checkpoint), then `WARM` warm ones; each radio or clip job is
stopped and its worker freed before the next. Also the radio generator's realtime factor after a
few seconds on air. Prints one JSON object. Usage: PYTHONPATH=. .venv/bin/python
benchmarks/live.py [radio|clips] (default: both).
"""

from __future__ import annotations

import http.client
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from app.main import create_app
from tests.web.conftest import LiveServer
from tests.worker.conftest import _running, make_stack
from tests.worker.harness import API, new_project, start_run, tiny_run, wait_for, wait_run

WARM = 3
SHAPES = {
    "tiny": {},  # the preset: dim 128, 1 GRU layer
    "small": {"dim": 256, "n_rnn": 2},
}


def first_byte(port: int, run_id: int) -> tuple[int, float]:
    """(radio id, seconds from the POST until the first audio byte arrived)."""
    t0 = time.perf_counter()
    r = httpx.post(f"http://127.0.0.1:{port}{API}/runs/{run_id}/radio", json={}, timeout=60)
    assert r.status_code == 202, r.text
    radio_id = int(r.json()["id"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", f"{API}/radio/{radio_id}/stream")
    response = conn.getresponse()
    assert response.status == 200, response.read()
    assert response.read1(1)
    took = time.perf_counter() - t0
    conn.close()
    return radio_id, took


def state(base: str, radio_id: int) -> dict[str, Any]:
    return dict(httpx.get(f"{base}{API}/radio/{radio_id}", timeout=30).json())


def stop(base: str, radio_id: int) -> None:
    httpx.delete(f"{base}{API}/radio/{radio_id}", timeout=30)
    wait_for(lambda: state(base, radio_id)["status"] == "cancelled", 60, what="stopped")


LIVE_CLIP_S = 20.0
CHROMIUM = Path("/usr/bin/chromium")
WARM_UP_SOUND = """async () => {
  // A 0.3 s silent WAV: starts the browser's audio output, as any earlier sound would have.
  const n = 4800, buf = new ArrayBuffer(44 + 2 * n), v = new DataView(buf);
  const put = (o, s) => [...s].forEach((c, i) => v.setUint8(o + i, c.charCodeAt(0)));
  put(0, "RIFF"); v.setUint32(4, 36 + 2 * n, true); put(8, "WAVEfmt "); v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); v.setUint16(22, 1, true); v.setUint32(24, 16000, true);
  v.setUint32(28, 32000, true); v.setUint16(32, 2, true); v.setUint16(34, 16, true);
  put(36, "data"); v.setUint32(40, 2 * n, true);
  const a = new Audio(URL.createObjectURL(new Blob([buf], { type: "audio/wav" })));
  await a.play();
  await new Promise((r) => a.addEventListener("ended", r, { once: true }));
}"""


def generate_live(base: str, checkpoint_id: int) -> tuple[int, float]:
    """(job id, perf_counter of the POST) for one clip of LIVE_CLIP_S."""
    t0 = time.perf_counter()
    r = httpx.post(f"{base}{API}/checkpoints/{checkpoint_id}/generate",
                   json={"n": 1, "seconds": LIVE_CLIP_S}, timeout=60)
    assert r.status_code == 202, r.text
    return int(r.json()["id"]), t0


def wait_live(base: str, project_id: int, job_id: int) -> dict[str, Any]:
    def found() -> dict[str, Any] | None:
        data = httpx.get(f"{base}{API}/projects/{project_id}/live-clips", timeout=30).json()
        mine = [c for c in data["data"] if c["job_id"] == job_id]
        return mine[0] if mine else None

    return wait_for(found, 120, interval=0.01, what="a live clip")


def cancel(base: str, job_id: int) -> None:
    httpx.post(f"{base}{API}/jobs/{job_id}/cancel", timeout=30)
    wait_for(lambda: httpx.get(f"{base}{API}/jobs/{job_id}", timeout=30).json()["status"]
             in ("cancelled", "succeeded"), 60, what="the clip job to end")


def live_clip_http(port: int, project_id: int, checkpoint_id: int) -> dict[str, float]:
    base = f"http://127.0.0.1:{port}"
    job_id, t_post = generate_live(base, checkpoint_id)
    clip = wait_live(base, project_id, job_id)
    t_play = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", clip["stream_url"])
    response = conn.getresponse()
    assert response.status == 200, response.read()
    got = b""
    while len(got) <= 44:  # the header comes at once; the first sample is the first sound
        piece = response.read1(4096)
        assert piece, "the stream ended"
        got += piece
    t_sound = time.perf_counter()
    conn.close()
    cancel(base, job_id)
    return {"play_to_first_sample_s": t_sound - t_play, "post_to_first_sample_s": t_sound - t_post,
            "post_to_listed_s": t_play - t_post}


def live_clip_chromium(page: Any, base: str, project_id: int, run_id: int,
                       checkpoint_id: int) -> float:
    """Seconds from clicking play on the live row (as soon as it shows) to `playing`."""
    page.goto(f"{base}/projects/{project_id}/clips?run={run_id}")
    page.evaluate(WARM_UP_SOUND)
    job_id, _ = generate_live(base, checkpoint_id)
    page.locator(".live-clips .clip.live [data-live-play]").click(timeout=120_000)
    page.wait_for_function("() => document.getElementById('live-player').dataset.firstSoundMs",
                           timeout=60_000)
    ms = float(page.get_attribute("#live-player", "data-first-sound-ms") or "nan")
    page.click(".live-clips .clip.live [data-live-play]")  # pause
    cancel(base, job_id)
    return ms / 1000.0


def summary(times: list[float]) -> dict[str, Any]:
    return {"cold_s": round(times[0], 3), "warm_s": [round(t, 3) for t in times[1:]],
            "warm_median_s": round(statistics.median(times[1:]), 3)}


def measure_live_clips(web: LiveServer, project_id: int, run_id: int) -> dict[str, Any]:
    checkpoints = httpx.get(f"{web.url}{API}/runs/{run_id}/checkpoints", timeout=30).json()
    checkpoint_id = int(checkpoints["data"][-1]["id"])
    runs = [live_clip_http(web.port, project_id, checkpoint_id) for _ in range(1 + WARM)]
    out: dict[str, Any] = {
        name: summary([r[name] for r in runs])
        for name in ("play_to_first_sample_s", "post_to_first_sample_s", "post_to_listed_s")
    }
    if CHROMIUM.exists():
        from playwright.sync_api import sync_playwright

        from tests.web.conftest import CHROMIUM_ARGS

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                        args=CHROMIUM_ARGS)
            page = browser.new_page()
            times = [live_clip_chromium(page, web.url, project_id, run_id, checkpoint_id)
                     for _ in range(1 + WARM)]
            browser.close()
        out["chromium_play_to_playing_s"] = summary(times)
    return out


def measure_radio(web: LiveServer, run_id: int) -> dict[str, Any]:
    times = []
    rtf = None
    for i in range(1 + WARM):
        radio_id, took = first_byte(web.port, run_id)
        times.append(took)
        if i == 0:
            time.sleep(6.0)  # let it measure its realtime factor
            rtf = state(web.url, radio_id)["realtime_factor"]
        stop(web.url, radio_id)
    return {
        "cold_first_byte_s": round(times[0], 3),
        "warm_first_byte_s": [round(t, 3) for t in times[1:]],
        "warm_median_s": round(statistics.median(times[1:]), 3),
        "realtime_factor": rtf,
    }


def main() -> None:
    kinds = set(sys.argv[1:]) or {"radio", "clips"}
    out: dict[str, Any] = {"machine": platform.processor() or platform.machine(), "shapes": {},
                           "load_average_before": list(os.getloadavg())}
    with tempfile.TemporaryDirectory() as tmp:
        settings, env = make_stack(Path(tmp))
        for stack in _running(settings, env, Path(tmp)):
            with LiveServer(create_app(settings)) as web:
                project_id = new_project(stack.client, "Live")
                for name, model in SHAPES.items():
                    config = tiny_run(1, clips=0)
                    config["model"] = {**model}  # no dim override for tiny: the preset itself
                    run = start_run(stack.client, project_id, config)
                    wait_run(stack.client, run["id"], ("succeeded",), timeout=600)
                    shape: dict[str, Any] = {"model": model or "tiny preset"}
                    if "radio" in kinds:
                        shape.update(measure_radio(web, run["id"]))
                    if "clips" in kinds:
                        shape["live_clip"] = measure_live_clips(web, project_id, run["id"])
                    out["shapes"][name] = shape
            # The worker's own account: runner start -> first segment, and the model load.
            out["worker_log"] = [
                line.split("radio ", 1)[1] for line in stack.worker.log().splitlines()
                if "first segment" in line
            ]
    out["load_average_after"] = list(os.getloadavg())
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
