"""Release metadata as the API takes it: ISRC, UPC/EAN, release dates and credits, checked and
normalised once here (the catalog stores what these validators return)."""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from app.schemas.common import RequestBody

# Credit roles with a well-known tag in both formats (MusicBrainz Picard's mapping): Vorbis
# comments use the upper-case role, ID3v2.4 an involved-people (TIPL) pair or its own frame.
CreditRole = Literal[
    "producer", "engineer", "mixer", "arranger", "lyricist", "remixer", "conductor", "writer"
]
_ISRC = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
_ISRC_HYPHENS = re.compile(r"[A-Z]{2}-[A-Z0-9]{3}-[0-9]{2}-[0-9]{5}")


def isrc(value: str) -> str:
    """An ISRC as tags hold it: 12 characters `CCXXXYYNNNNN` (country, registrant, year,
    designation), from that or the hyphenated `CC-XXX-YY-NNNNN`; "" stays "" (none yet)."""
    text = value.strip().upper()
    if not text:
        return ""
    if _ISRC_HYPHENS.fullmatch(text):
        text = text.replace("-", "")
    if not _ISRC.fullmatch(text):
        raise ValueError(
            f"{value!r} is not an ISRC: expected CC-XXX-YY-NNNNN or its 12 characters "
            "(2 letters, 3 letters or digits, 2-digit year, 5-digit designation)"
        )
    return text


def release_date(value: str) -> str:
    """`YYYY` or `YYYY-MM-DD`, a real calendar date; "" stays "" (the creation year is used)."""
    text = value.strip()
    if not text:
        return ""
    if re.fullmatch(r"[0-9]{4}", text):
        year = int(text)
    elif re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        try:
            year = date.fromisoformat(text).year
        except ValueError:
            raise ValueError(f"{value!r} is not a calendar date") from None
    else:
        raise ValueError(f"{value!r} is not a release date: expected YYYY or YYYY-MM-DD")
    if year < 1000:
        raise ValueError(f"{value!r}: the year must have four digits")
    return text


def upc(value: str) -> str:
    """A release barcode: 12 digits (UPC-A) or 13 (EAN-13) with a correct check digit; spaces
    and hyphens are dropped; "" stays "" (the distributor assigns one)."""
    digits = re.sub(r"[\s-]", "", value)
    if not digits:
        return ""
    if not re.fullmatch(r"[0-9]{12,13}", digits):
        raise ValueError(f"{value!r} is not a UPC/EAN: expected 12 or 13 digits")
    body, check = digits[:-1], int(digits[-1])
    # GS1 check digit: weights 3, 1, 3, ... from the digit next to the check digit leftwards.
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    if (10 - total % 10) % 10 != check:
        raise ValueError(f"{value!r}: the check digit does not match (a typo?)")
    return digits


def year_of(release_date: str) -> int | None:
    """The year of a stored release date, or None when there is none."""
    return int(release_date[:4]) if release_date else None


Isrc = Annotated[str, Field(max_length=20), AfterValidator(isrc)]
ReleaseDate = Annotated[str, Field(max_length=10), AfterValidator(release_date)]
Upc = Annotated[str, Field(max_length=20), AfterValidator(upc)]


class Credit(RequestBody):
    """Someone who worked on a recording, and as what."""

    role: CreditRole
    name: str = Field(min_length=1, max_length=300)
