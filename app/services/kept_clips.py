""""Keep that!": an excerpt of something heard (the radio, a live clip) stored as a new clip.

The clip is an ordinary clip of the checkpoint the audio came from: an index reserved like any
generated clip's, its file, peaks and measured features, a provenance saying where it came
from, and analysis queued like for any new clip. Its storage key names the moment it was cut
from, so keeping the same moment twice gives the same clip.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import soundfile as sf
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.catalog import Clip
from app.queue import TaskQueue
from app.services import analysis, training
from app.services.training import CheckpointSource, ClipRecord
from app.storage import Storage
from model.features import measure
from model.peaks import compute_peaks


@dataclass(frozen=True)
class Excerpt:
    audio: npt.NDArray[np.float32]  # mono, in [-1, 1]
    sample_rate: int
    seed: int  # the seed of the stream it was cut from
    temperature: float
    job_id: int  # the job whose stream it was (the radio, the generating job)
    provenance: dict[str, Any]
    tags: list[str]
    notes: str


def store_excerpt(
    session: Session,
    storage: Storage,
    queue: TaskQueue,
    source: CheckpointSource,
    key: str,
    excerpt: Excerpt,
) -> Clip:
    """The clip stored under `key` (made now, or the one an earlier keep of it made)."""
    same = session.scalars(select(Clip).where(Clip.audio_path == key)).first()
    if same is not None:
        return same
    audio, sr = excerpt.audio, excerpt.sample_rate
    buf = io.BytesIO()
    sf.write(buf, audio, sr, format="WAV", subtype="PCM_16")
    storage.write_bytes(key, buf.getvalue())
    peaks_key = key.removesuffix(".wav") + ".peaks.json"
    storage.write_bytes(peaks_key, json.dumps(compute_peaks(audio, sr)).encode())
    features = measure(audio, sr)
    # job_id 0: the excerpt belongs to no generating job, so the index steps past every
    # unfinished job's reservation (a live clip's own job included).
    index = training.reserve_clip_indices(session, job_id=0, source=source, n=1)
    record = ClipRecord(
        checkpoint_id=source.id, project_id=source.project_id, run_id=source.run_id,
        job_id=excerpt.job_id, epoch=source.epoch, index=index, seed=excerpt.seed,
        temperature=excerpt.temperature, sample_rate=sr, duration_s=len(audio) / sr,
        audio_path=key, audio_format="WAV", peaks_path=peaks_key,
        features=features.to_dict(), loudness_lufs=features.loudness_lufs,
        peak_dbfs=features.peak_dbfs, silence_ratio=features.silence_ratio,
        clipping=features.clipping,
    )
    clip_id = training.record_clip(session, record)
    assert clip_id is not None, "a freshly reserved clip index was taken"
    clip = session.get(Clip, clip_id)
    assert clip is not None
    clip.provenance = excerpt.provenance
    clip.tags = excerpt.tags
    clip.notes = excerpt.notes
    # Analysed like any new clip (flags, quality, closeness), on the cpu queue.
    job = analysis.queue_checkpoint_analysis(session, source.project_id, source.id)
    session.commit()
    if job is not None:
        analysis.publish_job(session, queue, job.id)
    session.refresh(clip)
    return clip
