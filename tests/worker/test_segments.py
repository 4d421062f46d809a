"""Long runs without redelivery storms (issue 13, item 4): training runs in segments of one
epoch, one broker message each, on Redis with a visibility timeout far below the run's length.
Two real workers consume the same queues; their log (one file, in the order written) shows
exactly one running copy of the job at any time, one attempt per segment, and the run ends
succeeded once with every epoch and clip exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from tests.worker.conftest import REDIS_HOST, REDIS_PORT, Stack, make_stack
from tests.worker.harness import (
    WorkerProcess,
    clips_of,
    get,
    new_project,
    start_run,
    tiny_run,
    wait_run,
)
from tests.worker.test_chaos import job_row

pytestmark = pytest.mark.slow

# Redis redelivers a message unacknowledged for longer than this. Short, and epochs long enough
# (64 segments per chunk) that the whole run outlives it twice even on a fast, idle machine; a
# segment that outlives it too (a loaded machine) has its redelivered copy dropped by the lease.
VISIBILITY_S = 2


@pytest.fixture
def stack(
    tmp_path: Path, redis_db: int, pg_database_factory: Callable[[], str]
) -> Iterator[Stack]:
    settings, env = make_stack(
        tmp_path,
        database_url=pg_database_factory(),
        broker_url=f"redis://{REDIS_HOST}:{REDIS_PORT}/{redis_db}",
    )
    with TestClient(create_app(settings)) as client:
        s = Stack(settings, env, client, tmp_path)
        try:
            yield s
        finally:
            s.stop_workers()


def attempts_in_order(log: str, job_id: int) -> list[tuple[str, int]]:
    """("runs" | "ends", attempt) for `job_id`, in the order the workers wrote them."""
    pattern = rf"job {job_id} attempt (\d+) (runs|ends)"
    return [(m.group(2), int(m.group(1))) for m in re.finditer(pattern, log)]


def test_two_workers_and_a_short_visibility_timeout_run_one_copy_per_segment(
    stack: Stack,
) -> None:
    c = stack.client
    shared_log = stack.data_dir / "workers.log"  # both append: one order for both
    env = {**stack.env, "ALBUMBOT_VISIBILITY_TIMEOUT_S": str(VISIBILITY_S),
           "ALBUMBOT_TRAIN_SEGMENT_EPOCHS": "1"}
    for name in ("gpu-a@%h", "gpu-b@%h"):
        worker = WorkerProcess(env, shared_log, name=name)
        stack.workers.append(worker)
        worker.start()

    pid = new_project(c)
    epochs = 5
    run = start_run(c, pid, tiny_run(epochs, segments=64))
    rid, job_id = run["id"], run["job_id"]
    final = wait_run(c, rid, ("succeeded", "failed", "cancelled"), 600)
    log = shared_log.read_text(errors="replace")
    assert final["status"] == "succeeded", (final["error"], log[-3000:])

    # the run outlived the visibility timeout several times over...
    job = job_row(stack, job_id)
    assert job.finished_at is not None
    assert (job.finished_at - job.created_at).total_seconds() > 2 * VISIBILITY_S
    # ...yet ran as one copy at a time: every attempt ended before the next one ran
    events = attempts_in_order(log, job_id)
    assert events == [(e, a) for a in range(1, epochs + 1) for e in ("runs", "ends")], events
    # one claim per segment, each a clean hand-back but the last; succeeded once
    assert (job.status, job.attempt, job.handbacks) == ("succeeded", epochs, epochs - 1)
    assert [k["epoch"] for k in get(c, f"/runs/{rid}/checkpoints")["data"]] == list(
        range(1, epochs + 1)
    )
    assert [m["epoch"] for m in final["metrics"]] == list(range(1, epochs + 1))
    keys = sorted((x["epoch"], x["index"]) for x in clips_of(c, pid, rid))
    assert keys == [(e, i) for e in range(1, epochs + 1) for i in (0, 1)]
    assert "resumes from epoch-0004.pt" in log
