"""Generated (Markov) song titles."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from app.schemas.common import Out, RequestBody

SEED = Field(None, ge=0, le=2**31 - 1, description="default: a random seed, recorded on the job")


class TitlesGenerateIn(RequestBody):
    """Body of `POST /projects/{id}/titles/generate`."""

    n: int = Field(100, ge=1, le=5000, description="how many distinct novel titles to draw")
    seed: int | None = SEED
    replace: bool = Field(
        False, description="first delete the project's generated titles that are not pinned"
    )


class TitleOut(Out):
    id: int
    project_id: int
    job_id: int | None = Field(description="the job that generated it (null: written by hand)")
    text: str
    position: int = Field(description="order within its job's draw (0 = first)")
    seed: int | None = Field(description="the seed of the draw it came from")
    pinned: bool = Field(description="kept by the curator (regenerating never removes it)")
    created_at: datetime
    updated_at: datetime


class TitlePatch(RequestBody):
    """Body of `PATCH /titles/{id}`: fields left out stay as they are."""

    text: str | None = Field(None, min_length=1, max_length=500)
    pinned: bool | None = None
