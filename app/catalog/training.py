"""Training runs and what they produce: checkpoints, clips, and the curator's markers on clips."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.catalog.base import Base, Timestamps, utcnow
from app.catalog.jobs import JOB_STATUSES

_STATUS_CHECK = "status IN (" + ", ".join(f"'{s}'" for s in JOB_STATUSES) + ")"


class Run(Timestamps, Base):
    """A training run: resolved config, status, per-epoch metrics.

    `config` is the fully resolved run config (see app/services/runs.py); `metrics` is a list with
    one dict per finished epoch. `job_id` points at the job currently driving the run (a resume
    creates a new job); the job row holds the lease, the run row holds what the curator sees.
    """

    __tablename__ = "runs"
    __table_args__ = (CheckConstraint(_STATUS_CHECK, name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datasets.id", ondelete="SET NULL"), index=True
    )
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    metrics: Mapped[list[Any]] = mapped_column(default=list)
    current_epoch: Mapped[int] = mapped_column(default=0)  # epochs completed
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    attempt: Mapped[int] = mapped_column(default=0)

    checkpoints: Mapped[list[Checkpoint]] = relationship(
        back_populates="run",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Checkpoint.epoch",
    )


class Checkpoint(Base):
    """One saved model per epoch of a run. `path` is a storage key."""

    __tablename__ = "checkpoints"
    __table_args__ = (UniqueConstraint("run_id", "epoch"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    epoch: Mapped[int]
    step: Mapped[int]
    train_nll_bits: Mapped[float | None]
    valid_nll_bits: Mapped[float | None]
    path: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Quality of the epoch's analysed clips (app/services/analysis.py): the Fréchet distance of
    # their frame features to the album's, and the shares with a flag raised and with `copied`.
    style_distance: Mapped[float | None]
    flagged_share: Mapped[float | None]
    copied_share: Mapped[float | None]
    analyzed_clips: Mapped[int] = mapped_column(default=0)

    run: Mapped[Run] = relationship(back_populates="checkpoints")


class Clip(Timestamps, Base):
    """A generated clip. `(checkpoint_id, index)` is its natural key, so a redelivered generation
    task inserts nothing twice.

    `project_id`, `run_id` and `epoch` copy the checkpoint's so the catalog list filters and sorts
    on one table with composite indexes (project, key, id) that keyset pagination walks.
    Feature columns duplicate the headline numbers of `features` for sorting.
    """

    __tablename__ = "clips"
    __table_args__ = (
        UniqueConstraint("checkpoint_id", "index"),
        CheckConstraint("rating IS NULL OR (rating >= 0 AND rating <= 5)", name="rating"),
        Index("ix_clips_project_id_id", "project_id", "id"),
        Index("ix_clips_project_id_epoch_id", "project_id", "epoch", "id"),
        Index("ix_clips_project_id_rating_id", "project_id", "rating", "id"),
        Index("ix_clips_project_id_loudness_id", "project_id", "loudness_lufs", "id"),
        Index("ix_clips_project_id_silence_id", "project_id", "silence_ratio", "id"),
        Index("ix_clips_run_id_epoch_id", "run_id", "epoch", "id"),
        Index("ix_clips_project_id_quality_id", "project_id", "quality", "id"),
        Index("ix_clips_project_id_epoch_quality_id", "project_id", "epoch", "quality", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    checkpoint_id: Mapped[int] = mapped_column(ForeignKey("checkpoints.id", ondelete="CASCADE"))
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), index=True
    )
    epoch: Mapped[int]
    index: Mapped[int]  # 0.. within the checkpoint
    seed: Mapped[int]
    temperature: Mapped[float]
    sample_rate: Mapped[int]  # Hz
    duration_s: Mapped[float]
    audio_path: Mapped[str] = mapped_column(String(500))
    # as stored; sets the Content-Type it is served with
    audio_format: Mapped[str] = mapped_column(String(16), default="WAV")
    peaks_path: Mapped[str | None] = mapped_column(String(500))
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    loudness_lufs: Mapped[float | None]  # None for digital silence
    peak_dbfs: Mapped[float | None]
    silence_ratio: Mapped[float | None]
    clipping: Mapped[float | None]
    # Share of the clip that does NOT closely follow a stretch of the album, 0..1 (1: nothing
    # copied), from `closeness`; None until analysed.
    originality: Mapped[float | None]
    rating: Mapped[int | None]
    kept: Mapped[bool | None]  # True keep, False reject, None undecided
    tags: Mapped[list[Any]] = mapped_column(default=list)
    notes: Mapped[str] = mapped_column(Text, default="")
    # What the cpu worker's analysis found (model/analysis.py, app/services/analysis.py):
    # `flags` the raised pathology flags [{name, score, reason, details}], `flag_mask` one bit
    # per raised flag (app/services/analysis.py FLAG_BITS; None: not analysed) for filtering,
    # `quality` the 0..1 score for "best first", `closeness` the best-matching moment of the
    # album, `analysis` every detector's score, the style distance and a fingerprint.
    flags: Mapped[list[Any]] = mapped_column(default=list)
    flag_mask: Mapped[int | None]
    quality: Mapped[float | None]
    closeness: Mapped[dict[str, Any] | None]
    analysis: Mapped[dict[str, Any] | None]
    analysis_version: Mapped[int | None]
    analyzed_at: Mapped[datetime | None]
    # Where a clip that was not generated as a clip came from ("keep that" on the radio:
    # {"radio_id", "checkpoint_id", "epoch", "seed", "generation", "offset_s", ...});
    # None for clips generated from their own seed.
    provenance: Mapped[dict[str, Any] | None]

    markers: Mapped[list[Marker]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="Marker.time_s"
    )


class Marker(Base):
    """A point the curator marked on a clip (seconds from its start)."""

    __tablename__ = "markers"

    id: Mapped[int] = mapped_column(primary_key=True)
    clip_id: Mapped[int] = mapped_column(ForeignKey("clips.id", ondelete="CASCADE"), index=True)
    time_s: Mapped[float]
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
