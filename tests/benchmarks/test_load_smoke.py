"""benchmarks/load.py's curators, briefly, against a real studio: `albumbot web` in its own
process on a loopback port, a seeded catalog (SQLite with the embedded broker, and PostgreSQL
with Redis as `--db postgres` runs it), 3 curators for a few seconds. The figures
have their shape and there is no error; latency is not asserted (the machine is shared). The
workers, the training run and the export are left out here: the job the curators follow is a
titles job that stays queued (no worker), so its stream sends one event and then keep-alives."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from benchmarks.load_curators import ACTIONS, Tally, Target, curate
from benchmarks.load_seed import API, ok, seed_catalog
from benchmarks.load_stack import Studio
from tests.conftest import _pg_unreachable_reason
from tests.worker.conftest import REDIS_HOST, REDIS_PORT


def _unreachable(db: str) -> str | None:
    if db == "sqlite":
        return None
    import redis

    try:
        redis.Redis(REDIS_HOST, REDIS_PORT, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        return f"Redis not reachable at {REDIS_HOST}:{REDIS_PORT}: {exc}"
    return _pg_unreachable_reason()


@pytest.mark.parametrize("db", ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres,
                                                                          pytest.mark.redis])])
def test_three_curators_against_a_real_studio(db: str) -> None:
    reason = _unreachable(db)
    if reason:
        pytest.skip(reason)
    with Studio(db, workers=False) as studio, httpx.Client(base_url=studio.web.url) as http:
        catalog = seed_catalog(http, studio.settings, clips=200, epochs=10, tracks=1)
        ok(http.put(f"{API}/projects/{catalog.project_id}/titles",
                    json=[f"Song number {i}" for i in range(10)]))
        job = ok(http.post(f"{API}/projects/{catalog.project_id}/titles/generate",
                           json={"n": 5}), 202)
        target = Target(studio.web.url, catalog.project_id, catalog.epochs, job["id"],
                        catalog.clip_ids[:20])
        tally = Tally()
        result = asyncio.run(curate(target, 3, 6.0, think_s=0.1, sse_s=1.0, tally=tally))
        stored = {c: ok(http.get(f"{API}/clips/{c}"))["rating"] for c in tally.rated}

    assert result["errors"] == 0, result["error_samples"]
    assert result["curators"] == 3
    assert set(result["endpoints"]) == set(ACTIONS)
    for kind, figures in result["endpoints"].items():
        assert figures["n"] > 0, kind  # each kind was done at least once...
        assert figures["errors"] == 0
        assert 0 < figures["p50_ms"] <= figures["p95_ms"] <= figures["p99_ms"] <= figures["max_ms"]
    assert result["requests"] == sum(f["n"] for f in result["endpoints"].values())
    assert result["sse"]["job_events"] >= result["sse"]["streams"] > 0  # one event per stream
    # ...and the ratings reached the catalog: each rated clip holds one of those it was sent
    assert stored and all(stored[c] in tally.rated[c] for c in stored), (stored, tally.rated)
