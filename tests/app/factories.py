"""Test data made by code: audio, images, catalog rows. No binary files are committed."""

from __future__ import annotations

import io
import struct
import zlib
from typing import Any

import numpy as np
import soundfile as sf
from PIL import Image
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip, Project, Run
from app.storage import Storage
from tests.plans import tiny_plan


def tone(seconds: float = 1.0, sr: int = 16000, freq: float = 440.0, amp: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def audio_bytes(fmt: str = "WAV", seconds: float = 1.0, sr: int = 16000) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, tone(seconds, sr), sr, format=fmt)
    return buf.getvalue()


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=fmt)
    return buf.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression bomb's opening move)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def make_project(session: Session, **fields: Any) -> Project:
    project = Project(name=fields.get("name", "Album"), artist=fields.get("artist", "Artist"))
    session.add(project)
    session.commit()
    return project


def make_run_with_checkpoints(session: Session, project_id: int, epochs: int = 3) -> Run:
    run = Run(project_id=project_id, config=tiny_plan(), status="running")
    session.add(run)
    session.flush()
    for epoch in range(1, epochs + 1):
        session.add(Checkpoint(run_id=run.id, epoch=epoch, step=epoch * 100, path=f"ck/{epoch}.pt"))
    session.commit()
    return run


def add_clips(session: Session, project_id: int, n: int, *, epochs: int = 5, seed: int = 0) -> Run:
    """`n` clips spread over `epochs` checkpoints with varied ratings, loudness, silence, keep."""
    rng = np.random.default_rng(seed)
    run = make_run_with_checkpoints(session, project_id, epochs)
    checkpoints = run.checkpoints
    rows = []
    for i in range(n):
        ck = checkpoints[i % epochs]
        rating = None if rng.random() < 0.3 else int(rng.integers(1, 6))
        kept = [None, True, False][int(rng.integers(0, 3))]
        loud = None if rng.random() < 0.1 else round(float(rng.uniform(-40, -8)), 1)
        silence = None if rng.random() < 0.1 else round(float(rng.uniform(0, 1)), 2)
        quality = None if rng.random() < 0.2 else round(float(rng.uniform(0, 1)), 2)
        rows.append(
            dict(
                checkpoint_id=ck.id, project_id=project_id, run_id=run.id, epoch=ck.epoch,
                index=i // epochs, seed=i, temperature=1.0, sample_rate=16000, duration_s=4.0,
                audio_path=f"projects/{project_id}/clips/{i}.wav", rating=rating, kept=kept,
                loudness_lufs=loud, silence_ratio=silence, features={}, tags=[], notes="",
                quality=quality, flags=[],
            )
        )
    session.execute(Clip.__table__.insert(), rows)  # bulk: thousands of rows in one statement
    session.commit()
    return run


def add_clip_with_audio(
    session: Session, storage: Storage, project_id: int, audio: bytes, *, peaks: dict[str, Any] | None = None
) -> Clip:
    run = make_run_with_checkpoints(session, project_id, 1)
    key = storage.new_key(project_id, "clips", ".wav")
    storage.write_bytes(key, audio)
    peaks_key = None
    if peaks is not None:
        import json

        peaks_key = storage.new_key(project_id, "clips", ".json")
        storage.write_bytes(peaks_key, json.dumps(peaks).encode())
    clip = Clip(
        checkpoint_id=run.checkpoints[0].id, project_id=project_id, run_id=run.id, epoch=1,
        index=0, seed=1, temperature=1.0, sample_rate=16000, duration_s=1.0, audio_path=key,
        audio_format="WAV", peaks_path=peaks_key,
    )
    session.add(clip)
    session.commit()
    return clip
