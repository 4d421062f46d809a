"""Tracks (songs as edit decision lists), their revisions, and the editing helpers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from app.schemas.common import Out, RequestBody

EDL_DESCRIPTION = (
    "the edit list: a list of items, or {items, crossfade_s, repeat_crossfade_s, micro_fade_s, "
    "lanes}; an item is {clip_id, start_s, end_s, gain_db, fade_in_s, fade_out_s, repeat, lane, "
    "offset_s, pan, crossfade_s} (see app/audio/edl.py)"
)


class TrackCreate(RequestBody):
    name: str = Field("", max_length=300)
    edl: Any = Field(default_factory=list, description=EDL_DESCRIPTION)


class TrackPut(RequestBody):
    """Body of `PUT /tracks/{id}`: a new revision. `base_revision`, when given, must be the
    current one (409 otherwise), so two editors cannot silently overwrite each other."""

    name: str | None = Field(None, max_length=300, description="unchanged when left out")
    edl: Any = Field(description=EDL_DESCRIPTION)
    base_revision: int | None = Field(None, ge=1, description="the revision this edit started from")


class TrackOut(Out):
    id: int
    project_id: int
    name: str
    revision: int = Field(description="goes up by one on every save")
    edl: dict[str, Any] = Field(description="normalised edit list (EditList.to_json)")
    duration_s: float = Field(description="length of the render in seconds")
    audio_url: str = Field(description="the server render of this revision (WAV, HTTP Range)")
    created_at: datetime
    updated_at: datetime


class TrackSummary(Out):
    id: int
    project_id: int
    name: str
    revision: int
    items: int
    lanes: int
    duration_s: float
    updated_at: datetime


class RevisionOut(BaseModel):
    revision: int
    saved_at: datetime
    name: str
    edl: dict[str, Any]


class SnapOut(BaseModel):
    times: list[float] = Field(
        description="each requested time snapped to its nearest zero crossing"
    )


class AlignIn(RequestBody):
    lane_a: int = Field(0, ge=0)
    lane_b: int = Field(1, ge=0)
    max_shift_s: float = Field(0.5, gt=0, le=5)
    edl: Any = Field(None, description="align this (unsaved) edit list instead of the saved one")


class AlignOut(BaseModel):
    shift_s: float = Field(description="how much later lane_b's accents come than lane_a's")
    lanes: dict[str, dict[str, float]] = Field(
        description="lane settings that line the accents up (offsets stay ≥ 0)"
    )


class MonoCheckOut(BaseModel):
    revision: int
    correlation: float
    loss_db: float
    worst_window_loss_db: float | None
    warning: bool
    message: str | None
