"""The same pipeline on the distributed stack: Redis as broker, PostgreSQL as catalog."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from app.catalog import Job
from app.db import make_engine, session_factory
from tests.worker.conftest import Stack
from tests.worker.harness import (
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

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def test_clips_stream_into_the_catalog_epoch_by_epoch(distributed: Stack) -> None:
    check_pipeline(distributed)


def test_a_lost_worker_node_is_replaced_by_another_worker(distributed: Stack) -> None:
    """RELIABILITY A4: node loss while another worker lives. The survivor's sweeper sees the
    heartbeat go stale (3 s here), requeues the job and runs it from the last checkpoint."""
    c = distributed.client
    distributed.new_worker(name="other@%h").start()
    by_name = {w.name.split("@")[0]: w for w in distributed.workers}
    pid = new_project(c, "Node loss")
    epochs = 5
    run = start_run(c, pid, tiny_run(epochs, segments=24))
    rid = run["id"]
    wait_for(lambda: run_state(c, rid)["current_epoch"] >= 1, 60, what="first checkpoint")
    lost = by_name[_lease_owner(distributed, run["job_id"]).split("@")[0]]
    lost.kill()

    final = wait_run(c, rid, ("succeeded", "failed"), 90)
    assert final["status"] == "succeeded", final["error"]
    assert get(c, f"/jobs/{run['job_id']}")["attempt"] == 2
    keys = sorted((x["epoch"], x["index"]) for x in clips_of(c, pid, rid))
    assert keys == [(e, i) for e in range(1, epochs + 1) for i in (0, 1)]


def _lease_owner(stack: Stack, job_id: int) -> str:
    engine = make_engine(stack.settings)
    try:
        with session_factory(engine)() as session:
            owner = session.scalar(select(Job.lease_owner).where(Job.id == job_id))
            assert owner is not None
            return owner
    finally:
        engine.dispose()
