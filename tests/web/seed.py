"""A studio catalog made by code, no training: a project whose run has clips from two epochs,
each a synthesized WAV with its peaks JSON and measured features, as the worker would leave it."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import soundfile as sf
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip, Job, Project, Run, SourceTitle
from app.storage import Storage
from model.features import measure
from model.peaks import compute_peaks
from tests.plans import tiny_plan

SR = 16000


def synth_clip(seed: int, seconds: float, *, noise: float) -> np.ndarray:
    """A few decaying plucked notes over a little noise: something with onsets to look at."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    x = noise * rng.standard_normal(n)
    beat = 60.0 / rng.uniform(90, 150)
    start = rng.uniform(0.05, 0.3)
    while start < seconds:
        f = 110.0 * 2 ** (rng.integers(0, 24) / 12)
        i = int(start * SR)
        tt = t[: n - i]
        note = sum(np.sin(2 * np.pi * f * k * tt) / k for k in (1, 2, 3)) * np.exp(-tt * rng.uniform(3, 8))
        x[i:] += 0.25 * note
        start += beat * rng.choice([0.5, 1, 1, 2])
    return np.clip(x, -1, 1).astype(np.float32)


def wav_bytes(x: np.ndarray) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, x, SR, format="WAV", subtype="PCM_16")
    return buf.getvalue()


@dataclass
class Seeded:
    project_id: int
    run_id: int
    clip_ids: dict[int, list[int]]  # epoch -> clip ids


def seed_studio(
    session: Session, storage: Storage, *, per_epoch: int = 3, seconds: float = 4.0,
    epochs: tuple[int, ...] = (1, 2), name: str = "Mutations", artist: str = "Archspire",
) -> Seeded:
    project = Project(name=name, artist=artist, description="seeded by tests/web/seed.py")
    session.add(project)
    session.flush()
    session.add_all(
        SourceTitle(project_id=project.id, position=i, text=t)
        for i, t in enumerate(["Remote Tumour Seeding", "Drone Corpse Aviator", "Involuntary Doppelgänger"])
    )
    job = Job(kind="run", task="run-training", queue="gpu", status="succeeded", progress=1.0,
              message="done", project_id=project.id)
    session.add(job)
    session.flush()
    run = Run(project_id=project.id, config=tiny_plan(epochs=len(epochs)),
              status="succeeded", current_epoch=len(epochs), job_id=job.id)
    session.add(run)
    session.flush()
    ids: dict[int, list[int]] = {}
    for k, epoch in enumerate(epochs):
        ck = Checkpoint(run_id=run.id, epoch=epoch, step=100 * epoch, path=f"ck/{epoch}.pt",
                        train_nll_bits=6.5 - 1.1 * k, valid_nll_bits=6.8 - 0.9 * k)
        session.add(ck)
        session.flush()
        ids[epoch] = []
        for i in range(per_epoch):
            x = synth_clip(1000 * epoch + i, seconds, noise=0.08 / epoch)
            clip = Clip(checkpoint_id=ck.id, project_id=project.id, run_id=run.id, epoch=epoch,
                        index=i, seed=i, temperature=1.0, sample_rate=SR,
                        duration_s=len(x) / SR, **store_audio(storage, project.id, x))
            session.add(clip)
            session.flush()
            ids[epoch].append(clip.id)
    session.commit()
    return Seeded(project.id, run.id, ids)


def store_audio(storage: Storage, project_id: int, x: np.ndarray) -> dict[str, object]:
    """Write a clip's audio and peaks; return the Clip columns that describe them."""
    audio_key = storage.new_key(project_id, "clips", ".wav")
    storage.write_bytes(audio_key, wav_bytes(x))
    peaks_key = storage.new_key(project_id, "clips", ".json")
    storage.write_bytes(peaks_key, json.dumps(compute_peaks(x, SR, samples_per_pixel=128)).encode())
    f = measure(x, SR)
    return dict(
        audio_path=audio_key, audio_format="WAV", peaks_path=peaks_key, features=f.to_dict(),
        loudness_lufs=f.loudness_lufs, peak_dbfs=f.peak_dbfs, silence_ratio=f.silence_ratio,
        clipping=f.clipping,
    )


def seed_many(session: Session, storage: Storage, project_id: int, n: int, *, epochs: int = 20) -> int:
    """`n` more clips in a new run over `epochs` checkpoints; a handful of audio files shared by
    all rows (the list and its thumbnails are what is measured). Returns the run id."""
    run = Run(project_id=project_id, config=tiny_plan(preset="paper", epochs=epochs), status="running",
              current_epoch=epochs)
    session.add(run)
    session.flush()
    cks = []
    for e in range(1, epochs + 1):
        ck = Checkpoint(run_id=run.id, epoch=e, step=e * 1000, path=f"ck/m{e}.pt",
                        train_nll_bits=7 - 2 * (1 - 0.9**e), valid_nll_bits=7.2 - 1.8 * (1 - 0.9**e))
        session.add(ck)
        cks.append(ck)
    session.flush()
    files = [store_audio(storage, project_id, synth_clip(50_000 + i, 3.0, noise=0.05)) for i in range(8)]
    rng = np.random.default_rng(7)
    rows = []
    for i in range(n):
        ck = cks[i % epochs]
        rows.append(dict(
            checkpoint_id=ck.id, project_id=project_id, run_id=run.id, epoch=ck.epoch,
            index=i // epochs, seed=i, temperature=1.0, sample_rate=SR, duration_s=3.0,
            rating=None if rng.random() < 0.5 else int(rng.integers(1, 6)),
            kept=[None, True, False][int(rng.integers(0, 3))], tags=[], notes="",
            **{**files[i % len(files)], "loudness_lufs": round(float(rng.uniform(-35, -10)), 1)},
        ))
    session.execute(Clip.__table__.insert(), rows)
    session.commit()
    return run.id
