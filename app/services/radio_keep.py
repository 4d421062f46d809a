""""Keep that!" on the radio: the last N seconds of the stream become a clip in the catalog.

The excerpt comes from the buffer's PCM (app/radio/buffer.py), not from the MP3, so the clip is
the generated audio itself. It ends where the listener is (`end_s`, stream time) or at the air
clock, and reaches back as far as the buffer keeps. The clip is an ordinary clip of the radio's
checkpoint (an index reserved like any generated clip's), with its provenance: the radio, the
checkpoint, the generator's seed and takeover number, and the offset in the stream; it is
queued for analysis like any new clip (app/services/kept_clips.py). Keeping the same moment
twice gives the same clip (its storage key is made of the radio and the offset).
"""

from __future__ import annotations

import math
import time

import numpy as np
from sqlalchemy.orm import Session

from app.catalog import Clip
from app.queue import TaskQueue
from app.services import training
from app.services.errors import Conflict
from app.services.kept_clips import Excerpt, store_excerpt
from app.services.radio import buffer_of, get_radio
from app.storage import Storage


def keep(
    session: Session,
    storage: Storage,
    queue: TaskQueue,
    radio_id: int,
    *,
    seconds: float,
    end_s: float | None,
) -> Clip:
    radio = get_radio(session, storage, radio_id)
    head = radio.head
    if head is None or head.next == 0:
        raise Conflict(f"radio {radio_id} has no audio yet")
    seg = head.segment_s
    now_k = min(head.on_air(time.time()) + 1, head.next)
    end_k = now_k if end_s is None else min(head.next, max(1, math.ceil(end_s / seg)))
    start_k, pcm = buffer_of(storage, radio.job).pcm(
        max(head.first, end_k - math.ceil(seconds / seg)), end_k
    )
    if pcm.shape[0] == 0:
        raise Conflict(f"radio {radio_id}: that moment is no longer in the buffer")
    sr = head.sample_rate
    audio = pcm.astype(np.float32) / 32768.0
    offset = start_k * head.segment_samples
    source = training.checkpoint_source(session, head.checkpoint_id)
    key = (
        f"projects/{source.project_id}/runs/{source.run_id}/clips/"
        f"radio-{radio_id}-{offset:012d}-{pcm.shape[0]}.wav"
    )
    generation = head.generation_at(start_k)
    seed = generation.seed if generation is not None else radio.payload.seed
    spans = [g.number for g in head.generations if start_k < g.first_segment < end_k]
    excerpt = Excerpt(
        audio=audio, sample_rate=sr, seed=seed, temperature=radio.payload.temperature,
        job_id=radio_id,
        provenance={
            "kind": "radio",
            "radio_id": radio_id,
            "checkpoint_id": source.id,
            "epoch": source.epoch,
            "seed": seed,
            "generation": None if generation is None else generation.number,
            "takeovers_inside": spans,
            "offset_s": round(offset / sr, 6),
            "seconds": round(len(audio) / sr, 6),
            "temperature": radio.payload.temperature,
        },
        tags=["radio"],
        notes=f"kept from radio {radio_id} at {offset / sr:.1f} s (epoch {source.epoch})",
    )
    return store_excerpt(session, storage, queue, source, key, excerpt)
