"""Clips from a checkpoint into the catalog: audio file, waveform peaks, features, one row each.

A clip's natural key is (checkpoint, index) and its files have deterministic storage keys, so
any number of deliveries of the same work leave exactly one row and one file per clip:

- Every clip has its own seed, derived from the job's seed parts and the clip's index
  (`derive_seed`), and the sampler draws each stream's initial state and noise from that seed
  alone (model/streams.py): a clip is the same audio whether it is made alone or in a batch of
  128 (on the same device), so a redelivered task regenerates exactly the clips that are missing,
  and they come out as the lost ones were.
- The missing clips of a job are generated together, `settings.generate_batch` streams at a time
  (sampling cost is per step, so k clips take far less than k times one clip), each written
  to its file block by block while it is generated.
- Files are written under a temporary name and renamed (model.generate.write_clips,
  Storage.write_bytes); rows are inserted with insert-or-ignore under the lease fence, each in
  its own short transaction as soon as its batch is finished, so the catalog shows it while
  training goes on.
- While a batch is generated its clips are live (worker/live_publish.py): a progress file per
  clip says how much of the growing file is written, so the studio can play it from the first
  second; it goes when the clip's row exists. Nothing about the audio depends on it.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
import torch

from app.live.progress import LiveProgress
from app.services import training
from app.services.training import ClipRecord
from model.checkpoint import load_model
from model.features import measure
from model.generate import generate, write_clips
from model.peaks import compute_peaks
from model.samplernn import SampleRNN
from worker.analysis import queue_checkpoint_analysis
from worker.lease import Lease
from worker.live_publish import LiveBatch
from worker.runtime import Runtime

logger = logging.getLogger(__name__)
# Blocks of a quarter second: a live clip's first sound waits for its first block (1 s blocks
# kept the small shape silent for 4 s on this CPU). The sampler steps frame by frame whatever
# the block size, so the samples are the same; the cost is a callback per block.
BLOCK_S = 0.25


@dataclass(frozen=True)
class PlannedClip:
    index: int  # the clip's index in its checkpoint
    seed: int  # its own seed: model.generate(seeds=[seed]) makes this very clip


@dataclass(frozen=True)
class ClipTarget:
    """Where clips go: the checkpoint they come from and the run/project they belong to."""

    project_id: int
    run_id: int
    checkpoint_id: int
    epoch: int
    checkpoint_path: Path


def derive_seed(*parts: int) -> int:
    """A 31-bit seed determined by `parts` (e.g. run seed, epoch, clip index)."""
    entropy = [int(p) % 2**63 for p in parts]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0]) & 0x7FFFFFFF


def plan(first_index: int, n: int, *seed_parts: int) -> list[PlannedClip]:
    """Clips first_index .. first_index + n - 1, clip i seeded by (*seed_parts, i)."""
    indices = range(first_index, first_index + n)
    return [PlannedClip(i, derive_seed(*seed_parts, i)) for i in indices]


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
    clips: Sequence[PlannedClip],
    *,
    seconds: float,
    temperature: float,
    device: str,
    prime: npt.NDArray[np.float32] | None = None,
    provenance: dict[str, Any] | None = None,
) -> int:
    """Generate the clips that are not in the catalog yet, as batches of up to
    `settings.generate_batch` streams, and insert their rows. Returns how many were added.

    `prime`: audio [samples] at the model's rate that every clip reads first (model.generate's
    `prime`); `provenance`: what each row records of where it came from (the prime's moment)."""
    have = existing_indices(rt, target.checkpoint_id)
    todo = [clip for clip in clips if clip.index not in have]
    if not todo:
        return 0
    added = 0
    size = rt.settings.generate_batch
    with torch_threads(rt.settings.generate_threads):
        model = load_model(target.checkpoint_path, device)
        for b0 in range(0, len(todo), size):
            lease.check()
            batch = todo[b0 : b0 + size]
            sr = model.cfg.sample_rate
            live = _live_batch(rt, lease, target, batch, seconds, temperature, sr)
            try:
                paths = _generate(
                    rt, lease, model, target, batch, seconds, temperature, device, prime, live
                )
                for clip, path in zip(batch, paths, strict=True):
                    added += _store(
                        rt, lease, target, clip, temperature, path, sr, provenance
                    )
                    live.landed(clip.index)
            finally:
                live.abandon()  # what has not landed is not live any more
    queue_checkpoint_analysis(rt, lease, target.project_id, target.checkpoint_id)  # cpu queue
    return added


def _generate(
    rt: Runtime,
    lease: Lease,
    model: SampleRNN,
    target: ClipTarget,
    batch: Sequence[PlannedClip],
    seconds: float,
    temperature: float,
    device: str,
    prime: npt.NDArray[np.float32] | None,
    live: LiveBatch,
) -> list[Path]:
    """Write the batch's clips to their storage paths, streaming them block by block."""
    paths = [
        rt.storage.path(clip_key(target.project_id, target.run_id, target.epoch, clip.index))
        for clip in batch
    ]
    with write_clips(paths, model.cfg.sample_rate) as write:
        live.opened()

        def on_block(start: int, audio: np.ndarray) -> None:
            lease.check()  # cancel/shutdown between blocks; write_clips drops partial files
            write(start, audio)
            live.wrote(start + audio.shape[1])  # on disk now: listeners may read it

        generate(
            model,
            seeds=[clip.seed for clip in batch],
            seconds=seconds,
            temperature=temperature,
            device=device,
            prime=prime,
            on_block=on_block,
            block_seconds=BLOCK_S,
            keep=False,
            fused=rt.settings.generate_fused and device.startswith("cuda"),
        )
    return paths


def _live_batch(
    rt: Runtime,
    lease: Lease,
    target: ClipTarget,
    batch: Sequence[PlannedClip],
    seconds: float,
    temperature: float,
    sample_rate: int,
) -> LiveBatch:
    total = int(round(seconds * sample_rate))  # what generate_blocks makes of `seconds`
    return LiveBatch(rt.storage, [
        LiveProgress(
            project_id=target.project_id, run_id=target.run_id,
            checkpoint_id=target.checkpoint_id, epoch=target.epoch, index=clip.index,
            seed=clip.seed, temperature=temperature, job_id=lease.job_id,
            sample_rate=sample_rate, total_samples=total, samples=0,
            audio_path=clip_key(target.project_id, target.run_id, target.epoch, clip.index),
            updated_at=0.0,
        )
        for clip in batch
    ])


def _store(
    rt: Runtime,
    lease: Lease,
    target: ClipTarget,
    clip: PlannedClip,
    temperature: float,
    path: Path,
    sample_rate: int,
    provenance: dict[str, Any] | None,
) -> int:
    """Peaks and features from the written file, then the row. Returns 1 if the row is new."""
    audio, sr = sf.read(str(path), dtype="float32")
    assert sr == sample_rate
    index = clip.index
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
        seed=clip.seed,
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
        provenance=provenance,
    )
    with lease.fenced() as session:
        clip_id = training.record_clip(session, record)
    logger.info("clip %s: epoch %d index %d", clip_id, target.epoch, index)
    return 0 if clip_id is None else 1
