"""The radio, measured (issue 10): `POST /runs/{id}/radio` until the first audio byte of its
stream, with `tiny` and the small shape (dim 256 x 2 GRU), on this machine's CPU.

An embedded stack (SQLite, filesystem broker, one real worker process, one generate thread),
uvicorn on loopback, one run per shape trained for one short epoch. Per shape: one cold start
(the worker's first radio of that checkpoint), then `WARM` warm ones; each radio is stopped and
its worker freed before the next. Also the generator's realtime factor after a few seconds on
air. Prints one JSON object. Usage: PYTHONPATH=. .venv/bin/python benchmarks/live.py
"""

from __future__ import annotations

import http.client
import json
import platform
import statistics
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


def main() -> None:
    out: dict[str, Any] = {"machine": platform.processor() or platform.machine(), "shapes": {}}
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
                    times = []
                    rtf = None
                    for i in range(1 + WARM):
                        radio_id, took = first_byte(web.port, run["id"])
                        times.append(took)
                        if i == 0:
                            time.sleep(6.0)  # let it measure its realtime factor
                            rtf = state(web.url, radio_id)["realtime_factor"]
                        stop(web.url, radio_id)
                    out["shapes"][name] = {
                        "model": model or "tiny preset",
                        "cold_first_byte_s": round(times[0], 3),
                        "warm_first_byte_s": [round(t, 3) for t in times[1:]],
                        "warm_median_s": round(statistics.median(times[1:]), 3),
                        "realtime_factor": rtf,
                    }
            # The worker's own account: runner start -> first segment, and the model load.
            out["worker_log"] = [
                line.split("radio ", 1)[1] for line in stack.worker.log().splitlines()
                if "first segment" in line
            ]
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
