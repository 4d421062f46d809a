"""benchmarks/load.py's curators, briefly, against a real studio: `albumbot web` in its own
process on a loopback port, a seeded SQLite catalog, 3 curators for a few seconds. The figures
have their shape and there is no error; latency is not asserted (the machine is shared). The
workers, the training run and the export are left out here: the job the curators follow is a
titles job that stays queued (no worker), so its stream sends one event and then keep-alives."""

from __future__ import annotations

import asyncio

import httpx

from benchmarks.load_curators import ACTIONS, Tally, Target, curate
from benchmarks.load_seed import API, ok, seed_catalog
from benchmarks.load_stack import Studio


def test_three_curators_against_a_real_studio() -> None:
    with Studio("sqlite", workers=False) as studio, httpx.Client(base_url=studio.web.url) as http:
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
