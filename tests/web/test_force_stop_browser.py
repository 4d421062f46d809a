"""Force stop from the run page, end to end: a REAL worker wedges inside a training step (the
fault switch of worker/faults.py; the stall time is set far off, so only the curator can free
it). In headless Chromium the curator cancels; the cancel is not honoured, so after
`force_stop_after_s` the page offers "Force stop…", which asks first. Accepted, the job and the
run are cancelled, the worker's main process kills the wedged pool child, and the worker takes
the next job at once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.main import create_app
from tests.web.conftest import LiveServer, screenshot
from tests.worker.conftest import Stack, make_stack, running_stack
from tests.worker.harness import API, get, new_project, run_state, start_run, tiny_run, wait_for
from tests.worker.test_chaos import job_row

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(420)]

WAIT_S = 2  # force_stop_after_s


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    yield from running_stack(
        *make_stack(tmp_path, sse_poll_s="0.1", force_stop_after_s=str(WAIT_S)), tmp_path,
        worker=False,
    )


def test_a_cancel_that_is_not_honoured_is_force_stopped_from_the_run_page(
    chromium: Any, stack: Stack
) -> None:
    c = stack.client
    worker = stack.new_worker(
        ALBUMBOT_STALL_AFTER_S="3600", ALBUMBOT_FAULT_WEDGE_STEP="12",
        ALBUMBOT_TRAIN_SEGMENT_EPOCHS="0",
    ).start()
    pid = new_project(c, "Wedged")
    run = start_run(c, pid, tiny_run(3, segments=8, clips=1, seconds=0.3))
    rid, job_id = run["id"], run["job_id"]
    wait_for(lambda: "wedging at step" in worker.log(), 240, what="the wedge")
    wedged = worker.children()

    with LiveServer(create_app(stack.settings)) as server:
        context = chromium.new_context(viewport={"width": 1440, "height": 900}, base_url=server.url)
        page = context.new_page()
        page.set_default_timeout(30_000)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
        page.goto(f"/runs/{rid}")
        force = page.locator("#force-stop-run")
        assert force.is_hidden()  # nothing asked yet

        page.click("#cancel-run")
        page.wait_for_timeout(WAIT_S * 500)
        assert force.is_hidden()  # the cancel still has its time to be honoured
        force.wait_for(state="visible", timeout=30_000)
        assert run_state(c, rid)["status"] == "running"  # still not honoured: it is wedged
        screenshot(page, "force-stop-offered")

        force.click()
        page.locator("#resume-run").wait_for(state="visible")
        assert dialogs and dialogs[0].startswith(f"Force stop run {rid}?")
        assert errors == []
        context.close()

    job = job_row(stack, job_id)
    assert job.status == "cancelled" and job.force_stopped_at is not None
    assert run_state(c, rid)["status"] == "cancelled"
    # the wedged child is killed and replaced; the worker itself stays up
    wait_for(lambda: worker.children() and worker.children() != wedged, 60, what="a new child")
    assert worker.process is not None and worker.process.poll() is None
    assert f"job {job_id} attempt 1: force-stopped; killing pool process {wedged[0]}" in worker.log()
    # and it is free: the next job runs (more clips from the epoch the run finished)
    [checkpoint] = get(c, f"/runs/{rid}/checkpoints")["data"]
    r = c.post(f"{API}/checkpoints/{checkpoint['id']}/generate", json={"n": 1, "seconds": 0.25})
    assert r.status_code == 202, r.text
    done = wait_for(lambda: (j := get(c, f"/jobs/{r.json()['id']}"))["status"] in
                    ("succeeded", "failed") and j, 120, what="the next job")
    assert done["status"] == "succeeded", done["error"]
