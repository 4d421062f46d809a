"""The pipeline end to end on the embedded stack (SQLite + filesystem broker + a real worker):
clips streaming in, cancel, and a run that cannot succeed. The tests share one worker."""

from __future__ import annotations

import time

import numpy as np
from sqlalchemy import select

from app.catalog import SourceTrack
from app.db import make_engine, session_factory
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
    wait_run,
)
from tests.worker.scenarios import check_pipeline


def test_clips_stream_into_the_catalog_epoch_by_epoch(embedded: Stack) -> None:
    check_pipeline(embedded)


def test_cancel_twice_stops_within_a_step_and_keeps_the_clips(embedded: Stack) -> None:
    c = embedded.client
    pid = new_project(c, "Cancelled")
    run = start_run(c, pid, tiny_run(200, segments=40))
    rid = run["id"]
    wait_for(lambda: len(clips_of(c, pid, rid)) >= 2, 60, what="the first clips")

    first = c.post(f"{API}/runs/{rid}/cancel")
    second = c.post(f"{API}/runs/{rid}/cancel")
    assert first.status_code == second.status_code == 202
    assert first.json()["cancel_requested"] and second.json()["cancel_requested"]
    t0 = time.monotonic()
    final = wait_run(c, rid, ("cancelled", "succeeded", "failed"), 30)
    assert final["status"] == "cancelled", final["error"]
    assert time.monotonic() - t0 < 10  # heartbeat (0.3 s here) + one step, or one clip block
    job = get(c, f"/jobs/{run['job_id']}")
    assert (job["status"], job["attempt"], job["error"]) == ("cancelled", 1, None)

    made = clips_of(c, pid, rid)
    assert len(made) >= 2 and len(made) % 2 == 0  # whole epochs' clips; a partial batch is dropped
    again = c.post(f"{API}/jobs/{run['job_id']}/cancel")  # and through the jobs API, a third time
    assert again.status_code == 202 and again.json()["status"] == "cancelled"
    time.sleep(1.0)
    # No clip made after the cancel (their analysis, on the cpu queue, may still fill them in).
    assert [x["id"] for x in clips_of(c, pid, rid)] == [x["id"] for x in made]
    assert run_state(c, rid)["status"] == "cancelled"


def test_source_corrupted_on_disk_fails_the_run_with_a_readable_reason(embedded: Stack) -> None:
    c = embedded.client
    pid = new_project(c, "Corrupted")
    track = get(c, f"/projects/{pid}/sources")["data"][0]
    engine = make_engine(embedded.settings)
    with session_factory(engine)() as session:
        key = session.scalar(select(SourceTrack.path).where(SourceTrack.id == track["id"]))
    engine.dispose()
    assert key is not None
    stored = embedded.settings.media_dir / key
    stored.write_bytes(np.random.default_rng(0).bytes(stored.stat().st_size))  # bit rot

    run = start_run(c, pid, tiny_run(2))
    final = wait_run(c, run["id"], ("failed", "succeeded"), 60)
    assert final["status"] == "failed"
    assert track["display_name"] in final["error"] and "changed on disk" in final["error"]
    job = get(c, f"/jobs/{run['job_id']}")
    assert (job["status"], job["attempt"], job["error"]) == ("failed", 1, final["error"])
    assert clips_of(c, pid, run["id"]) == []
