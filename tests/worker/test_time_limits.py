"""Time limits in a real worker (issue 13): a clip-generation job that runs past its soft limit
fails with a readable reason, leaves no partial clip file and no row, and the same pool child
goes on to the next job. (Which tasks have limits at all: test_time_limit_config.py.)"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.worker.conftest import Stack, make_stack, running_stack
from tests.worker.harness import (
    API,
    clips_of,
    get,
    new_project,
    start_run,
    tiny_run,
    wait_for,
    wait_run,
)

pytestmark = pytest.mark.slow

LIMIT_S = 3


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    yield from running_stack(*make_stack(tmp_path), tmp_path, worker=False)


def finished(c: TestClient, job_id: int) -> dict[str, object]:
    return wait_for(
        lambda: (j := get(c, f"/jobs/{job_id}"))["status"] in ("succeeded", "failed", "cancelled")
        and j, 300, interval=0.2, what=f"job {job_id} to end",
    )


def test_a_job_past_its_soft_limit_fails_readably_and_leaves_no_partial_file(stack: Stack) -> None:
    c = stack.client
    worker = stack.new_worker(ALBUMBOT_JOB_TIME_LIMITS=json.dumps({"generate": LIMIT_S})).start()
    pid = new_project(c)
    run = start_run(c, pid, tiny_run(1, clips=1))
    done = wait_run(c, run["id"], ("succeeded", "failed"), 300)
    assert done["status"] == "succeeded", done["error"]
    [checkpoint] = get(c, f"/runs/{run['id']}/checkpoints")["data"]
    child = worker.children()

    # a job that needs far longer than its limit (8 two-minute clips on one CPU thread)
    r = c.post(f"{API}/checkpoints/{checkpoint['id']}/generate",
               json={"n": 8, "seconds": 120, "seed": 5})
    assert r.status_code == 202, r.text
    job = finished(c, r.json()["id"])
    assert job["status"] == "failed"
    assert job["error"] == (
        f"stopped: ran past its time limit of {LIMIT_S} s (ALBUMBOT_JOB_TIME_LIMIT_S / "
        "ALBUMBOT_JOB_TIME_LIMITS); the files it was writing were removed"
    )
    folder = stack.settings.media_dir / f"projects/{pid}/runs/{run['id']}"
    assert [p.name for p in folder.rglob("*.part")] == []  # the streams it was writing: gone
    assert len(clips_of(c, pid, run["id"])) == 1  # only the run's own clip
    assert worker.children() == child  # a soft limit: the child lives on

    # and the worker goes on: a short job on the same checkpoint succeeds
    r = c.post(f"{API}/checkpoints/{checkpoint['id']}/generate",
               json={"n": 1, "seconds": 0.25, "seed": 6})
    assert finished(c, r.json()["id"])["status"] == "succeeded"
    assert len(clips_of(c, pid, run["id"])) == 2
