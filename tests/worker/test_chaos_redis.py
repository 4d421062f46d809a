"""Redis crashing under a training run (RELIABILITY 6 and 7), with a redis-server of its own.

The catalog is SQLite, the broker a `redis-server` this module starts on a free port and
SIGKILLs; the workers are real `albumbot worker` processes. Assertions are on the catalog and
the files: final states, attempts, the exact clips and checkpoints, nothing twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from app.catalog import Checkpoint, Clip, Job
from app.db import make_engine, session_factory
from app.main import create_app
from tests.worker.conftest import Stack, make_stack
from tests.worker.harness import (
    clips_of,
    new_project,
    run_state,
    start_run,
    tiny_run,
    wait_for,
    wait_run,
)
from tests.worker.own_servers import RedisServer, settle

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not RedisServer.available(), reason="redis-server is not installed"),
]
EPOCHS, CLIPS = 3, 2  # the interrupted run; the runs queued behind it train 1 epoch


@pytest.fixture
def redis_stack(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Stack, RedisServer]]:
    redis = RedisServer(tmp_path / "redis", aof=request.param == "aof").start()
    # Republish a lost message soon after its queue goes idle (default 600 s).
    settings, env = make_stack(tmp_path / "data", broker_url=redis.url, republish_after_s="2")
    env["ALBUMBOT_REPUBLISH_AFTER_S"] = "2"
    try:
        with TestClient(create_app(settings)) as client:
            stack = Stack(settings, env, client, tmp_path / "data")
            try:
                yield stack, redis
            finally:
                stack.stop_workers()
    finally:
        redis.kill()


def jobs_by_id(stack: Stack) -> dict[int, Job]:
    engine = make_engine(stack.settings)
    try:
        with session_factory(engine)() as session:
            return {job.id: job for job in session.scalars(select(Job))}
    finally:
        engine.dispose()


def checkpoint_files(stack: Stack, project_id: int, run_id: int) -> dict[str, tuple[int, int]]:
    folder = stack.settings.media_dir / f"projects/{project_id}/runs/{run_id}/checkpoints"
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.glob("epoch-*.pt")}


def assert_complete(stack: Stack, project_id: int, runs: list[dict[str, object]]) -> None:
    """Each run SUCCEEDED once, with exactly one checkpoint per epoch and CLIPS clips each."""
    c = stack.client
    total = 0
    for run in runs:
        rid, epochs = int(run["id"]), int(run["config"]["epochs"])  # type: ignore[call-overload,index]
        total += epochs
        final = run_state(c, rid)
        assert final["status"] == "succeeded", final
        keys = sorted((x["epoch"], x["index"]) for x in clips_of(c, project_id, rid))
        assert keys == [(e, i) for e in range(1, epochs + 1) for i in range(CLIPS)]
        assert [m["epoch"] for m in final["metrics"]] == list(range(1, epochs + 1))
        assert sorted(checkpoint_files(stack, project_id, rid)) == [
            f"epoch-{e:04d}.pt" for e in range(1, epochs + 1)
        ]
    engine = make_engine(stack.settings)
    with session_factory(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Clip)) == total * CLIPS
        assert session.scalar(select(func.count()).select_from(Checkpoint)) == total
    engine.dispose()


@pytest.mark.parametrize("redis_stack", ["aof", "volatile"], indirect=True)
def test_redis_sigkilled_mid_training_the_run_carries_on_and_ends_once(
    redis_stack: tuple[Stack, RedisServer],
) -> None:
    """With AOF the queued message survives; without persistence it is lost and the sweeper
    publishes it again once the queue is idle. Either way: every run once, one attempt each."""
    stack, redis = redis_stack
    c = stack.client
    worker = stack.new_worker().start()
    pid = new_project(c)
    training = start_run(c, pid, tiny_run(EPOCHS, segments=32, clips=CLIPS))
    waiting = start_run(c, pid, tiny_run(1, segments=8, clips=CLIPS))  # its message waits
    wait_for(lambda: run_state(c, training["id"])["current_epoch"] >= 1, 90, what="epoch 1")

    # when redis-server is SIGKILLed mid-training, and a run is submitted while it is down
    redis.kill()
    unpublished = start_run(c, pid, tiny_run(1, segments=8, clips=CLIPS))
    assert jobs_by_id(stack)[unpublished["job_id"]].enqueued_at is None
    settle(2.0)
    # then training went on without the broker (the lease, not the connection, owns the job)
    assert run_state(c, training["id"])["status"] == "running"
    redis.start()  # same port; with AOF the queue replayed, without it empty

    runs = [training, waiting, unpublished]
    for run in runs:
        final = wait_run(c, run["id"], ("succeeded", "failed"), 180)
        assert final["status"] == "succeeded", (final["error"], worker.log()[-3000:])
    jobs = jobs_by_id(stack)
    # The interrupted run was never restarted: one attempt, one claim, every epoch once.
    assert jobs[training["job_id"]].attempt == 1
    assert all(jobs[r["job_id"]].attempt == 1 for r in runs)
    assert_complete(stack, pid, runs)


@pytest.mark.parametrize("redis_stack", ["volatile"], indirect=True)
def test_redis_restarted_empty_with_its_node_the_sweeper_publishes_everything_again(
    redis_stack: tuple[Stack, RedisServer],
) -> None:
    """A node outage: redis-server (no persistence) and the worker SIGKILLed together. Every
    message is gone; the sweeper of the next worker revives the orphaned run from its
    checkpoint and publishes the queued ones again."""
    stack, redis = redis_stack
    c = stack.client
    first = stack.new_worker().start()
    pid = new_project(c)
    training = start_run(c, pid, tiny_run(EPOCHS, segments=32, clips=CLIPS))
    waiting = start_run(c, pid, tiny_run(1, segments=8, clips=CLIPS))
    wait_for(lambda: run_state(c, training["id"])["current_epoch"] >= 1, 90, what="epoch 1")

    redis.kill()
    first.kill()
    before = checkpoint_files(stack, pid, training["id"])
    assert before, "a checkpoint was written before the crash"
    unpublished = start_run(c, pid, tiny_run(1, segments=8, clips=CLIPS))
    jobs = jobs_by_id(stack)
    assert jobs[training["job_id"]].status == "running"
    assert jobs[waiting["job_id"]].enqueued_at is not None  # published, and now lost
    assert jobs[unpublished["job_id"]].enqueued_at is None  # never published

    redis.start()  # empty: nothing survived
    second = stack.new_worker().start()
    runs = [training, waiting, unpublished]
    for run in runs:
        final = wait_run(c, run["id"], ("succeeded", "failed"), 180)
        assert final["status"] == "succeeded", (final["error"], second.log()[-3000:])

    jobs = jobs_by_id(stack)
    assert jobs[training["job_id"]].attempt == 2  # revived once, by the sweeper
    assert f"resumes from {max(before)}" in second.log()
    assert jobs[waiting["job_id"]].attempt == 1 and jobs[unpublished["job_id"]].attempt == 1
    # Resumed, not retrained: the checkpoints from before the crash were never rewritten.
    after = checkpoint_files(stack, pid, training["id"])
    assert {name: after[name] for name in before} == before
    assert_complete(stack, pid, runs)
