"""A real worker process, at start, removes the temp files killed writes left (in `media/.tmp`,
clip streams beside their final names, live-clip progress files) and leaves the fresh ones
(another worker may be writing them)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from app.migrate import upgrade
from app.settings import Settings


def test_a_starting_worker_sweeps_abandoned_temp_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    upgrade(Settings(data_dir=data))
    tmp = data / "media" / ".tmp"
    tmp.mkdir(parents=True)
    old, fresh = tmp / "killed-write.wav", tmp / "being-written.wav"
    old.write_bytes(b"half a file")
    fresh.write_bytes(b"in progress")
    # a clip streamed beside its final name, and the progress file that announced it live
    run = data / "media" / "projects" / "1" / "runs" / "2"
    (run / "clips").mkdir(parents=True)
    (run / "live").mkdir()
    old_part, fresh_part = run / "clips" / ".e0001-0000.wav.part", run / "clips" / ".e0001-0001.wav.part"
    old_live, fresh_live = run / "live" / "e0001-0000.json", run / "live" / "e0001-0001.json"
    kept_clip = run / "clips" / "e0001-0002.wav"  # a finished clip is never a leftover, however old
    for path in (old_part, fresh_part, old_live, fresh_live, kept_clip):
        path.write_bytes(b"{}")
    hours_ago = time.time() - 3 * 3600
    for path in (old, old_part, old_live, kept_clip):
        os.utime(path, (hours_ago, hours_ago))
    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "worker", "--data-dir", str(data), "--queues", "cpu",
             "--pool", "solo", "--name", f"sweep-{os.getpid()}@%h"],
            stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        for _ in range(1200):
            if " ready." in log.read_text() or worker.poll() is not None:
                break
            time.sleep(0.1)
        assert " ready." in log.read_text(), log.read_text()
        assert not old.exists() and fresh.exists()
        assert "removed 1 abandoned temp file" in log.read_text()
        assert not old_part.exists() and not old_live.exists()
        assert fresh_part.exists() and fresh_live.exists() and kept_clip.exists()
        assert "removed 2 abandoned temp file" in log.read_text()
    finally:
        worker.terminate()
        worker.wait(60)
