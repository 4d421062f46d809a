"""The worker's live progress files are rewritten at most every PUBLISH_EVERY_S, not per block
(a GPU batch makes blocks in milliseconds); the clips' audio is what listeners read."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from app.live.progress import LiveProgress, read_progress
from app.storage import Storage
from worker import live_publish
from worker.live_publish import PUBLISH_EVERY_S, LiveBatch


def progress(index: int) -> LiveProgress:
    return LiveProgress(
        project_id=1, run_id=2, checkpoint_id=3, epoch=1, index=index, seed=7, temperature=1.0,
        job_id=4, sample_rate=16000, total_samples=16000, samples=0,
        audio_path=f"projects/1/runs/2/clips/e0001-{index:04d}.wav", updated_at=0.0,
    )


def test_blocks_are_published_at_most_every_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(live_publish, "time", SimpleNamespace(time=lambda: clock[0]))
    storage = Storage(tmp_path)
    clips = [progress(0), progress(1)]
    batch = LiveBatch(storage, clips)

    def on_disk(i: int) -> int | None:
        p = read_progress(storage, clips[i].key)
        return None if p is None else p.samples

    batch.opened()
    assert on_disk(0) == on_disk(1) == 0
    batch.wrote(400)
    assert on_disk(0) == on_disk(1) == 400  # the first block is published at once
    clock[0] += PUBLISH_EVERY_S / 4
    batch.wrote(800)
    assert on_disk(0) == 400  # too soon: held back
    clock[0] += PUBLISH_EVERY_S
    batch.wrote(20000)
    assert on_disk(0) == on_disk(1) == 16000  # the newest count, capped at the clip's length
    batch.landed(0)
    assert on_disk(0) is None and on_disk(1) == 16000
    batch.abandon()
    assert on_disk(1) is None
