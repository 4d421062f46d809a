"""Live clips: clips that can be heard while they are generated."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LiveClipOut(BaseModel):
    state: Literal["live", "finished"] = Field(
        description="live: still generating; finished: an ordinary clip now (`clip_id`)"
    )
    checkpoint_id: int
    run_id: int
    epoch: int
    index: int = Field(description="the clip's index in its checkpoint")
    seed: int
    temperature: float
    job_id: int = Field(description="the job generating it")
    sample_rate: int
    seconds: float = Field(description="its length when finished")
    generated_s: float = Field(description="seconds written so far")
    progress: float = Field(ge=0, le=1)
    clip_id: int | None = Field(description="the clip's id once it is finished")
    url: str
    stream_url: str = Field(description="WAV, growing: plays from the first second")
    peaks_url: str
    keep_url: str


class LiveKeepIn(BaseModel):
    """Body of `POST .../live-clips/{index}/keep`: save the last `seconds` as a clip."""

    model_config = ConfigDict(extra="forbid")

    seconds: float = Field(30.0, gt=0, le=1800, description="up to what is generated so far")
    end_s: float | None = Field(
        None, ge=0, description="where the excerpt ends, in the clip's time (the player's "
        "position); default: everything generated so far"
    )
