"""The catalog going away (RELIABILITY 41): a TCP proxy the test controls sits between every
process and the shared PostgreSQL, and the test cuts it (a restart as clients see it: every
connection dropped, new ones refused) or makes it a black hole. The server itself is never
touched. The web app, a real worker process and its sweeper all go through the proxy.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from app.catalog import Checkpoint, Clip, Job, Project
from app.db import make_engine, session_factory
from app.main import create_app
from tests.worker.conftest import Stack, make_stack
from tests.worker.harness import (
    API,
    clips_of,
    new_project,
    run_state,
    start_run,
    tiny_run,
    wait_for,
    wait_run,
)
from tests.worker.own_servers import Proxy, settle

pytestmark = [pytest.mark.slow, pytest.mark.postgres]
EPOCHS, CLIPS = 4, 2
STALE_S = 6.0  # the lease's stale time here: the heartbeat holds on for half of it


@pytest.fixture
def pg_stack(
    tmp_path: Path, pg_database_factory: Callable[[], str]
) -> Iterator[tuple[Stack, Proxy]]:
    direct = make_url(pg_database_factory())
    proxy = Proxy((direct.host or "127.0.0.1", direct.port or 5432))
    url = direct.set(port=proxy.port).render_as_string(hide_password=False)
    settings, env = make_stack(tmp_path, database_url=url, job_stale_after_s=str(STALE_S))
    env["ALBUMBOT_JOB_STALE_AFTER_S"] = str(STALE_S)
    try:
        with TestClient(create_app(settings)) as client:
            stack = Stack(settings, env, client, tmp_path)
            try:
                yield stack, proxy
            finally:
                stack.stop_workers()
    finally:
        proxy.close()


def guarded(call: Callable[[], httpx.Response], timeout: float = 60.0) -> httpx.Response:
    """`call()` on a thread; fails the test if it never answers (a hang), not if it is slow."""
    box: list[Any] = []
    thread = threading.Thread(target=lambda: box.append(call()), daemon=True)
    thread.start()
    thread.join(timeout)
    assert box, "the request hung while the database was away"
    return box[0]  # type: ignore[no-any-return]


def assert_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0
    body = r.json()
    assert body["status"] == 503 and "database is unavailable" in body["detail"]
    assert "Traceback" not in r.text and "psycopg" not in r.text


def count(stack: Stack, model: Any) -> int:
    engine = make_engine(stack.settings)
    try:
        with session_factory(engine)() as session:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)
    finally:
        engine.dispose()


def test_requests_during_an_outage_get_503_and_the_pool_recovers_by_itself(
    pg_stack: tuple[Stack, Proxy],
) -> None:
    stack, proxy = pg_stack
    c = stack.client
    assert c.get(f"{API}/projects").status_code == 200  # the pool holds live connections now

    # a restart: pooled connections dropped, new ones refused
    proxy.cut()
    assert_unavailable(guarded(lambda: c.get(f"{API}/projects")))
    assert_unavailable(guarded(lambda: c.post(f"{API}/projects", json={"name": "Lost", "artist": "Band"})))
    assert guarded(lambda: c.get("/healthz")).status_code == 503
    # a black hole: connections accepted and never answered; the connect timeout ends it
    proxy.hang()
    assert_unavailable(guarded(lambda: c.get(f"{API}/projects")))

    # back: the same app (no restart) answers again, and the refused write never happened
    proxy.restore()
    assert c.get(f"{API}/projects").status_code == 200
    r = c.post(f"{API}/projects", json={"name": "Kept", "artist": "Band"})
    assert r.status_code == 201, r.text
    names = [p["name"] for p in c.get(f"{API}/projects").json()["data"]]
    assert names.count("Kept") == 1 and "Lost" not in names
    assert count(stack, Project) == 1


def test_training_rides_out_a_short_outage_and_a_long_one_hands_it_to_the_sweeper(
    pg_stack: tuple[Stack, Proxy],
) -> None:
    stack, proxy = pg_stack
    c = stack.client
    worker = stack.new_worker().start()
    pid = new_project(c)
    run = start_run(c, pid, tiny_run(EPOCHS, segments=32, clips=CLIPS))
    rid, job_id = run["id"], run["job_id"]
    wait_for(lambda: run_state(c, rid)["current_epoch"] >= 1, 90, what="epoch 1")

    # A short outage (well under half the stale time): the same attempt goes on.
    proxy.cut()
    settle(1.0)
    proxy.restore()
    epoch = run_state(c, rid)["current_epoch"]
    wait_for(lambda: run_state(c, rid)["current_epoch"] > epoch, 90, what="training goes on")
    assert run_state(c, rid)["attempt"] == 1
    assert "gives up" not in worker.log() and "lost its lease" not in worker.log()

    # A long outage: the attempt gives up by itself before its lease could go stale elsewhere.
    proxy.cut()
    wait_for(
        lambda: "gives up: catalog unreachable" in worker.log()
        or "lost its lease" in worker.log(),
        3 * STALE_S,
        what="the attempt to give up",
    )
    proxy.restore()

    # The sweeper sees the stale heartbeat, requeues the job, and it resumes from a checkpoint.
    final = wait_run(c, rid, ("succeeded", "failed"), 180)
    assert final["status"] == "succeeded", (final["error"], worker.log()[-3000:])
    assert final["attempt"] == 2
    assert "resumes from epoch-" in worker.log()
    assert "requeued" in worker.log()

    # Nothing written twice: every epoch and every clip exactly once.
    keys = sorted((x["epoch"], x["index"]) for x in clips_of(c, pid, rid))
    assert keys == [(e, i) for e in range(1, EPOCHS + 1) for i in range(CLIPS)]
    assert [m["epoch"] for m in final["metrics"]] == list(range(1, EPOCHS + 1))
    assert count(stack, Clip) == EPOCHS * CLIPS
    assert count(stack, Checkpoint) == EPOCHS
    engine = make_engine(stack.settings)
    with session_factory(engine)() as session:
        job = session.get(Job, job_id)
        assert job is not None and (job.status, job.attempt) == ("succeeded", 2)
    engine.dispose()
