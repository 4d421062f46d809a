"""Runners of the gpu queue: the engine (`model/`) joined to the catalog, whose reads and writes
go through app/services/training.py under the job's lease.

`run_training` drives a Run: dataset (prepared once per project and settings), training with a
checkpoint per epoch, and after every epoch its Checkpoint row, its clips and the run's metrics.
It always continues from the newest loadable checkpoint in the run's folder, so a redelivered
job (a worker SIGKILLed mid-epoch) or a resumed run picks up where the last one stopped; the
epochs that have a checkpoint on disk get their rows and any missing clips filled in first.

`generate_more` makes more clips from one checkpoint, with indices after the existing ones.

Both receive the job's typed payload (app/contract/payloads.py) and a Lease (worker/lease.py) and
return the job's result. Sessions are short: nothing holds a transaction while training or
generating.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from app import jobs
from app.contract.payloads import GeneratePayload, Payload, RunPayload
from app.services import training
from app.services.priming import prime_provenance
from app.services.training import EpochRecord, RunSpec
from model.checkpoint import CheckpointError, load_checkpoint
from model.train import EpochResult, Progress, checkpoint_path, train
from worker.clips import ClipTarget, make_clips, plan, torch_threads
from worker.datasets import ensure_dataset
from worker.errors import JobError
from worker.faults import wedge_if_asked
from worker.lease import Lease, Stopped, Yielded
from worker.priming import load_prime
from worker.runtime import Runtime
from worker.segments import note_segment_length, segment_end
from worker.training_group import threads_per_rank, training_devices, training_group

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class GeneratedClips:
    checkpoint_id: int
    first_index: int  # clips first_index .. first_index + n - 1
    clip_ids: list[int]  # in index order


def device() -> str:
    # Called in the pool child at task time, never in the worker's main process.
    return "cuda" if torch.cuda.is_available() else "cpu"


def run_training(rt: Runtime, lease: Lease, payload: RunPayload) -> dict[str, Any]:
    with rt.reading() as session:
        spec = training.load_run(session, payload.run_id)
    run_plan = spec.plan

    dataset = ensure_dataset(rt, lease, spec.project_id, spec.sources, run_plan)
    with lease.fenced() as session:
        training.set_run_dataset(session, spec.id, dataset.id)

    out_dir = rt.storage.path(f"{spec.folder}/checkpoints")
    last, history = _newest_checkpoint(out_dir)
    for entry in history:  # epochs finished by an earlier attempt: rows, metrics, missing clips
        record = EpochRecord.from_history(entry)
        path = checkpoint_path(out_dir, record.epoch)
        if path.is_file():
            _epoch_done(rt, lease, spec, record, path)
    if last is not None:
        logger.info("run %d resumes from %s", spec.id, last.name)
    epochs = run_plan.epochs
    done = max((int(entry["epoch"]) for entry in history), default=0)
    until = segment_end(done, epochs, rt.settings.train_segment_epochs)

    def on_epoch(result: EpochResult) -> None:
        record = EpochRecord(
            epoch=result.epoch,
            step=result.step,
            train_nll_bits=result.train_nll_bits,
            valid_nll_bits=result.valid_nll_bits,
            seconds=round(result.seconds, 3),
            world_size=result.world_size,
        )
        _epoch_done(rt, lease, spec, record, result.checkpoint)

    def on_progress(p: Progress) -> None:
        wedge_if_asked(rt.settings, lease.attempt, p.step)
        lease.report(
            progress=(p.epoch - 1 + p.fraction) / epochs,
            message=f"epoch {p.epoch}/{epochs}: step {p.step}, {p.loss_bits:.2f} bits/sample",
        )

    devices = training_devices(run_plan.gpus, rt.settings.gpus)
    ranks = f" on {len(devices)} ranks ({devices[0].split(':')[0]})" if len(devices) > 1 else ""
    lease.report(message=("training" if last is None else f"resuming from {last.name}") + ranks)
    threads = threads_per_rank(devices, rt.settings.train_threads)
    started = time.monotonic()
    with torch_threads(threads), training_group(
        devices, run_plan.model, run_plan.train, dataset.path, out_dir, last, threads, until
    ) as dist:
        result = train(
            run_plan.model,
            run_plan.train,
            dataset.path,
            out_dir,
            resume=last,
            device=devices[0],
            on_epoch=on_epoch,
            on_progress=on_progress,
            should_stop=lease.should_stop,
            dist=dist,
            until_epoch=until,
        )
    if result.stopped:
        raise Stopped(lease.stop_reason)
    note_segment_length(rt.settings, lease.job_id, time.monotonic() - started)
    if until < epochs:
        raise Yielded(f"epoch {until}/{epochs} done; training continues in the next segment")
    with rt.reading() as session:
        clips = training.run_clip_count(session, spec.id)
    return {"epochs": epochs, "clips": clips, "test_nll_bits": result.test_nll_bits}


def _newest_checkpoint(out_dir: Path) -> tuple[Path | None, list[dict[str, Any]]]:
    """The newest checkpoint that loads, and its per-epoch history. An unreadable one (a disk
    that lied about a write) is set aside, and the one before it is used (RELIABILITY A10)."""
    for path in sorted(out_dir.glob("epoch-*.pt"), reverse=True):
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as exc:
            logger.error("skipping unreadable checkpoint: %s", exc)
            path.rename(path.with_name(f".corrupt-{path.name}"))
            continue
        return path, list(ckpt.history)
    return None, []


def _epoch_done(
    rt: Runtime, lease: Lease, spec: RunSpec, record: EpochRecord, path: Path
) -> None:
    """Record a finished epoch: its Checkpoint row and the run's metrics, then its clips."""
    key = f"{spec.folder}/checkpoints/{path.name}"
    with lease.fenced() as session:
        checkpoint_id = training.record_epoch(session, spec, record, key)
    k = spec.plan.clips_per_epoch
    if k == 0:
        return
    lease.report(message=f"epoch {record.epoch}: generating {k} clips")
    target = ClipTarget(spec.project_id, spec.id, checkpoint_id, record.epoch, path)
    t0 = time.perf_counter()
    added = make_clips(
        rt,
        lease,
        target,
        plan(0, k, spec.plan.seed, record.epoch),
        seconds=spec.plan.clip_seconds,
        temperature=spec.plan.temperature,
        device=device(),
    )
    if added == k:  # all made now (not a redelivery finishing a few): a fair speed sample
        speed = training.GenerationSpeed(
            audio_s=k * spec.plan.clip_seconds, wall_s=time.perf_counter() - t0,
            streams=min(k, rt.settings.generate_batch),
        )
        with lease.fenced() as session:
            training.record_generation_speed(session, spec.id, record.epoch, speed)


def generate_more(rt: Runtime, lease: Lease, payload: GeneratePayload) -> dict[str, Any]:
    """`payload.n` more clips from one checkpoint, with indices after the existing ones."""
    made = generate_clips(rt, lease, payload, lambda spec: spec)
    return {
        "checkpoint_id": made.checkpoint_id,
        "first_index": made.first_index,
        "clip_ids": made.clip_ids,
    }


def generate_clips(
    rt: Runtime,
    lease: Lease,
    spec: GeneratePayload,
    record: Callable[[GeneratePayload], Payload],
) -> GeneratedClips:
    """Make the clips `spec` asks for. Before the first one, the clip indices are reserved and
    `record(spec with first_index)` (the job's payload with the reservation in it) is saved in
    the same transaction, so a redelivered job makes the very same clips."""
    with rt.reading() as session:
        source = training.checkpoint_source(session, spec.checkpoint_id)
    path = rt.storage.path(source.key)
    if not path.is_file():
        raise JobError(f"the checkpoint file of epoch {source.epoch} is missing from media storage")
    first = spec.first_index
    if first is None:
        with lease.fenced() as session:
            first = training.reserve_clip_indices(
                session, job_id=lease.job_id, source=source, n=spec.n
            )
            jobs.set_payload(session, lease.job_id, record(replace(spec, first_index=first)))
    prime = None
    if spec.prime is not None:  # the same excerpt for every clip, decoded once
        lookback = source.plan.model.lookback
        prime = load_prime(rt.storage, spec.prime, source.plan.sample_rate, lookback)
    lease.report(message=f"generating {spec.n} clips from epoch {source.epoch}"
                 + (f", continued from {spec.prime.label}" if spec.prime else ""))
    make_clips(
        rt,
        lease,
        ClipTarget(source.project_id, source.run_id, source.id, source.epoch, path),
        plan(first, spec.n, spec.seed),
        seconds=spec.seconds,
        temperature=spec.temperature,
        device=device(),
        prime=prime,
        provenance=None if spec.prime is None else prime_provenance(spec.prime),
    )
    with rt.reading() as session:
        ids = training.clip_ids_of(session, source.id, first, spec.n)
    return GeneratedClips(source.id, first, ids)
