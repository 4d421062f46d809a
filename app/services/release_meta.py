"""Release metadata of albums and their tracks: setting it from the API's body, and the warnings
of the pre-export check for what a distributor asks for and the album does not say.

The values arrive validated and normalised by app/schemas/release.py (ISRC without hyphens,
UPC digits, `YYYY`/`YYYY-MM-DD` dates); here they are only cleaned of what no tag can hold.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from app.catalog import Album
from app.schemas.albums import AlbumIn, AlbumTrackIn


def clean_text(text: str) -> str:
    """One line of printable text: control characters dropped (PostgreSQL cannot store NUL),
    runs of whitespace made one space."""
    kept = "".join(c for c in text if unicodedata.category(c) != "Cc" or c.isspace())
    return " ".join(kept.split())


def clean_comment(text: str) -> str:
    """Like `clean_text`, but line breaks are kept (a comment may have several lines)."""
    lines = (clean_text(line) for line in text.replace("\r\n", "\n").split("\n"))
    return "\n".join(lines).strip("\n")


def apply_album(album: Album, data: AlbumIn) -> None:
    """Set the album's release metadata from `data` (no commit)."""
    album.album_artist = clean_text(data.album_artist)
    album.release_date = data.release_date
    album.genre = clean_text(data.genre)
    album.label = clean_text(data.label)
    album.comment = clean_comment(data.comment)
    album.upc = data.upc
    album.disc_number, album.disc_total = data.disc_number, data.disc_total


def track_fields(track: AlbumTrackIn) -> dict[str, Any]:
    """The AlbumTrack columns of one slot's recording metadata."""
    credits = [{"role": c.role, "name": clean_text(c.name)} for c in track.credits]
    return {
        "composer": clean_text(track.composer),
        "isrc": track.isrc,
        "credits": [c for c in credits if c["name"]],
    }


@dataclass(frozen=True)
class TrackMeta:
    """What the warnings look at in one track."""

    composer: str
    isrc: str


def warnings(
    *, release_date: str, genre: str, label: str, upc: str, tracks: Sequence[TrackMeta]
) -> list[str]:
    """Readable notes on metadata distributors ask for that the album does not give. None of
    them stops an export: distributors fill in some themselves (ISRC, UPC) or ask on upload."""
    out = []
    if not release_date:
        out.append("No release date: distributors ask for one (the export writes the year the "
                   "album was created).")
    if not genre:
        out.append("No genre: distributors ask for a primary genre.")
    if not label:
        out.append("No label: distributors print one (many use the artist's name).")
    if not upc:
        out.append("No UPC/EAN: the distributor will assign a barcode to the release.")
    no_composer = [i for i, t in enumerate(tracks, start=1) if not t.composer]
    if no_composer:
        out.append(f"{_tracks(no_composer)} no composer: distributors need the songwriters "
                   "for publishing royalties.")
    no_isrc = [i for i, t in enumerate(tracks, start=1) if not t.isrc]
    if no_isrc:
        out.append(f"{_tracks(no_isrc)} no ISRC: the distributor will assign one per "
                   "recording.")
    return out


def duplicate_isrcs(tracks: Sequence[TrackMeta]) -> list[str]:
    """Problems (not warnings): an ISRC names one recording, so two tracks cannot share it."""
    seen: dict[str, list[int]] = {}
    for number, track in enumerate(tracks, start=1):
        if track.isrc:
            seen.setdefault(track.isrc, []).append(number)
    return [
        f"ISRC {code} is given to tracks {', '.join(map(str, numbers))}: each recording needs "
        "its own."
        for code, numbers in seen.items()
        if len(numbers) > 1
    ]


def album_warnings(album: Album) -> list[str]:
    return warnings(
        release_date=album.release_date, genre=album.genre, label=album.label, upc=album.upc,
        tracks=[TrackMeta(i.composer, i.isrc) for i in album.items],
    )


def _tracks(numbers: list[int]) -> str:
    if len(numbers) == 1:
        return f"Track {numbers[0]} has"
    return f"Tracks {', '.join(map(str, numbers[:-1]))} and {numbers[-1]} have"
