"""What training and clip-generation jobs read and write in the catalog: the run to train, a
finished epoch (its Checkpoint row and the run's metrics), reserved clip indices, and clips.

The gpu worker's runners (worker/runners.py, worker/clips.py) call these inside the lease's
short transactions: reads in `rt.reading()`, writes in `lease.fenced()` (which commits only while
the job's attempt still holds its lease). Nothing here commits, and every write is idempotent
(natural keys, insert-or-ignore), so a redelivered job repeats it harmlessly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Clip, Job, Run, SourceTrack, insert_ignore
from app.contract.codec import ContractError
from app.contract.kinds import RESERVING, kind_named
from app.contract.plan import RunPlan
from app.services.errors import Conflict, NotFound


@dataclass(frozen=True)
class SourceFile:
    name: str  # the curator's (sanitized) file name
    key: str  # storage key
    sha256: str  # recorded at upload


@dataclass(frozen=True)
class RunSpec:
    """A run as its training job sees it."""

    id: int
    project_id: int
    plan: RunPlan
    sources: tuple[SourceFile, ...]  # the album, in upload order

    @property
    def folder(self) -> str:
        return f"projects/{self.project_id}/runs/{self.id}"


@dataclass(frozen=True)
class EpochRecord:
    """One finished epoch, as the run's `metrics` list keeps it (NLL in bits per sample)."""

    epoch: int
    step: int
    train_nll_bits: float | None
    valid_nll_bits: float | None
    seconds: float | None  # wall time of the epoch (unknown for one read from a checkpoint)
    world_size: int = 1  # data-parallel ranks that trained it

    @classmethod
    def from_history(cls, entry: Mapping[str, Any]) -> EpochRecord:
        """From a checkpoint's history entry (model/train.py)."""
        return cls(
            epoch=int(entry["epoch"]),
            step=int(entry["step"]),
            train_nll_bits=entry.get("train_nll_bits"),
            valid_nll_bits=entry.get("valid_nll_bits"),
            seconds=entry.get("seconds"),
            world_size=int(entry.get("world_size", 1)),
        )


@dataclass(frozen=True)
class CheckpointSource:
    """A checkpoint to generate from, with the run it belongs to."""

    id: int
    epoch: int
    key: str  # storage key of the .pt file
    run_id: int
    project_id: int
    plan: RunPlan


@dataclass(frozen=True)
class ClipRecord:
    """A generated clip's row. `(checkpoint_id, index)` is its natural key."""

    checkpoint_id: int
    project_id: int
    run_id: int
    job_id: int
    epoch: int
    index: int
    seed: int  # the clip's own seed: model.generate(seeds=[seed]) regenerates this exact clip
    temperature: float
    sample_rate: int  # Hz
    duration_s: float
    audio_path: str
    audio_format: str
    peaks_path: str
    features: dict[str, Any]
    loudness_lufs: float | None
    peak_dbfs: float | None
    silence_ratio: float | None
    clipping: float | None
    provenance: dict[str, Any] | None = None  # a primed clip's moment (app/services/priming.py)


def load_run(session: Session, run_id: int) -> RunSpec:
    """The run, its plan and its album. NotFound when the run is gone, Conflict when the
    project has no source tracks, ContractError when the stored plan cannot be read."""
    run = session.get(Run, run_id)
    if run is None:
        raise NotFound("run", run_id)
    rows = session.execute(
        select(SourceTrack.display_name, SourceTrack.path, SourceTrack.sha256)
        .where(SourceTrack.project_id == run.project_id)
        .order_by(SourceTrack.id)
    ).all()
    if not rows:
        raise Conflict("the project has no source tracks: upload album audio first")
    sources = tuple(SourceFile(name, key, sha) for name, key, sha in rows)
    return RunSpec(run.id, run.project_id, RunPlan.from_dict(run.config), sources)


def set_run_dataset(session: Session, run_id: int, dataset_id: int) -> None:
    session.execute(update(Run).where(Run.id == run_id).values(dataset_id=dataset_id))


def record_epoch(
    session: Session, spec: RunSpec, record: EpochRecord, checkpoint_key: str
) -> int:
    """The epoch's Checkpoint row (once) and its entry in the run's metrics (once); the run's
    `current_epoch` never goes back. Returns the checkpoint's id."""
    insert_ignore(
        session,
        Checkpoint,
        {
            "run_id": spec.id,
            "epoch": record.epoch,
            "step": record.step,
            "train_nll_bits": record.train_nll_bits,
            "valid_nll_bits": record.valid_nll_bits,
            "path": checkpoint_key,
        },
        key=("run_id", "epoch"),
    )
    checkpoint_id = session.scalar(
        select(Checkpoint.id).where(Checkpoint.run_id == spec.id, Checkpoint.epoch == record.epoch)
    )
    run = session.execute(select(Run.metrics, Run.current_epoch).where(Run.id == spec.id)).one()
    metrics = {int(m["epoch"]): m for m in run.metrics if "epoch" in m}
    metrics.setdefault(record.epoch, {**asdict(record), "clips": spec.plan.clips_per_epoch})
    session.execute(
        update(Run)
        .where(Run.id == spec.id)
        .values(
            metrics=[metrics[e] for e in sorted(metrics)],
            current_epoch=max(run.current_epoch, record.epoch),
        )
    )
    assert checkpoint_id is not None
    return int(checkpoint_id)


@dataclass(frozen=True)
class GenerationSpeed:
    """How fast a gpu worker made an epoch's clips: `audio_s` of audio in all, over `wall_s`
    (model load, peaks and rows included), `streams` at a time. The radio's start form reads it
    (app/services/radio_speed.py) before any radio of the run has been measured."""

    audio_s: float
    wall_s: float
    streams: int


def record_generation_speed(
    session: Session, run_id: int, epoch: int, speed: GenerationSpeed
) -> None:
    """Add `generation` to the epoch's entry of the run's metrics (the entry record_epoch made)."""
    metrics = session.scalar(select(Run.metrics).where(Run.id == run_id)) or []
    updated = [
        {**m, "generation": asdict(speed)} if m.get("epoch") == epoch else m for m in metrics
    ]
    session.execute(update(Run).where(Run.id == run_id).values(metrics=updated))


def run_clip_count(session: Session, run_id: int) -> int:
    return int(session.scalar(select(func.count()).where(Clip.run_id == run_id)) or 0)


def checkpoint_source(session: Session, checkpoint_id: int) -> CheckpointSource:
    row = session.execute(
        select(Checkpoint.epoch, Checkpoint.path, Run.id, Run.project_id, Run.config)
        .join(Run, Run.id == Checkpoint.run_id)
        .where(Checkpoint.id == checkpoint_id)
    ).one_or_none()
    if row is None:
        raise NotFound("checkpoint", checkpoint_id)
    epoch, key, run_id, project_id, config = row
    plan = RunPlan.from_dict(config)
    return CheckpointSource(checkpoint_id, epoch, key, run_id, project_id, plan)


def reserve_clip_indices(
    session: Session, *, job_id: int, source: CheckpointSource, n: int
) -> int:
    """The first of `n` clip indices of `source` that nobody else makes: past the existing
    clips, past the indices the run itself makes for this epoch, and past what other unfinished
    generating jobs reserved. The caller records the reservation in its job's payload in the
    same transaction.

    Allocators take turns: the checkpoint row is locked FOR UPDATE on PostgreSQL, and SQLite
    writes one transaction at a time (BEGIN IMMEDIATE).
    """
    session.execute(select(Checkpoint.id).where(Checkpoint.id == source.id).with_for_update())
    top = session.scalar(select(func.max(Clip.index)).where(Clip.checkpoint_id == source.id))
    first = max(source.plan.clips_per_epoch, -1 if top is None else top + 1)
    others = session.execute(
        select(Job.id, Job.kind, Job.payload).where(
            Job.kind.in_([k.name for k in RESERVING]),
            Job.project_id == source.project_id,
            Job.id != job_id,
            Job.status.in_(("queued", "running")),
        )
    )
    for other_id, kind, payload in others:
        try:
            reserved = kind_named(kind).decode(payload).reservation()
        except ContractError as exc:
            raise Conflict(f"job {other_id} holds an unreadable reservation: {exc}") from None
        if reserved is not None and reserved[0] == source.id:
            first = max(first, reserved[1] + reserved[2])
    return first


def existing_clip_indices(session: Session, checkpoint_id: int) -> set[int]:
    return set(session.scalars(select(Clip.index).where(Clip.checkpoint_id == checkpoint_id)))


def clip_ids_of(session: Session, checkpoint_id: int, first: int, n: int) -> list[int]:
    """Ids of clips `first .. first + n - 1` of a checkpoint, in index order."""
    rows = session.scalars(
        select(Clip.id)
        .where(Clip.checkpoint_id == checkpoint_id, Clip.index >= first, Clip.index < first + n)
        .order_by(Clip.index)
    )
    return list(rows)


def record_clip(session: Session, record: ClipRecord) -> int | None:
    """Insert the clip's row unless it exists; returns the new id, None when it was there."""
    return insert_ignore(session, Clip, asdict(record), key=("checkpoint_id", "index"))
