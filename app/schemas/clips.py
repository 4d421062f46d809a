"""Generated clips and markers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints

from app.schemas.common import Out, RequestBody
from model.closeness import COPIED_RUN_S

Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


FlagName = Literal["silent", "noise", "exploded", "drone", "loop", "dc", "clipped", "copied"]


class FlagOut(BaseModel):
    """A raised pathology flag (model/pathology.py; `copied` from closeness)."""

    name: FlagName
    score: float = Field(ge=0, le=1, description="0..1; a flag is raised from 0.5")
    reason: str = Field(description="one line a curator can read")
    details: dict[str, float] = Field(
        description="the numbers behind it, e.g. a loop's period_s and start_s (seconds)"
    )


class ClosenessOut(BaseModel):
    """How closely the clip follows the album it was trained on (model/closeness.py)."""

    source_track_id: int = Field(description="the best-matching source track")
    source_name: str
    source_offset_s: float = Field(description="the best-matching moment, in that track")
    clip_offset_s: float = Field(description="the same moment in the clip")
    similarity: float = Field(description="smoothed cosine similarity there, -1..1")
    seconds_matched: float = Field(description="seconds of the clip that follow the album")
    longest_run_s: float = Field(description="the longest of those stretches")
    share: float = Field(ge=0, le=1, description="seconds_matched / duration")
    copied: bool = Field(description=f"the longest run lasts {COPIED_RUN_S:g} s or more")
    source_audio_url: str = Field(description="the source track's audio (HTTP Range)")


class ClipOut(Out):
    id: int
    checkpoint_id: int
    project_id: int
    run_id: int
    epoch: int
    index: int
    seed: int
    temperature: float
    sample_rate: int = Field(description="Hz")
    duration_s: float
    audio_format: str
    features: dict[str, Any]
    loudness_lufs: float | None
    peak_dbfs: float | None
    silence_ratio: float | None
    clipping: float | None
    originality: float | None = Field(
        description="share of the clip that does NOT closely follow a stretch of the album, "
        "0..1 (1: nothing copied); null until analysed"
    )
    flags: list[FlagOut] = Field(description="raised pathology flags; [] also when unanalysed")
    flag_scores: dict[str, float] | None = Field(
        description="every detector's score 0..1 (raised from 0.5); null until analysed"
    )
    quality: float | None = Field(
        description="0..1, best first (README 'Know which clips are good'); null until analysed"
    )
    style_distance: float | None = Field(
        description="Fréchet distance of the clip's frame features to the album's"
    )
    closeness: ClosenessOut | None = Field(description="null without source tracks or sound")
    analysis_version: int | None
    analyzed_at: datetime | None
    rating: int | None
    kept: bool | None = Field(description="true keep, false reject, null undecided")
    tags: list[str]
    notes: str
    provenance: dict[str, Any] | None = Field(
        None, description="where a kept excerpt came from (kind radio: radio, checkpoint, seed, "
        "offset_s), or the moment a primed clip continues (kind prime: prime {source_id | "
        "clip_id, start_s, seconds}, label); null for clips generated from their own seed alone"
    )
    primed_from: str | None = Field(
        None, description='a primed clip\'s moment in words: "continued from Track 2 at 1:23"'
    )
    audio_url: str
    peaks_url: str | None
    created_at: datetime
    updated_at: datetime


class ClipPatch(RequestBody):
    """Fields to change; a field left out is unchanged, an explicit null clears it."""

    rating: int | None = Field(None, ge=1, le=5)
    kept: bool | None = None
    tags: list[Tag] | None = Field(None, max_length=64)
    notes: str | None = Field(None, max_length=10_000)


class MarkerIn(RequestBody):
    time_s: float = Field(ge=0, le=86_400)
    label: str = Field("", max_length=200)


class MarkerOut(Out):
    id: int
    clip_id: int
    time_s: float
    label: str
    created_at: datetime


class AnalysisIn(RequestBody):
    """Body of `POST /projects/{id}/analysis` (optional)."""

    redo: bool = Field(False, description="also clips the current analysis has already seen")
