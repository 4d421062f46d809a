"""Test data made in code for the album tests: clips, images, projects, tracks."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import soundfile as sf
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip, Job, Run
from app.storage import Storage
from model.synth import demo_track
from tests.plans import tiny_plan

API = "/api/v1"
CLIP_SR = 16000


def clip_audio(seconds: float, seed: int) -> np.ndarray:
    """A mono 16 kHz "generated clip": synthetic music without the demo's trailing silence."""
    stereo = demo_track(seconds + 1.5, CLIP_SR, seed)
    return stereo[: round(seconds * CLIP_SR)].mean(axis=1).astype(np.float32)


def add_run(
    session: Session,
    storage: Storage,
    project_id: int,
    *,
    epochs: int = 3,
    per_epoch: int = 2,
    seconds: float = 35.0,
    seed: int = 0,
) -> Run:
    """A finished run with `epochs` checkpoints and `per_epoch` clips (WAV files) each."""
    run = Run(project_id=project_id, config=tiny_plan(seed=3, sample_rate=CLIP_SR),
              status="succeeded", current_epoch=epochs)
    session.add(run)
    session.flush()
    for epoch in range(1, epochs + 1):
        ck = Checkpoint(run_id=run.id, epoch=epoch, step=epoch * 10, path=f"ck/{epoch}.pt")
        session.add(ck)
        session.flush()
        for index in range(per_epoch):
            key = f"projects/{project_id}/runs/{run.id}/clips/e{epoch:04d}-{index:04d}.wav"
            buf = io.BytesIO()
            audio = clip_audio(seconds, seed * 1000 + epoch * 10 + index)
            sf.write(buf, audio, CLIP_SR, format="WAV", subtype="PCM_16")
            storage.write_bytes(key, buf.getvalue())
            session.add(
                Clip(
                    checkpoint_id=ck.id, project_id=project_id, run_id=run.id, epoch=epoch,
                    index=index, seed=epoch * 100 + index, temperature=1.0, sample_rate=CLIP_SR,
                    duration_s=len(audio) / CLIP_SR, audio_path=key,
                )
            )
    session.commit()
    return run


def make_project(client: TestClient, *, name: str = "Album", artist: str = "Band") -> int:
    r = client.post(f"{API}/projects", json={"name": name, "artist": artist})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def image_bytes(size: tuple[int, int] = (320, 240), seed: int = 0, fmt: str = "PNG") -> bytes:
    """A busy synthetic picture (gradients and blocks), so stylization has something to do."""
    rng = np.random.default_rng(seed)
    w, h = size
    y, x = np.mgrid[0:h, 0:w]
    arr = np.stack([(x * 255 // w), (y * 255 // h), ((x + y) * 128 // (w + h))], axis=-1)
    for _ in range(12):
        x0, y0 = rng.integers(0, w - 20), rng.integers(0, h - 20)
        arr[y0 : y0 + 20, x0 : x0 + 20] = rng.integers(0, 256, 3)
    buf = io.BytesIO()
    Image.fromarray(arr.astype(np.uint8), "RGB").save(buf, format=fmt)
    return buf.getvalue()


def upload_image(client: TestClient, project_id: int, role: str, seed: int = 0) -> int:
    r = client.post(
        f"{API}/projects/{project_id}/images",
        files={"file": (f"{role}.png", image_bytes(seed=seed), "image/png")},
        data={"role": role},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def make_track(client: TestClient, project_id: int, edl: Any, name: str = "") -> dict[str, Any]:
    r = client.post(f"{API}/projects/{project_id}/tracks", json={"name": name, "edl": edl})
    assert r.status_code == 201, r.text
    return dict(r.json())


def job(client: TestClient, job_id: int) -> dict[str, Any]:
    r = client.get(f"{API}/jobs/{job_id}")
    assert r.status_code == 200, r.text
    return dict(r.json())


def job_row(session: Session, job_id: int) -> Job:
    row = session.get(Job, job_id, populate_existing=True)
    assert row is not None
    return row


def storage_of(client: TestClient) -> Storage:
    storage: Storage = client.app.state.storage  # type: ignore[attr-defined]
    return storage


def add_clip(session: Session, storage: Storage, run: Run, audio: np.ndarray) -> int:
    """One more clip of the run's last checkpoint with the given mono 16 kHz audio."""
    ck = run.checkpoints[-1]
    index = 1000 + len(session.scalars(select(Clip.id).where(Clip.checkpoint_id == ck.id)).all())
    key = f"projects/{run.project_id}/runs/{run.id}/clips/extra-{index}.wav"
    buf = io.BytesIO()
    sf.write(buf, audio, CLIP_SR, format="WAV", subtype="PCM_16")
    storage.write_bytes(key, buf.getvalue())
    clip = Clip(
        checkpoint_id=ck.id, project_id=run.project_id, run_id=run.id, epoch=ck.epoch,
        index=index, seed=index, temperature=1.0, sample_rate=CLIP_SR,
        duration_s=len(audio) / CLIP_SR, audio_path=key,
    )
    session.add(clip)
    session.commit()
    return clip.id
