"""A 2,000-clip analysis backfill beside the studio and a writer like a training run: JSON.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/backfill_figures.py [--clips 2000] [--seconds 4]

On a fresh embedded stack (SQLite, filesystem broker) it uploads a three-track album, adds a
run with N clips (4 s each; 20 distinct recordings, every clip its own file), starts a
real cpu worker process and asks for the backfill (`POST /projects/{id}/analysis`). While the
backfill runs it measures, against the same catalog:

- the web app: the clip list API (a page of 100, best first) and the clip browser page, from
  this process through the ASGI app (before the backfill, then during it);
- a training run's writes: one clip row (of another project) inserted every 0.25 s in its own
  short transaction from another connection, as the gpu worker does (the time each commit
  took, lock waits included);
- another cpu job: a titles job queued 5 s into the backfill, and how long it waited.

Prints one JSON object (and the load average, since the machine may be shared).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from fastapi.testclient import TestClient

from app.catalog import Checkpoint, Clip, Run
from app.db import make_engine, session_factory
from app.main import create_app
from app.migrate import upgrade
from app.settings import Settings
from model.synth import demo_album, through_composed

SR = 16000
API = "/api/v1"
ROOT = Path(__file__).resolve().parents[1]


def wav(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, SR, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def summary(ms: list[float]) -> dict[str, float]:
    if not ms:
        return {}
    ordered = sorted(ms)
    return {"n": len(ms), "p50_ms": round(statistics.median(ordered), 1),
            "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))], 1),
            "max_ms": round(ordered[-1], 1)}


def seed(client: TestClient, settings: Settings, n: int, seconds: float) -> tuple[int, int]:
    pid = client.post(f"{API}/projects", json={"name": "Backfill", "artist": "Bench"}).json()["id"]
    files = [("files", (f"{name}.wav", wav(a.mean(axis=1)), "audio/wav"))
             for name, a in demo_album(30.0, SR, 3, seed=0)]
    assert client.post(f"{API}/projects/{pid}/sources", files=files).status_code == 201
    assert client.put(f"{API}/projects/{pid}/titles",
                      json=[f"Song number {i}" for i in range(40)]).status_code == 200
    storage = client.app.state.storage  # type: ignore[attr-defined]
    recordings = []  # 20 distinct recordings; every clip is its own file (a hard link)
    for i in range(20):
        recordings.append(storage.write_bytes(f"projects/{pid}/bench/rec-{i}.wav",
                                              wav(through_composed(seconds, SR, 500 + i))))
    engine = make_engine(settings)
    with session_factory(engine)() as session:
        run = Run(project_id=pid, config={}, status="succeeded", current_epoch=20)
        session.add(run)
        session.flush()
        cks = [Checkpoint(run_id=run.id, epoch=e, step=e, path=f"ck/{e}.pt") for e in range(1, 21)]
        session.add_all(cks)
        session.flush()
        rows = []
        for i in range(n):
            key = f"projects/{pid}/runs/{run.id}/clips/bench-{i:05d}.wav"
            path = storage.path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            os.link(recordings[i % len(recordings)], path)
            ck = cks[i % len(cks)]
            rows.append(dict(checkpoint_id=ck.id, project_id=pid, run_id=run.id, epoch=ck.epoch,
                             index=i // len(cks), seed=i, temperature=1.0, sample_rate=SR,
                             duration_s=seconds, audio_path=key, features={}, tags=[], notes="",
                             flags=[]))
        session.execute(Clip.__table__.insert(), rows)
        session.commit()
        run_id = run.id
    engine.dispose()
    return pid, run_id


def writer(settings: Settings, stop: threading.Event, out: list[float]) -> None:
    """What a training run (of another project) writes while it trains: a clip row every
    0.25 s, one transaction each, on its own connection."""
    from app.catalog import Project

    engine = make_engine(settings)
    sessions = session_factory(engine)
    i = 0
    with sessions() as session:
        project = Project(name="Training", artist="Bench")
        session.add(project)
        session.flush()
        run = Run(project_id=project.id, config={}, status="running")
        session.add(run)
        session.flush()
        checkpoint = Checkpoint(run_id=run.id, epoch=1, step=1, path="ck/t.pt")
        session.add(checkpoint)
        session.commit()
        pid, run_id, ck = project.id, run.id, checkpoint.id
    while not stop.wait(0.25):
        t0 = time.perf_counter()
        with sessions() as session:
            session.add(Clip(checkpoint_id=ck, project_id=pid, run_id=run_id, epoch=1,
                             index=100_000 + i, seed=i, temperature=1.0, sample_rate=SR,
                             duration_s=1.0, audio_path=f"none/{i}.wav"))
            session.commit()
        out.append(1000 * (time.perf_counter() - t0))
        i += 1
    engine.dispose()


def timed(client: TestClient, url: str) -> float:
    t0 = time.perf_counter()
    r = client.get(url)
    assert r.status_code == 200, r.text
    return 1000 * (time.perf_counter() - t0)


def main() -> int:
    n = int(sys.argv[sys.argv.index("--clips") + 1]) if "--clips" in sys.argv else 2000
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 4.0
    tmp = Path(tempfile.mkdtemp(prefix="albumbot-backfill-"))
    settings = Settings(data_dir=tmp)
    upgrade(settings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALBUMBOT_")}
    env.update(ALBUMBOT_DATA_DIR=str(tmp), OMP_NUM_THREADS="1")
    log = open(tmp / "worker.log", "wb")  # noqa: SIM115 - closed at the end
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker", "--queues", "cpu", "--concurrency", "1",
         "--name", "bench@%h"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        with TestClient(create_app(settings)) as client:
            t0 = time.perf_counter()
            pid, run_id = seed(client, settings, n, seconds)
            seed_s = time.perf_counter() - t0
            list_url = f"{API}/projects/{pid}/clips?limit=100&sort=-quality"
            page_url = f"/projects/{pid}/clips?run={run_id}"
            before = [timed(client, list_url) for _ in range(20)]
            before_page = [timed(client, page_url) for _ in range(5)]
            stop, writes = threading.Event(), []
            thread = threading.Thread(target=writer, args=(settings, stop, writes))
            thread.start()
            load_before = os.getloadavg()
            t0 = time.perf_counter()
            job = client.post(f"{API}/projects/{pid}/analysis").json()
            during, during_page, titles, titles_wait = [], [], None, None
            while True:
                during.append(timed(client, list_url))
                if len(during) % 10 == 0:
                    during_page.append(timed(client, page_url))
                if titles is None and time.perf_counter() - t0 > 5:
                    titles = client.post(f"{API}/projects/{pid}/titles/generate",
                                         json={"n": 10}).json()
                    titles_at = time.perf_counter()
                if titles is not None and titles_wait is None:
                    state = client.get(f"{API}/jobs/{titles['id']}").json()["status"]
                    if state == "succeeded":
                        titles_wait = time.perf_counter() - titles_at
                state = client.get(f"{API}/jobs/{job['id']}").json()
                if state["status"] in ("succeeded", "failed", "cancelled"):
                    break
                time.sleep(0.2)
            wall = time.perf_counter() - t0
            stop.set()
            thread.join()
            load_after = os.getloadavg()
            left = client.get(f"{API}/projects/{pid}/clips?flag=unanalysed&limit=500").json()
        result: dict[str, Any] = {
            "benchmark": "backfill", "clips": n, "clip_seconds": seconds,
            "status": state["status"], "error": state["error"],
            "slices": state["attempt"], "wall_s": round(wall, 1),
            "clips_per_s": round(n / wall, 1),
            "unanalysed_left": len(left["data"]),
            "api_clip_list_before": summary(before), "api_clip_list_during": summary(during),
            "clip_page_before": summary(before_page), "clip_page_during": summary(during_page),
            "training_writes_during": summary(writes),
            "titles_job_waited_s": None if titles_wait is None else round(titles_wait, 1),
            "analysis_slice_s": settings.analysis_slice_s, "seed_s": round(seed_s, 1),
            "loadavg_before": [round(x, 2) for x in load_before],
            "loadavg_after": [round(x, 2) for x in load_after], "cpu_count": os.cpu_count(),
        }
    finally:
        os.killpg(worker.pid, 9)
        worker.wait(10)
        log.close()
        shutil.rmtree(tmp, ignore_errors=True)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")
    return 0 if result["status"] == "succeeded" else 1


if __name__ == "__main__":
    sys.exit(main())
