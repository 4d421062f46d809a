"""A team of curators as an asyncio client: what benchmarks/load.py runs against a live studio.

Each curator is one task with its own HTTP connection pool (a browser tab), looping for a fixed
time: it waits a "think time" (reading, listening), then does one thing a curator in the clip
browser does, chosen at random with fixed weights:

- `clip_list`: a page of the clip list (cursor paging: the next page of what it browsed before,
  or a fresh query with a random filter and sort, best first within an epoch among them);
- `audio_range`: a random 64 KiB byte range of a clip's audio (the lazy player's Range request;
  206 with exactly those bytes expected);
- `rate`: PATCH a clip's rating (1..5);
- `sse_first_event`: follow a job's Server-Sent Events for a few seconds (the run page); the
  latency is until the first event (the job as it is now), an error if none comes.

Every request's latency and outcome is recorded per kind; anything but the expected status and
body is an error (with a sample kept for the report). No wall-clock assertions: figures only.
"""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

API = "/api/v1"
CHUNK = 64 * 1024  # bytes per Range request, about 2 s of 16 kHz 16-bit mono
ACTIONS = {"clip_list": 0.4, "audio_range": 0.35, "rate": 0.15, "sse_first_event": 0.1}
LIST_QUERIES: tuple[dict[str, Any], ...] = (
    {"sort": "-created"},
    {"sort": "-quality"},
    {"sort": "-rating"},
    {"sort": "-loudness", "flag": "clean"},
    {"sort": "-quality", "epoch": None},  # best first within one epoch (epoch picked at random)
    {"sort": "epoch", "min_rating": 3},
    {"sort": "-created", "kept": "null"},
)
ERROR_SAMPLES = 10


@dataclass(frozen=True)
class Target:
    """What the curators work on: a seeded project and a job to follow."""

    base_url: str
    project_id: int
    epochs: int  # the project's clips span epochs 1..epochs
    job_id: int  # a job whose events the run page follows
    clip_ids: tuple[int, ...]  # a few ids to start from before any list came back


@dataclass
class Tally:
    """Latencies (ms) per kind and the errors, shared by all curators (one event loop)."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in ACTIONS})
    errors: dict[str, int] = field(default_factory=lambda: {k: 0 for k in ACTIONS})
    samples: list[str] = field(default_factory=list)
    rated: dict[int, set[int]] = field(default_factory=dict)  # clip id -> ratings sent
    sse_events: int = 0
    sse_streams: int = 0

    def ok(self, kind: str, t0: float) -> None:
        self.latencies[kind].append(1000 * (time.perf_counter() - t0))

    def fail(self, kind: str, what: str) -> None:
        self.errors[kind] += 1
        if len(self.samples) < ERROR_SAMPLES:
            self.samples.append(f"{kind}: {what}"[:300])


def percentiles(ms: list[float]) -> dict[str, float | int]:
    """n, p50, p95, p99 and max (nearest rank) of a list of milliseconds."""
    if not ms:
        return {"n": 0}
    ordered = sorted(ms)

    def rank(p: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(p * len(ordered)))], 1)

    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": rank(0.95), "p99_ms": rank(0.99), "max_ms": round(ordered[-1], 1)}


class Curator:
    def __init__(self, n: int, target: Target, tally: Tally, think_s: float, sse_s: float) -> None:
        self.target, self.tally, self.think_s, self.sse_s = target, tally, think_s, sse_s
        self.rng = random.Random(n)
        self.seen: list[int] = list(target.clip_ids)
        self.sizes: dict[int, int] = {}  # clip id -> audio bytes, from a first full-range answer
        self.next_page: tuple[dict[str, Any], str] | None = None
        self.base = f"{target.base_url}{API}"
        self.until = 0.0

    async def run(self, until: float) -> None:
        self.until = until
        # Per curator, like one browser: a few keep-alive connections, never a shared pool.
        limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        async with httpx.AsyncClient(timeout=30.0, limits=limits) as http:
            await asyncio.sleep(self.rng.uniform(0, self.think_s))  # do not start in lockstep
            while time.monotonic() < until:
                kind = self.rng.choices(list(ACTIONS), weights=list(ACTIONS.values()))[0]
                try:
                    await getattr(self, kind)(http)
                except (httpx.HTTPError, ValueError, KeyError) as exc:
                    self.tally.fail(kind, f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(self.rng.uniform(0.5, 1.5) * self.think_s)

    async def clip_list(self, http: httpx.AsyncClient) -> None:
        if self.next_page is not None and self.rng.random() < 0.6:
            params, cursor = self.next_page
            params = {**params, "cursor": cursor}
        else:
            params = dict(self.rng.choice(LIST_QUERIES))
            if "epoch" in params:
                params["epoch"] = self.rng.randint(1, self.target.epochs)
            params = {k: v for k, v in params.items() if v is not None}
            params["limit"] = self.rng.choice((50, 100))
        t0 = time.perf_counter()
        r = await http.get(f"{self.base}/projects/{self.target.project_id}/clips", params=params)
        if r.status_code != 200:
            self.tally.fail("clip_list", f"{r.status_code} {r.text[:200]}")
            return
        page = r.json()
        self.tally.ok("clip_list", t0)
        self.seen = [int(c["id"]) for c in page["data"]] or self.seen
        query = {k: v for k, v in params.items() if k != "cursor"}
        self.next_page = (query, page["next_cursor"]) if page["next_cursor"] else None

    async def audio_range(self, http: httpx.AsyncClient) -> None:
        clip_id = self.rng.choice(self.seen)
        size = self.sizes.get(clip_id)
        start = 0 if size is None else self.rng.randrange(0, max(1, size - CHUNK))
        end = start + CHUNK - 1
        t0 = time.perf_counter()
        r = await http.get(f"{self.base}/clips/{clip_id}/audio",
                           headers={"Range": f"bytes={start}-{end}"})
        total = r.headers.get("content-range", "").rpartition("/")[2]
        expected = (min(end, int(total) - 1) - start + 1) if total.isdigit() else -1
        if r.status_code != 206 or len(r.content) != expected:
            self.tally.fail("audio_range", f"{r.status_code} {len(r.content)} bytes for "
                            f"{start}-{end} of {total or '?'}")
            return
        self.tally.ok("audio_range", t0)
        self.sizes[clip_id] = int(total)

    async def rate(self, http: httpx.AsyncClient) -> None:
        clip_id = self.rng.choice(self.seen)
        rating = self.rng.randint(1, 5)
        t0 = time.perf_counter()
        self.tally.rated.setdefault(clip_id, set()).add(rating)
        r = await http.patch(f"{self.base}/clips/{clip_id}", json={"rating": rating})
        if r.status_code != 200 or r.json().get("rating") != rating:
            self.tally.fail("rate", f"{r.status_code} {r.text[:200]}")
            return
        self.tally.ok("rate", t0)

    async def sse_first_event(self, http: httpx.AsyncClient) -> None:
        """Follow the job's events for `sse_s`; an error if the first event does not come or
        the stream ends early without a terminal state."""
        t0 = time.perf_counter()
        stop = min(self.until, time.monotonic() + self.sse_s * self.rng.uniform(0.5, 1.5))
        self.tally.sse_streams += 1
        url = f"{self.base}/jobs/{self.target.job_id}/events"
        async with http.stream("GET", url) as r:
            if r.status_code != 200:
                self.tally.fail("sse_first_event", f"{r.status_code}")
                return
            events = 0
            try:  # until `stop`, even while no line comes (a job that does not change)
                async with asyncio.timeout(max(0.1, stop - time.monotonic())):
                    async for line in r.aiter_lines():
                        if line.startswith("event: job"):
                            if events == 0:
                                self.tally.ok("sse_first_event", t0)
                            events += 1
                            self.tally.sse_events += 1
            except TimeoutError:
                pass
            if events == 0:
                self.tally.fail("sse_first_event", "the stream ended with no event")


async def curate(target: Target, curators: int, duration_s: float, *, think_s: float = 1.0,
                 sse_s: float = 4.0, tally: Tally | None = None) -> dict[str, Any]:
    """Run `curators` curators for `duration_s` against `target`; per-kind figures as a dict
    (`tally`, when given, keeps the raw record)."""
    tally = tally if tally is not None else Tally()
    until = time.monotonic() + duration_s
    t0 = time.perf_counter()
    team = [Curator(n, target, tally, think_s, sse_s) for n in range(curators)]
    await asyncio.gather(*(c.run(until) for c in team))
    wall = time.perf_counter() - t0
    endpoints = {k: {**percentiles(v), "errors": tally.errors[k]}
                 for k, v in tally.latencies.items()}
    requests = sum(len(v) for v in tally.latencies.values()) + sum(tally.errors.values())
    return {
        "curators": curators, "duration_s": round(wall, 1), "think_s": think_s,
        "requests": requests, "requests_per_s": round(requests / wall, 1),
        "errors": sum(tally.errors.values()), "error_samples": tally.samples,
        "endpoints": endpoints,
        "sse": {"streams": tally.sse_streams, "job_events": tally.sse_events},
    }
