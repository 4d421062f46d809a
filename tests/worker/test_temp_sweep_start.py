"""A real worker process, at start, removes the temp files killed writes left in `media/.tmp`
and leaves the fresh ones (another worker may be writing them)."""

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
    hours_ago = time.time() - 3 * 3600
    os.utime(old, (hours_ago, hours_ago))
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
    finally:
        worker.terminate()
        worker.wait(60)
