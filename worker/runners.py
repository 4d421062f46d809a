"""Runners: the only code that joins the engine (`model/`) to the catalog.

`run_training` drives a Run: dataset (prepared once per project and settings), training with a
checkpoint per epoch, and after every epoch its Checkpoint row, its clips and the run's metrics.
It always continues from the newest loadable checkpoint in the run's folder, so a redelivered
job (a worker SIGKILLed mid-epoch) or a resumed run picks up where the last one stopped; the
epochs that have a checkpoint on disk get their rows and any missing clips filled in first.

`generate_more` makes more clips from one checkpoint, with indices after the existing ones.

Both receive the job's payload and a Lease (worker/lease.py) and return the job's result.
Sessions are short: nothing holds a transaction while training or generating.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from sqlalchemy import func, select, update

from app.catalog import Checkpoint, Clip, Job, Run, SourceTrack, insert_ignore
from model.checkpoint import CheckpointError, load_checkpoint
from model.config import SampleRNNConfig, TrainConfig
from model.train import EpochResult, Progress, checkpoint_path, train
from worker.clips import ClipTarget, make_clips, plan, torch_threads
from worker.datasets import SourceFile, ensure_dataset
from worker.errors import JobError
from worker.lease import Lease, Stopped
from worker.runtime import Runtime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunSpec:
    id: int
    project_id: int
    config: dict[str, Any]
    sources: tuple[SourceFile, ...]

    @property
    def folder(self) -> str:
        return f"projects/{self.project_id}/runs/{self.id}"


def device() -> str:
    # Called in the pool child at task time, never in the worker's main process.
    return "cuda" if torch.cuda.is_available() else "cpu"


def run_training(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
    spec = _load_run(rt, int(payload["run_id"]))
    config = spec.config
    model_cfg = SampleRNNConfig.from_dict(config["model"])
    train_cfg = TrainConfig.from_dict(config["train"])
    epochs = int(config["epochs"])

    dataset = ensure_dataset(rt, lease, spec.project_id, spec.sources, config)
    with lease.fenced() as session:
        session.execute(update(Run).where(Run.id == spec.id).values(dataset_id=dataset.id))

    out_dir = rt.storage.path(f"{spec.folder}/checkpoints")
    last, history = _newest_checkpoint(out_dir)
    for entry in history:  # epochs finished by an earlier attempt: rows, metrics, missing clips
        path = checkpoint_path(out_dir, int(entry["epoch"]))
        if path.is_file():
            _epoch_done(rt, lease, spec, entry, path)
    if last is not None:
        logger.info("run %d resumes from %s", spec.id, last.name)

    def on_epoch(result: EpochResult) -> None:
        entry = {
            "epoch": result.epoch,
            "step": result.step,
            "train_nll_bits": result.train_nll_bits,
            "valid_nll_bits": result.valid_nll_bits,
            "seconds": round(result.seconds, 3),
        }
        _epoch_done(rt, lease, spec, entry, result.checkpoint)

    def on_progress(p: Progress) -> None:
        lease.report(
            progress=(p.epoch - 1 + p.fraction) / epochs,
            message=f"epoch {p.epoch}/{epochs}: step {p.step}, {p.loss_bits:.2f} bits/sample",
        )

    lease.report(message="training" if last is None else f"resuming from {last.name}")
    with torch_threads(rt.settings.train_threads):
        result = train(
            model_cfg,
            train_cfg,
            dataset.path,
            out_dir,
            resume=last,
            device=device(),
            on_epoch=on_epoch,
            on_progress=on_progress,
            should_stop=lease.should_stop,
        )
    if result.stopped:
        raise Stopped(lease.stop_reason)
    with rt.reading() as session:
        clips = session.scalar(select(func.count()).where(Clip.run_id == spec.id))
    return {"epochs": epochs, "clips": clips, "test_nll_bits": result.test_nll_bits}


def _load_run(rt: Runtime, run_id: int) -> RunSpec:
    with rt.reading() as session:
        run = session.get(Run, run_id)
        if run is None:
            raise JobError(f"run {run_id} no longer exists")
        rows = session.execute(
            select(SourceTrack.display_name, SourceTrack.path, SourceTrack.sha256)
            .where(SourceTrack.project_id == run.project_id)
            .order_by(SourceTrack.id)
        ).all()
        spec = RunSpec(
            run.id, run.project_id, dict(run.config), tuple(SourceFile(*row) for row in rows)
        )
    if not spec.sources:
        raise JobError("the project has no source tracks: upload album audio first")
    return spec


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
    rt: Runtime, lease: Lease, spec: RunSpec, entry: dict[str, Any], path: Path
) -> None:
    """Record a finished epoch: its Checkpoint row and the run's metrics, then its clips."""
    epoch = int(entry["epoch"])
    key = f"{spec.folder}/checkpoints/{path.name}"
    with lease.fenced() as session:
        insert_ignore(
            session,
            Checkpoint,
            {
                "run_id": spec.id,
                "epoch": epoch,
                "step": int(entry["step"]),
                "train_nll_bits": entry.get("train_nll_bits"),
                "valid_nll_bits": entry.get("valid_nll_bits"),
                "path": key,
            },
            key=("run_id", "epoch"),
        )
        checkpoint_id = session.scalar(
            select(Checkpoint.id).where(Checkpoint.run_id == spec.id, Checkpoint.epoch == epoch)
        )
        run = session.execute(
            select(Run.metrics, Run.current_epoch).where(Run.id == spec.id)
        ).one()
        metrics = {int(m["epoch"]): m for m in run.metrics if "epoch" in m}
        metrics.setdefault(epoch, {**entry, "clips": int(spec.config["clips_per_epoch"])})
        session.execute(
            update(Run)
            .where(Run.id == spec.id)
            .values(
                metrics=[metrics[e] for e in sorted(metrics)],
                current_epoch=max(run.current_epoch, epoch),
            )
        )
    assert checkpoint_id is not None
    k = int(spec.config["clips_per_epoch"])
    if k == 0:
        return
    lease.report(message=f"epoch {epoch}: generating {k} clips")
    target = ClipTarget(spec.project_id, spec.id, checkpoint_id, epoch, path)
    make_clips(
        rt,
        lease,
        target,
        plan(0, k, int(spec.config["seed"]), epoch),
        seconds=float(spec.config["clip_seconds"]),
        temperature=float(spec.config["temperature"]),
        device=device(),
    )


def generate_more(rt: Runtime, lease: Lease, payload: dict[str, Any]) -> dict[str, Any]:
    checkpoint_id, n = int(payload["checkpoint_id"]), int(payload["n"])
    with rt.reading() as session:
        row = session.execute(
            select(Checkpoint.epoch, Checkpoint.path, Run.id, Run.project_id, Run.config)
            .join(Run, Run.id == Checkpoint.run_id)
            .where(Checkpoint.id == checkpoint_id)
        ).one_or_none()
    if row is None:
        raise JobError(f"checkpoint {checkpoint_id} no longer exists")
    epoch, key, run_id, project_id, config = row
    path = rt.storage.path(key)
    if not path.is_file():
        raise JobError(f"the checkpoint file of epoch {epoch} is missing from media storage")
    first = payload.get("first_index")
    if first is None:
        first = _allocate(lease, checkpoint_id, project_id, n, payload, config)
    lease.report(message=f"generating {n} clips from epoch {epoch}")
    make_clips(
        rt,
        lease,
        ClipTarget(project_id, run_id, checkpoint_id, epoch, path),
        plan(int(first), n, int(payload["seed"])),
        seconds=float(payload["seconds"]),
        temperature=float(payload["temperature"]),
        device=device(),
    )
    with rt.reading() as session:
        ids = session.scalars(
            select(Clip.id)
            .where(Clip.checkpoint_id == checkpoint_id, Clip.index >= first, Clip.index < first + n)
            .order_by(Clip.index)
        )
        clip_ids = list(ids)
    return {"checkpoint_id": checkpoint_id, "first_index": first, "clip_ids": clip_ids}


def _allocate(
    lease: Lease,
    checkpoint_id: int,
    project_id: int,
    n: int,
    payload: dict[str, Any],
    config: dict[str, Any],
) -> int:
    """Reserve clip indices first .. first + n - 1 for this job, recorded in its payload.

    One transaction that allocators take in turn (the checkpoint row locked FOR UPDATE on
    PostgreSQL; BEGIN IMMEDIATE on SQLite): past the existing clips, the indices the run itself
    generates for this epoch, and what other unfinished generate (and auto-album) jobs reserved. A redelivered
    job finds its reservation in the payload and makes the very same clips.
    """
    with lease.fenced() as session:
        session.execute(
            select(Checkpoint.id).where(Checkpoint.id == checkpoint_id).with_for_update()
        )
        top = session.scalar(
            select(func.max(Clip.index)).where(Clip.checkpoint_id == checkpoint_id)
        )
        first = max(int(config.get("clips_per_epoch", 0)), -1 if top is None else top + 1)
        others = session.scalars(
            select(Job.payload).where(
                # auto albums in mode=generate reserve indices through this same function
                Job.kind.in_(("generate", "auto-album")),
                Job.project_id == project_id,
                Job.id != lease.job_id,
                Job.status.in_(("queued", "running")),
            )
        )
        for other in others:
            if other.get("checkpoint_id") == checkpoint_id and "first_index" in other:
                first = max(first, int(other["first_index"]) + int(other["n"]))
        session.execute(
            update(Job)
            .where(Job.id == lease.job_id)
            .values(payload={**payload, "first_index": first})
        )
    return first
