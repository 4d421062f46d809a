"""A studio catalog for the quality pages: an album (three demo tracks, uploaded as source
tracks) and a run of six epochs whose clips go the way a run goes (noise, music buried in
noise, cleaner music, a loop, then copies of the album), analysed by the real runner."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip, Job, Project, Run, SourceTrack
from app.contract.kinds import ANALYZE
from app.queue import RecordingQueue
from app.services import analysis
from app.settings import Settings
from app.storage import Storage, file_sha256
from model.preprocess import to_mono
from model.synth import demo_album, demo_track
from tests.model import signals as s
from tests.plans import tiny_plan
from tests.web.seed import SR, store_audio, wav_bytes
from worker.analysis import run_analysis
from worker.lease import execute
from worker.runtime import Runtime


@dataclass
class QualitySeed:
    project_id: int
    run_id: int
    source_ids: list[int]
    clips: dict[str, int]  # what a clip is -> its id


def music(seed: int, seconds: float = 5.0) -> np.ndarray:
    return to_mono(demo_track(seconds + 1.5, SR, seed))[: round(seconds * SR)]


def seed_quality(session: Session, storage: Storage, settings: Settings) -> QualitySeed:
    project = Project(name="Quality", artist="Band", description="seeded by tests/quality/seed.py")
    session.add(project)
    session.flush()
    album = [to_mono(a) for _, a in demo_album(30.0, SR, 3, seed=0)]
    sources = []
    for i, track in enumerate(album):
        key = storage.new_key(project.id, "sources", ".wav")
        path = storage.write_bytes(key, wav_bytes(track))
        sources.append(SourceTrack(
            project_id=project.id, display_name=f"0{i + 1} Album Track.wav", path=key, format="WAV",
            sample_rate=SR, channels=1, frames=len(track), duration_s=len(track) / SR,
            size_bytes=path.stat().st_size, sha256=file_sha256(path),
        ))
    session.add_all(sources)
    job = Job(kind="run", task="run-training", queue="gpu", status="succeeded", progress=1.0,
              message="done", project_id=project.id)
    session.add(job)
    session.flush()
    run = Run(project_id=project.id, config=tiny_plan(epochs=6), status="succeeded",
              current_epoch=6, job_id=job.id)
    session.add(run)
    session.flush()
    epochs: list[list[tuple[str, np.ndarray]]] = [
        [(f"noise{i}", s.white_noise(5.0, seed=i)) for i in range(3)],
        [(f"buried{i}", s.with_noise(music(20 + i), 0.0, seed=i)) for i in range(3)],
        [(f"noisy{i}", s.with_noise(music(30 + i), 12.0, seed=i)) for i in range(3)],
        [(f"music{i}", music(40 + i)) for i in range(3)],
        [("loop", s.looped(before=1.0, period=0.5, repeats=10)), ("music4a", music(50)),
         ("music4b", music(51))],
        [("copy", s.with_noise(album[1][round(6.0 * SR) : round(12.0 * SR)], 25.0)),
         ("copy2", album[2][round(3.0 * SR) : round(9.0 * SR)]), ("music5", music(60))],
    ]
    ids: dict[str, int] = {}
    for epoch, clips in enumerate(epochs, start=1):
        ck = Checkpoint(run_id=run.id, epoch=epoch, step=100 * epoch, path=f"ck/{epoch}.pt",
                        train_nll_bits=7.0 - 0.7 * epoch, valid_nll_bits=7.3 - 0.6 * epoch)
        session.add(ck)
        session.flush()
        for index, (name, x) in enumerate(clips):
            clip = Clip(checkpoint_id=ck.id, project_id=project.id, run_id=run.id, epoch=epoch,
                        index=index, seed=index, temperature=1.0, sample_rate=SR,
                        duration_s=len(x) / SR, **store_audio(storage, project.id, x))
            session.add(clip)
            session.flush()
            ids[name] = clip.id
    session.commit()
    job_id = analysis.request_analysis(session, RecordingQueue(), project.id).id
    session.rollback()  # the worker writes next (SQLite: one writer at a time)
    runtime = Runtime.create(settings, lambda task, job_id, queue: None)
    try:
        execute(runtime, "seed@quality", job_id, ANALYZE, run_analysis)
    finally:
        runtime.close()
    return QualitySeed(project.id, run.id, [t.id for t in sources], ids)


def studio_settings(tmp: Path) -> Settings:
    return Settings(data_dir=tmp / "data", sse_poll_s=0.05)
