"""Fixtures for the quality tests: the album tests' migrated SQLite catalog, API client and
in-process worker Runtime, with the clip-analysis runner among the runners (the real runner and
lease, `worker.lease.execute`, without Celery), and catalogs made from signals with known
answers."""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import soundfile as sf
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip, Run
from app.contract.kinds import ANALYZE
from app.queue import RecordingQueue
from app.storage import Storage
from model.synth import through_composed
from tests.albums.conftest import RUNNERS as ALBUM_RUNNERS
from tests.albums.conftest import (  # noqa: F401 - fixtures reused
    client,
    queue,
    rt,
    session,
    settings,
    sqlite_copy,
    sqlite_template,
)
from tests.albums.factories import API, make_project, storage_of
from tests.plans import tiny_plan
from worker import analysis
from worker.lease import execute
from worker.runtime import Runtime

SR = 16000
RUNNERS: dict[str, tuple[Any, Any]] = {**ALBUM_RUNNERS, ANALYZE.task: (ANALYZE, analysis.run_analysis)}


@dataclass
class Worker:
    """Runs what the API (or a runner) queued, one job after the other, like a cpu worker."""

    rt: Runtime
    queue: RecordingQueue
    errors: list[Exception] = field(default_factory=list)

    def run_all(self, limit: int = 100) -> list[dict[str, Any] | None]:
        results = []
        while self.queue.sent and limit:
            limit -= 1
            sent = self.queue.sent.pop(0)
            kind, runner = RUNNERS[sent.task]
            try:
                results.append(execute(self.rt, "test@quality", sent.job_id, kind, runner))
            except Exception as exc:  # noqa: BLE001 - the job row records it; tests read the row
                self.errors.append(exc)
                results.append(None)
        return results


@pytest.fixture
def worker(settings, queue: RecordingQueue) -> Worker:  # noqa: F811
    """A worker whose own publishing (a yielded job, the gpu hook) lands on the API's queue."""
    runtime = Runtime.create(settings, lambda task, job_id, q: queue.enqueue(task, job_id, queue=q))
    yield Worker(runtime, queue)
    runtime.close()


def wav(audio: np.ndarray, sr: int = SR) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.clip(audio, -1, 1), sr, format="WAV", subtype="PCM_16")
    return buf.getvalue()


def album_tracks(n: int = 3, seconds: float = 40.0) -> list[np.ndarray]:
    """An album that never repeats itself, so copies have one right answer."""
    return [through_composed(seconds, SR, 100 + i) for i in range(n)]


def upload_album(client: TestClient, project_id: int, tracks: Sequence[np.ndarray]) -> list[int]:  # noqa: F811
    files = [("files", (f"{i + 1:02d} Track {i + 1}.wav", wav(t), "audio/wav")) for i, t in enumerate(tracks)]
    r = client.post(f"{API}/projects/{project_id}/sources", files=files)
    assert r.status_code == 201, r.text
    return [int(t["id"]) for t in r.json()["data"]]


def add_epochs(
    session: Session, storage: Storage, project_id: int, epochs: Sequence[Sequence[np.ndarray]]  # noqa: F811
) -> tuple[Run, list[list[int]]]:
    """A finished run whose epoch e (1-based) has the clips `epochs[e - 1]`; returns the run and
    the clip ids per epoch."""
    run = Run(project_id=project_id, config=tiny_plan(seed=3, sample_rate=SR), status="succeeded",
              current_epoch=len(epochs))
    session.add(run)
    session.flush()
    ids: list[list[int]] = []
    for epoch, clips in enumerate(epochs, start=1):
        ck = Checkpoint(run_id=run.id, epoch=epoch, step=epoch * 10, path=f"ck/{epoch}.pt",
                        valid_nll_bits=6.0 - epoch)
        session.add(ck)
        session.flush()
        ids.append([])
        for index, audio in enumerate(clips):
            key = f"projects/{project_id}/runs/{run.id}/clips/e{epoch:04d}-{index:04d}.wav"
            storage.write_bytes(key, wav(audio))
            clip = Clip(checkpoint_id=ck.id, project_id=project_id, run_id=run.id, epoch=epoch,
                        index=index, seed=index, temperature=1.0, sample_rate=SR,
                        duration_s=len(audio) / SR, audio_path=key)
            session.add(clip)
            session.flush()
            ids[-1].append(clip.id)
    session.commit()
    return run, ids


__all__ = ["API", "SR", "Worker", "add_epochs", "album_tracks", "make_project", "storage_of", "upload_album"]
