"""Live clips: clips still being generated, found through their progress files
(app/live/progress.py), heard from their growing files (app/live/growing.py), and "keep that"
on what has been generated so far.

A progress file counts as live only while its job is queued or running and the clip has no
row yet: a worker killed mid-batch leaves its files behind, and they must not look live.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Clip, Job
from app.live.growing import pcm_so_far
from app.live.progress import LiveProgress, list_progress, progress_key, read_progress
from app.queue import TaskQueue
from app.services import training
from app.services.errors import Conflict, NotFound
from app.services.kept_clips import Excerpt, store_excerpt
from app.services.runs import list_runs
from app.storage import Storage
from model.peaks import compute_peaks

LIVE_STATUSES = ("queued", "running")
PEAK_PIXELS = 800  # buckets across the whole clip: a growing waveform keeps its scale


@dataclass(frozen=True)
class LiveClip:
    progress: LiveProgress

    @property
    def seconds(self) -> float:
        return self.progress.total_samples / self.progress.sample_rate

    @property
    def generated_s(self) -> float:
        return self.progress.samples / self.progress.sample_rate


def list_live_clips(
    session: Session, storage: Storage, project_id: int, *, run_id: int | None = None,
    epoch: int | None = None,
) -> list[LiveClip]:
    """The project's live clips (of one run and epoch if given), by run, epoch and index."""
    run_ids = [r.id for r in list_runs(session, project_id) if run_id in (None, r.id)]
    found = [
        p for rid in run_ids for p in list_progress(storage, project_id, rid)
        if epoch in (None, p.epoch)
    ]
    if not found:
        return []
    running = set(session.scalars(select(Job.id).where(
        Job.id.in_({p.job_id for p in found}), Job.status.in_(LIVE_STATUSES))))
    landed = {(c, i) for c, i in session.execute(select(Clip.checkpoint_id, Clip.index).where(
        Clip.checkpoint_id.in_({p.checkpoint_id for p in found})))}
    return [
        LiveClip(p) for p in found
        if p.job_id in running and (p.checkpoint_id, p.index) not in landed
    ]


def landed_clip(session: Session, checkpoint_id: int, index: int) -> Clip | None:
    """The clip's row, once it has one."""
    return session.scalars(
        select(Clip).where(Clip.checkpoint_id == checkpoint_id, Clip.index == index)
    ).first()


def find_live_clip(
    session: Session, storage: Storage, checkpoint_id: int, index: int
) -> LiveClip | Clip:
    """The live clip, or its row when it is finished. NotFound when it is neither."""
    source = training.checkpoint_source(session, checkpoint_id)
    row = landed_clip(session, checkpoint_id, index)
    if row is not None:
        return row
    progress = read_progress(
        storage, progress_key(source.project_id, source.run_id, source.epoch, index)
    )
    if progress is None or not job_is_live(session, progress.job_id):
        raise NotFound("live clip", f"{index} of checkpoint {checkpoint_id}")
    return LiveClip(progress)


def require_live(session: Session, storage: Storage, checkpoint_id: int, index: int) -> LiveClip:
    found = find_live_clip(session, storage, checkpoint_id, index)
    if isinstance(found, Clip):
        raise Conflict(
            f"clip {index} of checkpoint {checkpoint_id} is finished: it is clip {found.id} "
            "now (keep a region of it in the clip editor)", clip_id=found.id
        )
    return found


def job_is_live(session: Session, job_id: int) -> bool:
    status = session.scalar(select(Job.status).where(Job.id == job_id))
    return status in LIVE_STATUSES


def still_generating(session: Session, storage: Storage, live: LiveClip) -> bool:
    """The clip's progress file is still there and its job still runs."""
    p = live.progress
    return read_progress(storage, p.key) is not None and job_is_live(session, p.job_id)


def audio_file(storage: Storage, live: LiveClip) -> Path:
    """The clip's final path (app/live/growing.py reads its temporary name while it grows)."""
    return storage.path(live.progress.audio_path)


def peaks_so_far(storage: Storage, live: LiveClip) -> dict[str, Any]:
    """Waveform peaks of what is written, in buckets of the whole clip's scale, so the page's
    waveform grows to the right without redrawing what it has."""
    p = live.progress
    pcm = pcm_so_far(audio_file(storage, live), p.total_samples)
    per_pixel = max(1, math.ceil(p.total_samples / PEAK_PIXELS))
    doc = compute_peaks(pcm.astype(np.float32) / 32768.0, p.sample_rate,
                        samples_per_pixel=per_pixel)
    return {**doc, "samples": int(pcm.shape[0]), "total_samples": p.total_samples}


def keep(
    session: Session,
    storage: Storage,
    queue: TaskQueue,
    checkpoint_id: int,
    index: int,
    *,
    seconds: float,
    end_s: float | None,
) -> Clip:
    """The last `seconds` before `end_s` (the listener's position; default: all generated so
    far) of a live clip, as a new clip with its provenance."""
    live = require_live(session, storage, checkpoint_id, index)
    p = live.progress
    pcm = pcm_so_far(audio_file(storage, live), p.total_samples)
    sr = p.sample_rate
    end = pcm.shape[0] if end_s is None else min(pcm.shape[0], int(round(end_s * sr)))
    start = max(0, end - int(round(seconds * sr)))
    if end - start <= 0:
        raise Conflict(f"live clip {index} of checkpoint {checkpoint_id} has no audio there yet")
    audio = pcm[start:end].astype(np.float32) / 32768.0
    source = training.checkpoint_source(session, checkpoint_id)
    key = (
        f"projects/{source.project_id}/runs/{source.run_id}/clips/"
        f"live-e{source.epoch:04d}-{index:04d}-{start:012d}-{end - start}.wav"
    )
    excerpt = Excerpt(
        audio=audio, sample_rate=sr, seed=p.seed, temperature=p.temperature, job_id=p.job_id,
        provenance={
            "kind": "live",
            "checkpoint_id": source.id,
            "epoch": source.epoch,
            "live_index": index,
            "seed": p.seed,
            "job_id": p.job_id,
            "offset_s": round(start / sr, 6),
            "seconds": round((end - start) / sr, 6),
            "temperature": p.temperature,
        },
        tags=["live"],
        notes=f"kept from live clip {index} of epoch {source.epoch} at {start / sr:.1f} s",
    )
    return store_excerpt(session, storage, queue, source, key, excerpt)
