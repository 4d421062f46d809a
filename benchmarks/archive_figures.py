"""Project archive export and import speed and memory: JSON.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/archive_figures.py [--clips 100] [--seconds 30]

On a fresh SQLite data folder it makes a project with one run of N clips (16 kHz mono 16-bit
WAVs of `seconds` each, every one its own file, with peaks), then through the services the API
and CLI use: streams the archive to a file (`snapshot` + `stream_archive`), and imports it into
a second data folder (`import_archive`: verify every hash, insert every row, move the files).
Prints one JSON object: sizes, seconds, MB/s, and the growth of peak RSS of each step (the
export streams, so it must not grow with the project's size).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

from app.catalog import Checkpoint, Clip, Project, Run
from app.db import make_engine, session_factory
from app.migrate import upgrade
from app.services import archive_import, project_archive
from app.settings import Settings
from app.storage import Storage
from tests.plans import tiny_plan


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _install(path: Path) -> tuple[Settings, object, Storage]:
    settings = Settings(data_dir=path)
    upgrade(settings)
    storage = Storage(settings.media_dir)
    storage.ensure()
    return settings, session_factory(make_engine(settings)), storage


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clips", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="archive-bench-"))
    _, home_sessions, home_storage = _install(tmp / "home")
    rng = np.random.default_rng(0)
    with home_sessions() as s:  # type: ignore[operator]
        project = Project(name="Bench", artist="B")
        s.add(project)
        s.flush()
        run = Run(project_id=project.id, config=tiny_plan(), status="succeeded")
        s.add(run)
        s.flush()
        ck = Checkpoint(run_id=run.id, epoch=1, step=1, path="none.pt")
        s.add(ck)
        s.flush()
        for i in range(args.clips):
            key = f"projects/{project.id}/runs/{run.id}/clips/e0001-{i:04d}.wav"
            buf = io.BytesIO()
            audio = (0.1 * rng.standard_normal(int(args.seconds * 16000))).astype(np.float32)
            sf.write(buf, audio, 16000, format="WAV", subtype="PCM_16")
            home_storage.write_bytes(key, buf.getvalue())
            peaks = key.removesuffix(".wav") + ".peaks.json"
            home_storage.write_bytes(peaks, json.dumps({"data": [0] * 2000}).encode())
            s.add(Clip(checkpoint_id=ck.id, project_id=project.id, run_id=run.id, epoch=1,
                       index=i, seed=i, temperature=1.0, sample_rate=16000,
                       duration_s=args.seconds, audio_path=key, peaks_path=peaks))
        s.commit()
        pid = project.id
    archive = tmp / "p.zip"
    rss0 = _peak_mb()
    t0 = time.perf_counter()
    with home_sessions() as s:  # type: ignore[operator]
        snap = project_archive.snapshot(s, home_storage, pid)
    with open(archive, "wb") as f:
        for chunk in project_archive.stream_archive(snap, home_storage):
            f.write(chunk)
    export_s = time.perf_counter() - t0
    rss1 = _peak_mb()
    settings, away_sessions, away_storage = _install(tmp / "away")
    t0 = time.perf_counter()
    with away_sessions() as s:  # type: ignore[operator]
        made = archive_import.import_archive(s, away_storage, archive,
                                             max_bytes=settings.max_request_bytes)
    import_s = time.perf_counter() - t0
    rss2 = _peak_mb()
    size_mb = archive.stat().st_size / 2**20
    out = {
        "clips": args.clips, "clip_seconds": args.seconds, "files": made.files,
        "archive_mb": round(size_mb, 1),
        "export_s": round(export_s, 2), "export_mb_per_s": round(size_mb / export_s, 1),
        "import_s": round(import_s, 2), "import_mb_per_s": round(size_mb / import_s, 1),
        "export_peak_rss_growth_mb": round(rss1 - rss0, 1),
        "import_peak_rss_growth_mb": round(rss2 - rss1, 1),
        "loadavg_1m": os.getloadavg()[0],
    }
    sys.stdout.write(json.dumps(out) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
