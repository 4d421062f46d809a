"""Audio analysis that helps a curator edit a track: cut points snapped to zero crossings,
two lanes lined up by their accents, and the mono-sum check of a layered (stereo) track.

Nothing here writes: checks render in memory at the analysis rate.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import soundfile as sf
from sqlalchemy.orm import Session

from app.audio.align import auto_align, mono_sum_cancellation
from app.audio.edl import EditItem, EditList, Lane
from app.audio.render import render_track, zero_crossing
from app.audio.timeline import to_samples
from app.catalog import Clip
from app.services.errors import InvalidInput, NotFound
from app.services.track_renders import RenderJob, clip_files, clip_loader
from app.services.tracks import get_track, parse_edl
from app.storage import Storage

ANALYSIS_RATE = 16_000  # enough for onset envelopes, and cheap

def snap_to_zero_crossings(
    session: Session, storage: Storage, clip_id: int, times: list[float], *, search_ms: float = 5.0
) -> list[float]:
    """Each time (seconds into the clip) moved to the nearest zero crossing within ±search_ms.

    Reads only a small window of the clip's file around each time.
    """
    clip = session.get(Clip, clip_id)
    if clip is None:
        raise NotFound("clip", clip_id)
    path = storage.path(clip.audio_path)
    session.rollback()
    if not path.is_file():
        raise NotFound("clip audio file", clip_id)
    out = []
    with sf.SoundFile(path) as f:
        sr, frames = f.samplerate, f.frames
        reach = to_samples(search_ms / 1000.0, sr) + 1
        for t in times:
            t = min(max(t, 0.0), frames / sr)
            centre = min(to_samples(t, sr), frames)
            lo = max(0, centre - reach)
            f.seek(lo)
            window = f.read(min(frames, centre + reach + 1) - lo, dtype="float64", always_2d=True)
            snapped = zero_crossing(window.T, t - lo / sr, sr, search_ms)
            out.append(round(lo / sr + snapped, 9))
    return out


def align_lanes(
    session: Session,
    storage: Storage,
    track_id: int,
    *,
    lane_a: int = 0,
    lane_b: int = 1,
    max_shift_s: float = 0.5,
    edl: Any = None,
) -> tuple[float, dict[int, Lane]]:
    """Line up the accents of `lane_b` with those of `lane_a` (onset envelopes cross-correlated).

    Returns the measured shift (seconds `lane_b` comes after `lane_a`) and new settings for both
    lanes: `lane_b` starts earlier by the shift or, when it cannot start before 0, `lane_a` later.
    """
    track = get_track(session, track_id)
    if edl is not None:
        parsed = parse_edl(session, track.project_id, edl)[0]
    else:
        parsed = EditList.from_json(track.edl)
    if lane_a == lane_b:
        raise InvalidInput("choose two different lanes")
    files = clip_files(session, storage, track.project_id, parsed)
    session.rollback()
    signals = []
    for lane in (lane_a, lane_b):
        items = tuple(i for i in parsed.items if i.lane == lane)
        if not items:
            raise InvalidInput(f"lane {lane} has no items", field=f"lanes.{lane}")
        solo = EditList(
            items=tuple(_centred(i) for i in items),
            crossfade_s=parsed.crossfade_s,
            repeat_crossfade_s=parsed.repeat_crossfade_s,
            micro_fade_s=parsed.micro_fade_s,
            lanes={lane: Lane(pan=0.0, offset_s=parsed.lane(lane).offset_s)},
        )
        stereo = render_track(solo, clip_loader(files), sample_rate=ANALYSIS_RATE)
        signals.append(stereo.sum(axis=0))
    n = max(s.shape[0] for s in signals)
    a, b = (np.pad(s, (0, n - s.shape[0])) for s in signals)
    shift = auto_align(a, b, ANALYSIS_RATE, max_shift_s=max_shift_s)
    la, lb = parsed.lane(lane_a), parsed.lane(lane_b)
    off_a, off_b = la.offset_s, lb.offset_s - shift
    if off_b < 0:
        off_a, off_b = off_a - off_b, 0.0
    lanes = {
        lane_a: Lane(pan=la.pan, offset_s=round(off_a, 6), gain_db=la.gain_db),
        lane_b: Lane(pan=lb.pan, offset_s=round(off_b, 6), gain_db=lb.gain_db),
    }
    return shift, lanes


def _centred(item: EditItem) -> EditItem:
    return replace(item, pan=0.0)


def mono_check(job: RenderJob) -> dict[str, Any]:
    """How much the job's revision loses when folded to mono (a warning if the lanes cancel).

    Rendered in memory at the analysis rate: nothing is written for a check.
    """
    audio = render_track(job.edl, clip_loader(job.clip_files), sample_rate=ANALYSIS_RATE)
    return mono_sum_cancellation(audio[0], audio[1], sample_rate=ANALYSIS_RATE)
