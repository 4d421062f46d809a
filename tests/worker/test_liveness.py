"""A wedged training job in a real worker (issue 13): a step that sleeps forever while the
heartbeat thread beats on. The worker's main process sees the steps stand still for the stall
time, kills the pool child (the pool forks a new one, the worker itself stays up), and the job
goes back to the queue; attempt 2 resumes from the last checkpoint and finishes the run.

Assertions are on the catalog, the checkpoint files and the worker's log.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.worker.conftest import Stack, make_stack, running_stack
from tests.worker.harness import clips_of, get, new_project, start_run, tiny_run, wait_for, wait_run
from tests.worker.test_chaos import checkpoint_files, job_row

pytestmark = pytest.mark.slow

STALL_S = 20.0  # above any step-free stretch of a tiny run on a loaded 2-core machine
WEDGE_STEP = 12  # in epoch 2 of tiny_run(segments=8): after epoch 1's checkpoint


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    yield from running_stack(*make_stack(tmp_path), tmp_path, worker=False)


def test_a_wedged_step_is_reclaimed_within_the_stall_time_and_resumed_from_its_checkpoint(
    stack: Stack,
) -> None:
    c = stack.client
    worker = stack.new_worker(
        ALBUMBOT_STALL_AFTER_S=str(STALL_S),
        ALBUMBOT_FAULT_WEDGE_STEP=str(WEDGE_STEP),
        ALBUMBOT_TRAIN_SEGMENT_EPOCHS="0",  # one attempt trains the whole run
    ).start()
    pid = new_project(c)
    epochs = 3
    run = start_run(c, pid, tiny_run(epochs, segments=8))
    rid, job_id = run["id"], run["job_id"]

    # given attempt 1 wedged inside a step, its heartbeat still fresh
    wait_for(lambda: "wedging at step" in worker.log(), 180, what="the wedge")
    wedged_child = worker.children()
    assert len(wedged_child) == 1
    before = checkpoint_files(stack, pid, rid)
    assert "epoch-0001.pt" in before

    # then the run still finishes, on attempt 2, in the same worker process
    final = wait_run(c, rid, ("succeeded", "failed", "cancelled"), 300)
    assert final["status"] == "succeeded", (final["error"], worker.log()[-3000:])
    job = job_row(stack, job_id)
    assert (job.status, job.attempt, job.handbacks) == ("succeeded", 2, 0)
    assert worker.process is not None and worker.process.poll() is None  # the worker stayed up
    assert worker.children() and worker.children() != wedged_child  # its child was replaced

    # reclaimed by the watchdog, for the stall, within the stall time (plus one look)
    log = worker.log()
    found = re.search(
        rf"job {job_id} attempt 1: stalled: no progress for ([0-9.]+) s at step (\d+) "
        rf"\(stall time {STALL_S:g} s\); worker process recycled; killing pool process "
        rf"{wedged_child[0]}", log,
    )
    assert found, log[-3000:]
    idle_s = float(found.group(1))
    assert STALL_S <= idle_s < 2 * STALL_S
    assert f"job {job_id} attempt 2 runs in" in log
    assert "resumes from epoch-0001.pt" in log.split(f"job {job_id} attempt 2 runs in")[1]

    # resumed, not retrained: epoch 1's file untouched, every epoch once, its clips exactly once
    after = checkpoint_files(stack, pid, rid)
    assert after["epoch-0001.pt"] == before["epoch-0001.pt"]
    assert sorted(after) == [f"epoch-{e:04d}.pt" for e in range(1, epochs + 1)]
    steps = [k["step"] for k in get(c, f"/runs/{rid}/checkpoints")["data"]]
    assert steps[0] < WEDGE_STEP <= steps[1], steps  # it did wedge after a checkpoint
    keys = sorted((x["epoch"], x["index"]) for x in clips_of(c, pid, rid))
    assert keys == [(e, i) for e in range(1, epochs + 1) for i in (0, 1)]
