"""A team of curators against one studio while it trains and exports (issue 12, load).

Starts a throwaway studio (benchmarks/load_stack.py: `albumbot web` on a loopback port, a gpu
and a cpu worker process, SQLite + the embedded broker or PostgreSQL + Redis), seeds a catalog
of a few thousand analysed clips (benchmarks/load_seed.py), then:

1. the album export alone (6 tracks of 20 s, FLAC masters), nothing else running;
2. one open-ended `tiny` training run (every epoch also writes 2 clips of 1 s): --baseline-epochs
   epochs alone, then for --duration seconds --curators curators (benchmarks/load_curators.py)
   page the clip list, stream audio by Range, rate clips and follow the run's job events, each
   waiting --think seconds (0.5-1.5x) between actions, while a fifth of the way in the same
   export renders again; then --baseline-epochs epochs alone again, and the run is cancelled.
   The slowdown compares the median training time of the epochs wholly under load with those
   wholly alone, before and after (so a machine whose other load drifts shows it).

Prints one JSON object (latency p50/p95/p99/max per endpoint, request and error counts, the
training slowdown from the median epoch time, export times, the goals) and writes it to --out.
Progress goes to stderr. The goals: no error, clip-list p99 under 300 ms, training slowed by
less than 20 %. The machine's load average is in the output: other work on it skews everything.

Examples:
  PYTHONPATH=. .venv/bin/python benchmarks/load.py                       # 20 curators, 120 s
  PYTHONPATH=. .venv/bin/python benchmarks/load.py --db postgres --out benchmarks/results/x.json
  PYTHONPATH=. .venv/bin/python benchmarks/load.py --duration 20 --curators 3 --clips 500
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.load_cpu import CpuMeter
from benchmarks.load_curators import Target, curate
from benchmarks.load_seed import API, Catalog, new_project, ok, seed_catalog
from benchmarks.load_stack import Studio

TERMINAL = ("succeeded", "failed", "cancelled")
GOAL_LIST_P99_MS = 300.0
GOAL_SLOWDOWN_PCT = 20.0


def say(message: str) -> None:
    sys.stderr.write(f"[load {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


def training_config(epochs: int) -> dict[str, Any]:
    """The `tiny` preset with a short epoch (a few seconds on one core) and 2 clips per epoch."""
    return {"preset": "tiny", "epochs": epochs, "clips_per_epoch": 2, "clip_seconds": 1.0,
            "chunks": 8, "seed": 3, "train": {"max_segments_per_chunk": 64}}


def epoch_figures(run: dict[str, Any], epochs: range) -> dict[str, Any]:
    """Median training seconds per epoch and steps/s over `epochs` of `run`."""
    metrics = {m["epoch"]: m for m in run["metrics"]}
    seconds, steps = [], []
    for e in epochs:
        if e in metrics and e - 1 in metrics and metrics[e]["seconds"]:
            seconds.append(metrics[e]["seconds"])
            steps.append((metrics[e]["step"] - metrics[e - 1]["step"]) / metrics[e]["seconds"])
    return {"epochs": list(epochs), "epoch_s": [round(s, 2) for s in seconds],
            "median_epoch_s": round(statistics.median(seconds), 3) if seconds else None,
            "median_steps_per_s": round(statistics.median(steps), 2) if steps else None}


def epochs_done(http: httpx.Client, run_id: int) -> int:
    return int(ok(http.get(f"{API}/runs/{run_id}"))["current_epoch"])


def wait_epochs(http: httpx.Client, run_id: int, n: int) -> int:
    deadline = time.monotonic() + 60 * n + 120
    while (done := epochs_done(http, run_id)) < n:
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} did not reach epoch {n}")
        time.sleep(0.2)
    return done


def wait_job(http: httpx.Client, job_id: int, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while (job := ok(http.get(f"{API}/jobs/{job_id}")))["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise RuntimeError(f"job {job_id} still {job['status']} after {timeout} s")
        time.sleep(0.25)
    if job["status"] != "succeeded":
        raise RuntimeError(f"job {job_id} {job['status']}: {job['error']}")
    return dict(job)


def export_album(http: httpx.Client, album_id: int) -> float:
    """Seconds from the export request until its job succeeded."""
    t0 = time.perf_counter()
    export = ok(http.post(f"{API}/albums/{album_id}/exports", json={"formats": ["flac"]}), 202)
    wait_job(http, export["job_id"], 600)
    return round(time.perf_counter() - t0, 2)


async def export_later(base_url: str, album_id: int, delay_s: float) -> float:
    await asyncio.sleep(delay_s)
    say("under load: exporting the album")
    with httpx.Client(base_url=base_url, timeout=30) as http:
        return await asyncio.to_thread(export_album, http, album_id)


async def train_and_curate(http: httpx.Client, args: argparse.Namespace, studio: Studio,
                           training_project: int, catalog: Catalog) -> dict[str, Any]:
    """One open-ended training run: --baseline-epochs alone, then the curators (and the export)
    for --duration, then --baseline-epochs alone again, then cancelled. Epoch 1 (warm-up) and
    the epochs the curators started or stopped in are left out of every figure."""
    n = args.baseline_epochs
    run = ok(http.post(f"{API}/projects/{training_project}/runs",
                       json=training_config(10_000)), 202)
    say(f"training run {run['id']}: {n} epochs alone first")
    before = wait_epochs(http, run["id"], n + 1)
    say(f"under load: {args.curators} curators for {args.duration:.0f} s")
    target = Target(str(http.base_url).rstrip("/"), catalog.project_id, catalog.epochs,
                    run["job_id"], catalog.clip_ids[:100])
    export = asyncio.create_task(export_later(target.base_url, catalog.album_id,
                                              args.duration / 5))
    load_before = os.getloadavg()
    meter = CpuMeter(studio.pids()).start()
    team = await curate(target, args.curators, args.duration, think_s=args.think)
    cpu = meter.shares()
    load_after = os.getloadavg()
    during = epochs_done(http, run["id"])
    export_s = await export
    say(f"curators done; training {n} epochs alone again")
    after = wait_epochs(http, run["id"], during + 1 + n)
    ok(http.post(f"{API}/runs/{run['id']}/cancel"), 202)
    deadline = time.monotonic() + 120
    while (state := ok(http.get(f"{API}/runs/{run['id']}")))["status"] not in TERMINAL:
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run['id']} did not stop after its cancel")
        time.sleep(0.25)
    clips = ok(http.get(f"{API}/projects/{training_project}/clips",
                        params={"run": run["id"], "limit": 500}))["data"]
    return {"curators": team, "export_s": export_s, "cpu_cores_used_under_load": cpu,
            "training": {"before": epoch_figures(state, range(2, before + 1)),
                         "under_load": epoch_figures(state, range(before + 2, during + 1)),
                         "after": epoch_figures(state, range(during + 2, after + 1)),
                         "clips_written": len(clips)},
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after]}


def measure(args: argparse.Namespace) -> dict[str, Any]:
    with Studio(args.db) as studio, httpx.Client(base_url=studio.web.url, timeout=60) as http:
        say(f"studio up at {studio.web.url} ({args.db}, {studio.broker} broker); seeding "
            f"{args.clips} clips")
        t0 = time.perf_counter()
        catalog = seed_catalog(http, studio.settings, clips=args.clips)
        training_project = new_project(http, "Training")
        seed_s = round(time.perf_counter() - t0, 1)
        say("exporting the album alone")
        export_alone = export_album(http, catalog.album_id)
        loaded = asyncio.run(train_and_curate(http, args, studio, training_project, catalog))
        if loaded["curators"]["errors"]:
            log = (studio.data_dir / "web.log").read_text(errors="replace")
            say("errors; the web app's log ends with:\n" + log[-4000:])
    team, training = loaded.pop("curators"), loaded.pop("training")
    alone = [s for part in ("before", "after") for s in training[part]["epoch_s"]]
    loaded_s = training["under_load"]["median_epoch_s"]
    slowdown = None
    if alone and loaded_s:
        training["alone_median_epoch_s"] = round(statistics.median(alone), 3)
        slowdown = round(100 * (loaded_s / training["alone_median_epoch_s"] - 1), 1)
    list_p99 = team["endpoints"]["clip_list"].get("p99_ms")
    return {
        "benchmark": "load", "date": datetime.date.today().isoformat(),
        "machine": f"{os.cpu_count()} vCPU {platform.processor() or platform.machine()}",
        "db": args.db, "broker": studio.broker, "clips": args.clips, "seed_s": seed_s,
        **team,
        "training": {**training, "slowdown_pct": slowdown},
        "export": {"alone_s": export_alone, "under_load_s": loaded.pop("export_s")},
        "goals": {
            "no_errors": team["errors"] == 0,
            "clip_list_p99_under_300ms": list_p99 is not None and list_p99 < GOAL_LIST_P99_MS,
            "training_slowdown_under_20pct": slowdown is not None and slowdown < GOAL_SLOWDOWN_PCT,
        },
        **loaded,
        "command": "PYTHONPATH=. .venv/bin/python benchmarks/load.py " + " ".join(sys.argv[1:]),
    }


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/load.py", description=__doc__.split("\n\n")[0],
        epilog="\n\n".join(__doc__.split("\n\n")[1:]),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--duration", type=float, default=120.0,
                        help="seconds the curators work (default %(default)s)")
    parser.add_argument("--curators", type=int, default=20,
                        help="concurrent curators (default %(default)s)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite",
                        help="sqlite: the embedded studio (filesystem broker); postgres: a fresh "
                        "database on 127.0.0.1:5432 and a free Redis DB on 127.0.0.1:6379, as a "
                        "team runs it (default %(default)s)")
    parser.add_argument("--clips", type=int, default=3000,
                        help="clip rows in the curated project (default %(default)s)")
    parser.add_argument("--think", type=float, default=1.0,
                        help="mean seconds a curator waits between actions (default %(default)s)")
    parser.add_argument("--baseline-epochs", type=int, default=4,
                        help="epochs the training run trains alone before and again after the "
                        "curators (epoch 1, warm-up, is left out; default %(default)s)")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    if args.curators < 1 or args.duration <= 0 or args.clips < 100 or args.baseline_epochs < 2:
        parser.error("needs --curators >= 1, --duration > 0, --clips >= 100, "
                     "--baseline-epochs >= 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    result = measure(args)
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    sys.stdout.write(text + "\n")
    return 0 if all(result["goals"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
