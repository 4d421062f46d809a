"""Priming: resolve "continue from this moment" (a source track or a clip, `start_s`, `seconds`)
to the excerpt a generator reads first, for clip generation (app/services/runs.py) and the
radio (app/services/radio.py) alike; the worker decodes it (worker/priming.py).

Everything that can be refused is refused here, before a job exists: an id of another project,
a start past the end, an excerpt that the end of the audio cuts shorter than the model's
lookback (the engine warms its state one top-tier frame at a time and needs at least one).
A file at another sample rate than the model's is resampled by the worker, as training data is.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from app.catalog import Clip, Run, SourceTrack
from app.contract.payloads import PrimeExcerpt
from app.contract.plan import RunPlan
from app.schemas.priming import PrimeIn
from app.services.errors import InvalidInput, NotFound


def resolve_prime(session: Session, run: Run, prime: PrimeIn) -> PrimeExcerpt:
    """The excerpt as a storage key and a label, for a generator of `run` (its plan gives the
    model's lookback and rate); the source or clip must belong to the run's project."""
    project_id, plan = run.project_id, RunPlan.from_dict(run.config)
    if prime.source_id is not None:
        source = session.get(SourceTrack, prime.source_id)
        if source is None or source.project_id != project_id:
            raise NotFound("source", prime.source_id)
        key, length, label = source.path, source.duration_s, source.display_name
    else:
        clip = session.get(Clip, prime.clip_id)
        if clip is None or clip.project_id != project_id:
            raise NotFound("clip", prime.clip_id)
        key, length, label = clip.audio_path, clip.duration_s, f"clip #{clip.id}"
    if prime.start_s >= length:
        raise InvalidInput(
            f"the prime starts at {prime.start_s:g} s, after the end ({length:.1f} s)",
            field="prime.start_s",
        )
    usable = min(prime.seconds, length - prime.start_s)
    lookback = plan.model.lookback
    if int(usable * plan.sample_rate) < lookback:
        raise InvalidInput(
            f"the prime holds {usable * 1000:.1f} ms of audio, shorter than the model's "
            f"lookback ({lookback} samples = {lookback / plan.sample_rate * 1000:.1f} ms at "
            f"{plan.sample_rate} Hz): choose a longer or earlier excerpt",
            field="prime.seconds",
        )
    return PrimeExcerpt(
        key=key, start_s=prime.start_s, seconds=prime.seconds,
        source_id=prime.source_id, clip_id=prime.clip_id, label=label,
    )


def prime_provenance(prime: PrimeExcerpt) -> dict[str, Any]:
    """What a primed clip's `provenance` records: where its opening came from."""
    moment: dict[str, Any] = (
        {"source_id": prime.source_id}
        if prime.source_id is not None
        else {"clip_id": prime.clip_id}
    )
    return {
        "kind": "prime",
        "prime": {**moment, "start_s": prime.start_s, "seconds": prime.seconds},
        "label": prime.label,
    }


def primed_from(provenance: dict[str, Any] | None) -> str | None:
    """"continued from Track 2 at 1:23" for a primed clip's provenance; None for other clips."""
    if not provenance or provenance.get("kind") != "prime":
        return None
    minutes, seconds = divmod(float(provenance["prime"]["start_s"]), 60)
    whole = seconds == int(seconds)
    at = f"{int(minutes)}:" + (f"{seconds:02.0f}" if whole else f"{seconds:04.1f}")
    return f"continued from {provenance.get('label') or 'an excerpt'} at {at}"
