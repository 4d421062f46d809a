"""Albums: title, artist, cover and an ordered track list with the join after each track."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from app.schemas.common import Out, RequestBody
from app.schemas.exports import ExportFormat, flac_only
from app.schemas.release import Credit, Isrc, ReleaseDate, Upc

MAX_GAP_MS = 10_000  # distributors refuse more than 10 s of silence at a track's end
MAX_CROSSFADE_MS = 20_000
DEFAULT_GAP_MS = 2_000  # the CD pregap


class AlbumTrackIn(RequestBody):
    """One slot of the track list. The join (`gap_ms` of silence, or a `crossfade_ms` overlap
    into the next track) applies after this track; the last track's join is ignored."""

    # `_one_join` in JSON Schema: not both a gap and a crossfade.
    model_config = ConfigDict(json_schema_extra={"not": {
        "properties": {"gap_ms": {"type": "integer"}, "crossfade_ms": {"type": "integer"}},
        "required": ["gap_ms", "crossfade_ms"],
    }})

    track_id: int
    title: str = Field("", max_length=500)
    gap_ms: int | None = Field(None, ge=0, le=MAX_GAP_MS, description=f"default {DEFAULT_GAP_MS}")
    crossfade_ms: int | None = Field(None, ge=1, le=MAX_CROSSFADE_MS)
    composer: str = Field("", max_length=300, description="songwriter(s) of this track")
    isrc: Isrc = Field("", description="CC-XXX-YY-NNNNN or its 12 characters; stored without "
                       "hyphens; empty: none yet (distributors assign one)")
    credits: list[Credit] = Field(default_factory=list, max_length=30)

    @model_validator(mode="after")
    def _one_join(self) -> AlbumTrackIn:
        if self.gap_ms is not None and self.crossfade_ms is not None:
            raise ValueError("give gap_ms or crossfade_ms, not both")
        return self


class AlbumIn(RequestBody):
    """Body of `POST /projects/{id}/albums` and `PUT /albums/{id}` (the whole album: metadata
    left out is cleared). Every metadata field is written into the exported files' tags."""

    # The part of `_disc_in_set` JSON Schema can state: a disc_total needs a disc_number.
    model_config = ConfigDict(json_schema_extra={
        "if": {"properties": {"disc_total": {"type": "integer"}}, "required": ["disc_total"]},
        "then": {"properties": {"disc_number": {"type": "integer"}}, "required": ["disc_number"]},
    })

    title: str = Field(min_length=1, max_length=300)
    artist: str = Field(min_length=1, max_length=300, description="the band's new name")
    cover_id: int | None = None
    tracks: list[AlbumTrackIn] = Field(default_factory=list, max_length=99)
    album_artist: str = Field("", max_length=300, description="empty: the artist")
    release_date: ReleaseDate = Field(
        "", description="YYYY or YYYY-MM-DD; empty: the year the album was created"
    )
    genre: str = Field("", max_length=100, description="free text, e.g. Technical Death Metal")
    label: str = Field("", max_length=300, description="record label (many distributors use "
                       "the artist's name when there is none)")
    comment: str = Field("", max_length=2000, description="empty: a provenance line")
    upc: Upc = Field("", description="the release's UPC-A (12 digits) or EAN-13 barcode")
    disc_number: int | None = Field(None, ge=1, le=99)
    disc_total: int | None = Field(None, ge=1, le=99)

    @model_validator(mode="after")
    def _disc_in_set(self) -> AlbumIn:
        if self.disc_total is not None:
            if self.disc_number is None:
                raise ValueError("disc_total needs a disc_number")
            if self.disc_number > self.disc_total:
                raise ValueError(f"disc {self.disc_number} of {self.disc_total}: past the last")
        return self


class AlbumTrackOut(BaseModel):
    number: int = Field(description="1-based position on the album")
    track_id: int
    track_name: str
    revision: int
    title: str
    gap_ms: int | None
    crossfade_ms: int | None
    duration_s: float
    start_s: float = Field(description="where the track starts on the album timeline")
    composer: str
    isrc: str = Field(description="12 characters, no hyphens; empty: none")
    credits: list[Credit]


class AlbumOut(Out):
    id: int
    project_id: int
    title: str
    artist: str
    cover_id: int | None
    cover_url: str | None
    tracks: list[AlbumTrackOut]
    duration_s: float = Field(description="total length with gaps and crossfades")
    album_artist: str
    release_date: str
    genre: str
    label: str
    comment: str
    upc: str
    disc_number: int | None
    disc_total: int | None
    track_total: int = Field(description="tracks on this disc, as the tags say n/N")
    created_at: datetime
    updated_at: datetime


class AlbumCheckOut(BaseModel):
    ok: bool = Field(description="no problems (warnings do not stop a release)")
    problems: list[str] = Field(description="readable reasons a distributor would refuse it")
    warnings: list[str] = Field(
        default_factory=list, description="metadata a distributor asks for that is not given"
    )


def _when_mode(mode: str, epoch: JsonDict) -> JsonDict:
    then: JsonDict = {"properties": {"epoch": epoch}}
    return {"if": {"properties": {"mode": {"const": mode}}, "required": ["mode"]}, "then": then}


# `_epoch_fits_mode` in JSON Schema: mode epochs takes no epoch (or "all"), generate not "all".
_EPOCH_FITS_MODE: JsonDict = {"allOf": [
    _when_mode("epochs", {"enum": [None, "all"]}),
    _when_mode("generate", {"not": {"const": "all"}}),
]}


class AutoAlbumIn(RequestBody):
    """Body of `POST /projects/{id}/albums/auto`: the paper's fully automated album.

    mode `clips`: `tracks` random clips of the chosen epoch(s), each a track (an excerpt of
    `seconds` when the clip is longer). `generate`: `tracks` fresh clips of `seconds` from the
    chosen epoch's checkpoint ("Calculating Calculating Infinity"). `epochs`: one random
    `seconds` excerpt (default 30) of a clip of every epoch, in training order ("Deep The
    Beatles"; `tracks` is not used). `best`: the `tracks` best analysed clips (quality score)
    of the chosen epoch(s) (default all), diverse (no two takes of one sound or loop), none
    flagged silent, noise, exploded or copied. Modes clips, epochs and generate skip clips with
    such a hard flag too, unless `include_flagged`. Same seed and catalog → same album.
    """

    model_config = ConfigDict(json_schema_extra=_EPOCH_FITS_MODE)

    mode: Literal["clips", "generate", "epochs", "best"] = "clips"
    tracks: int = Field(8, ge=1, le=30)
    seconds: float | None = Field(
        None, ge=1, le=1800,
        description="track length; default: whole clips (clips), 240 (generate), 30 (epochs)",
    )
    epoch: Literal["last", "all"] | Annotated[int, Field(ge=1)] | None = Field(
        None, description="last | all | an epoch number; default: all for epochs and best, "
        "else last"
    )
    run_id: int | None = Field(None, description="default: the project's latest run with epochs")
    seed: int | None = Field(None, ge=0, le=2**31 - 1, description="default: a random seed")
    temperature: float = Field(
        1.0, ge=0, le=10, description="generate mode only; 0 samples greedily"
    )
    title: str | None = Field(None, min_length=1, max_length=300, description="default: generated")
    artist: str = Field("albumbot", min_length=1, max_length=300)
    gap_ms: int = Field(DEFAULT_GAP_MS, ge=0, le=MAX_GAP_MS)
    formats: list[ExportFormat] = Field(default_factory=flac_only)
    include_flagged: bool = Field(
        False, description="modes clips, epochs, generate: also use clips with a hard flag "
        "(silent, noise, exploded, copied); mode best never does"
    )

    @model_validator(mode="after")
    def _epoch_fits_mode(self) -> AutoAlbumIn:
        if self.mode == "epochs" and self.epoch not in (None, "all"):
            raise ValueError("mode epochs takes one excerpt of every epoch; leave epoch out")
        if self.mode == "generate" and self.epoch == "all":
            raise ValueError("mode generate needs one checkpoint: epoch last or a number")
        return self
