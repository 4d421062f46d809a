"""Scenarios run against each stack (embedded and distributed), with a real worker process."""

from __future__ import annotations

import io
import time
from datetime import datetime
from typing import Any

import soundfile as sf

from tests.worker.conftest import Stack
from tests.worker.harness import (
    API,
    clips_of,
    get,
    new_project,
    run_state,
    start_run,
    tiny_run,
    wait_for,
)

TERMINAL = ("succeeded", "failed", "cancelled")


def check_pipeline(stack: Stack) -> None:
    """Upload an album, train a tiny run, watch clips arrive epoch by epoch, use a clip."""
    c = stack.client
    pid = new_project(c)
    run = start_run(c, pid, tiny_run(3, segments=12))
    rid = run["id"]

    seen: list[tuple[str, int]] = []  # (run status, clips in the catalog) at each poll
    deadline = time.monotonic() + 120
    while True:
        state = run_state(c, rid)
        seen.append((state["status"], len(clips_of(c, pid, rid))))
        if state["status"] in TERMINAL or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert state["status"] == "succeeded", (state["error"], stack.worker.log()[-3000:])
    clips = clips_of(c, pid, rid)
    assert sorted((x["epoch"], x["index"]) for x in clips) == [(e, i) for e in (1, 2, 3) for i in (0, 1)]
    # Clips appeared while the run was still training, not all at the end...
    assert any(status == "running" and 0 < n < 6 for status, n in seen), seen
    # ...and each epoch's clips were in the catalog before the next epoch's checkpoint.
    checkpoints = get(c, f"/runs/{rid}/checkpoints")["data"]
    assert [k["epoch"] for k in checkpoints] == [1, 2, 3]
    for k in checkpoints[1:]:
        earlier = [x for x in clips if x["epoch"] == k["epoch"] - 1]
        assert max(_time(x["created_at"]) for x in earlier) < _time(k["created_at"])
    assert [m["epoch"] for m in state["metrics"]] == [1, 2, 3] and state["current_epoch"] == 3
    assert all(m["valid_nll_bits"] > 0 for m in state["metrics"])
    job = get(c, f"/jobs/{run['job_id']}")
    assert (job["status"], job["progress"], job["attempt"], job["error"]) == ("succeeded", 1.0, 1, None)
    assert job["result"]["clips"] == 6

    clip = clips[0]
    assert clip["duration_s"] == 0.5 and clip["sample_rate"] == 16000
    assert clip["peak_dbfs"] is not None and 0 <= clip["silence_ratio"] <= 1
    head = c.get(clip["audio_url"], headers={"Range": "bytes=0-99"})
    assert head.status_code == 206 and len(head.content) == 100 and head.content[:4] == b"RIFF"
    whole = c.get(clip["audio_url"])
    assert whole.status_code == 200
    assert head.headers["content-range"] == f"bytes 0-99/{len(whole.content)}"
    audio, sr = sf.read(io.BytesIO(whole.content))
    assert (sr, len(audio)) == (16000, 8000)
    peaks = c.get(clip["peaks_url"]).json()
    assert peaks["duration"] == 0.5 and len(peaks["peaks"][0]) == peaks["length"] > 0

    patched = c.patch(f"{API}/clips/{clip['id']}", json={"rating": 4, "kept": True})
    assert patched.status_code == 200 and patched.json()["rating"] == 4
    rated = get(c, f"/projects/{pid}/clips?min_rating=4")["data"]
    assert [x["id"] for x in rated] == [clip["id"]]

    check_generate_more(stack, pid, rid, checkpoints[1])


def check_generate_more(stack: Stack, pid: int, rid: int, checkpoint: dict[str, Any]) -> None:
    """Two generate requests on one checkpoint get disjoint index ranges after the run's own."""
    c = stack.client
    jobs = []
    for n, seed in ((3, 11), (2, 12)):
        r = c.post(
            f"{API}/checkpoints/{checkpoint['id']}/generate",
            json={"n": n, "seconds": 0.25, "seed": seed, "temperature": 0.9},
        )
        assert r.status_code == 202, r.text
        jobs.append(r.json())
    done = [
        wait_for(
            lambda j=j: (s := get(c, f"/jobs/{j['id']}"))["status"] in TERMINAL and s,
            60, interval=0.2, what="generate job",
        )
        for j in jobs
    ]
    assert [d["status"] for d in done] == ["succeeded", "succeeded"], [d["error"] for d in done]
    epoch_clips = [x for x in clips_of(c, pid, rid) if x["epoch"] == checkpoint["epoch"]]
    assert sorted(x["index"] for x in epoch_clips) == list(range(7))
    ranges = sorted((d["result"]["first_index"], len(d["result"]["clip_ids"])) for d in done)
    assert ranges == [(2, 3), (5, 2)] or ranges == [(2, 2), (4, 3)]
    extra = [x for x in epoch_clips if x["index"] >= 2]
    assert {x["duration_s"] for x in extra} == {0.25} and {x["temperature"] for x in extra} == {0.9}


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)
