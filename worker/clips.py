"""Clips from a checkpoint into the catalog: audio file, waveform peaks, features, one row each.

A clip's natural key is (checkpoint, index) and its files have deterministic storage keys, so
any number of deliveries of the same work leave exactly one row and one file per clip:

- Seeds are derived from the job's seed and the batch (`derive_seed`), so regenerating a batch
  gives the same audio (same device); a redelivered task regenerates only batches that miss a
  clip, and writes the clips that already exist to scratch files it throws away.
- Files are written under a temporary name and renamed (model.generate.write_clips,
  Storage.write_bytes); rows are inserted with insert-or-ignore under the lease fence.
- Each clip is inserted as soon as its batch is finished, in its own short transaction, so the
  catalog shows it while training goes on.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from app.services import training
from app.services.training import ClipRecord
from model.checkpoint import load_model
from model.features import measure
from model.generate import generate, write_clips
from model.peaks import compute_peaks
from model.samplernn import SampleRNN
from worker.analysis import queue_checkpoint_analysis
from worker.lease import Lease
from worker.runtime import Runtime

logger = logging.getLogger(__name__)

CLIP_BATCH = 8  # streams generated together; sampling cost is per step, so batching is cheap


@dataclass(frozen=True)
class ClipBatch:
    seed: int
    indices: tuple[int, ...]


@dataclass(frozen=True)
class ClipTarget:
    """Where clips go: the checkpoint they come from and the run/project they belong to."""

    project_id: int
    run_id: int
    checkpoint_id: int
    epoch: int
    checkpoint_path: Path


def derive_seed(*parts: int) -> int:
    """A 31-bit seed determined by `parts` (e.g. run seed, epoch, batch)."""
    entropy = [int(p) % 2**63 for p in parts]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0]) & 0x7FFFFFFF


def plan(first_index: int, n: int, *seed_parts: int) -> list[ClipBatch]:
    """Clips first_index .. first_index + n - 1 in batches of at most CLIP_BATCH."""
    batches = []
    for b, start in enumerate(range(first_index, first_index + n, CLIP_BATCH)):
        stop = min(start + CLIP_BATCH, first_index + n)
        batches.append(ClipBatch(derive_seed(*seed_parts, b), tuple(range(start, stop))))
    return batches


def clip_key(project_id: int, run_id: int, epoch: int, index: int) -> str:
    return f"projects/{project_id}/runs/{run_id}/clips/e{epoch:04d}-{index:04d}.wav"


def existing_indices(rt: Runtime, checkpoint_id: int) -> set[int]:
    with rt.reading() as session:
        return training.existing_clip_indices(session, checkpoint_id)


@contextmanager
def torch_threads(n: int) -> Iterator[None]:
    """Use `n` CPU threads inside the block (0 = leave torch's setting)."""
    before = torch.get_num_threads()
    if n > 0:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_clips(
    rt: Runtime,
    lease: Lease,
    target: ClipTarget,
    batches: Sequence[ClipBatch],
    *,
    seconds: float,
    temperature: float,
    device: str,
) -> int:
    """Generate every batch that misses a clip and insert its missing clips. Returns how many
    clips were added."""
    have = existing_indices(rt, target.checkpoint_id)
    todo = [b for b in batches if not set(b.indices) <= have]
    if not todo:
        return 0
    added = 0
    with torch_threads(rt.settings.generate_threads):
        model = load_model(target.checkpoint_path, device)
        sample_rate = model.cfg.sample_rate
        for batch in todo:
            lease.check()
            paths = _generate(rt, lease, model, target, batch, have, seconds, temperature, device)
            for index, path in zip(batch.indices, paths, strict=True):
                if index not in have:
                    added += _store(
                        rt, lease, target, index, batch.seed, temperature, path, sample_rate
                    )
    queue_checkpoint_analysis(rt, lease, target.project_id, target.checkpoint_id)  # cpu queue
    return added


def _generate(
    rt: Runtime,
    lease: Lease,
    model: SampleRNN,
    target: ClipTarget,
    batch: ClipBatch,
    have: set[int],
    seconds: float,
    temperature: float,
    device: str,
) -> list[Path]:
    """Write the batch's clips; those already in the catalog go to scratch files (deleted)."""
    paths, scratch = [], []
    for index in batch.indices:
        if index in have:
            scratch.append(rt.storage.temp_path(".wav"))
            paths.append(scratch[-1])
        else:
            key = clip_key(target.project_id, target.run_id, target.epoch, index)
            paths.append(rt.storage.path(key))
    try:
        with write_clips(paths, model.cfg.sample_rate) as write:

            def on_block(start: int, audio: np.ndarray) -> None:
                lease.check()  # cancel/shutdown between blocks; write_clips drops partial files
                write(start, audio)

            generate(
                model,
                n=len(batch.indices),
                seconds=seconds,
                temperature=temperature,
                seed=batch.seed,
                device=device,
                on_block=on_block,
                keep=False,
            )
    finally:
        for path in scratch:
            path.unlink(missing_ok=True)
    return paths


def _store(
    rt: Runtime,
    lease: Lease,
    target: ClipTarget,
    index: int,
    seed: int,
    temperature: float,
    path: Path,
    sample_rate: int,
) -> int:
    """Peaks and features from the written file, then the row. Returns 1 if the row is new."""
    audio, sr = sf.read(str(path), dtype="float32")
    assert sr == sample_rate
    key = clip_key(target.project_id, target.run_id, target.epoch, index)
    peaks_key = key.removesuffix(".wav") + ".peaks.json"
    rt.storage.write_bytes(peaks_key, json.dumps(compute_peaks(audio, sr)).encode())
    features = measure(audio, sr)
    record = ClipRecord(
        checkpoint_id=target.checkpoint_id,
        project_id=target.project_id,
        run_id=target.run_id,
        job_id=lease.job_id,
        epoch=target.epoch,
        index=index,
        seed=seed,
        temperature=temperature,
        sample_rate=sr,
        duration_s=len(audio) / sr,
        audio_path=key,
        audio_format="WAV",
        peaks_path=peaks_key,
        features=features.to_dict(),
        loudness_lufs=features.loudness_lufs,
        peak_dbfs=features.peak_dbfs,
        silence_ratio=features.silence_ratio,
        clipping=features.clipping,
    )
    with lease.fenced() as session:
        clip_id = training.record_clip(session, record)
    logger.info("clip %s: epoch %d index %d", clip_id, target.epoch, index)
    return 0 if clip_id is None else 1
