"""HTTP Range requests (RFC 9110 §14), parsed by a pure function.

Starlette's FileResponse answers an unknown range unit with 400 and several ranges with 416,
where RFC 9110 says to ignore what it cannot serve (RELIABILITY 27). The rules here:

- no header, another unit than `bytes`, or any malformed range-spec: ignore it (200, whole file);
- `bytes=` specs that are all unsatisfiable (start at/after the end, `-0`, an empty file): 416;
- exactly one satisfiable spec: 206 for it (others that cannot be satisfied are dropped);
- several satisfiable specs: ignore the header (200). A server may decline multipart/byteranges,
  and this keeps a 10,000-range header cheap: parsing is one linear pass.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from typing import Literal


@dataclass(frozen=True)
class Full:
    """Serve the whole representation with 200."""


@dataclass(frozen=True)
class Partial:
    """Serve bytes start..end (inclusive) with 206."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1


@dataclass(frozen=True)
class Unsatisfiable:
    """Answer 416 with `Content-Range: bytes */size`."""


RangeDecision = Full | Partial | Unsatisfiable
MAX_HEADER_CHARS = 64 * 1024  # longer headers are ignored rather than parsed
_HUGE = 10**19  # stands in for positions with more digits than int() should parse


def parse_range(header: str | None, size: int) -> RangeDecision:
    """Decide how to answer `Range: header` for a representation of `size` bytes."""
    if not header or len(header) > MAX_HEADER_CHARS:
        return Full()
    unit, sep, specs = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return Full()
    satisfiable: Partial | None = None
    count = 0
    for raw in specs.split(","):
        spec = raw.strip()
        if not spec:
            continue  # RFC 9110 list syntax allows empty elements
        parsed = _parse_spec(spec, size)
        if parsed is False:
            return Full()  # malformed: ignore the whole header
        if parsed is not None:
            count += 1
            satisfiable = satisfiable or parsed
    if count == 0:
        return Unsatisfiable() if specs.strip() else Full()
    return satisfiable if count == 1 and satisfiable else Full()


def _parse_spec(spec: str, size: int) -> Partial | None | Literal[False]:
    """A Partial, None when well-formed but unsatisfiable, False when malformed."""
    first, dash, last = spec.partition("-")
    first, last = first.strip(), last.strip()
    if not dash or (first and not first.isdigit()) or (last and not last.isdigit()):
        return False
    if not first.isascii() or not last.isascii():
        return False  # isdigit() accepts other scripts' digits
    if not first:  # suffix: the last N bytes
        if not last:
            return False
        n = _number(last)
        if n == 0 or size == 0:
            return None
        return Partial(max(0, size - n), size - 1)
    start = _number(first)
    if last and _number(last) < start:
        return False
    if start >= size:
        return None
    end = min(_number(last), size - 1) if last else size - 1
    return Partial(start, end)


def _number(digits: str) -> int:
    # Positions beyond any file size only need to compare as "very large"; this also keeps
    # int() away from Python's limit on very long digit strings.
    return int(digits) if len(digits) <= 18 else _HUGE


def if_range_allows(if_range: str | None, *, etag: str, last_modified: float) -> bool:
    """True when Range may be honoured: no If-Range, or it matches the current validator.

    ETags compare strongly (weak tags never match); a date must equal Last-Modified exactly.
    """
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith(('"', "W/")):
        return value == etag and not value.startswith("W/")
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return False
    return formatdate(when.timestamp(), usegmt=True) == http_date(last_modified)


def http_date(timestamp: float) -> str:
    return formatdate(int(timestamp), usegmt=True)
