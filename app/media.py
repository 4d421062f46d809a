"""Serving stored media files: byte ranges, HEAD, validators and safe headers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.http_range import Full, Partial, Unsatisfiable, http_date, if_range_allows, parse_range

CHUNK = 64 * 1024
AUDIO_TYPES = {
    "WAV": "audio/wav",
    "FLAC": "audio/flac",
    "OGG": "audio/ogg",
    "MP3": "audio/mpeg",
    "AIFF": "audio/aiff",
}
IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg"}


def file_response(
    request: Request, path: Path, media_type: str, *, ranges: bool = True
) -> Response:
    """200/206/416 for GET, the same headers without a body for HEAD.

    `ETag` and `Last-Modified` come from the file's size and mtime: media files are never
    rewritten in place, so they identify the bytes (If-Range relies on that).
    """
    stat = path.stat()
    etag = f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'
    answer = _ranged(request, stat.st_size, etag, stat.st_mtime, ranges=ranges)
    if isinstance(answer, Response):
        return answer
    status, start, length, headers = answer
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(
        _read(path, start, length), status_code=status, headers=headers, media_type=media_type
    )


def bytes_response(
    request: Request, data: bytes, media_type: str, *, etag: str, modified: float
) -> Response:
    """`file_response` for bytes made on request (a clip excerpt): the same Range, If-Range and
    HEAD answers. `etag` (quoted) and `modified` (a timestamp) must identify `data`."""
    answer = _ranged(request, len(data), etag, modified, ranges=True)
    if isinstance(answer, Response):
        return answer
    status, start, length, headers = answer
    body = b"" if request.method == "HEAD" else data[start : start + length]
    response = Response(body, status_code=status, headers=headers, media_type=media_type)
    response.headers["Content-Length"] = str(length)  # HEAD: the length a GET would send
    return response


def _ranged(
    request: Request, size: int, etag: str, modified: float, *, ranges: bool
) -> tuple[int, int, int, dict[str, str]] | Response:
    """(status, first byte, length, headers) to answer with, or the 416 response."""
    headers = {
        "ETag": etag,
        "Last-Modified": http_date(modified),
        "X-Content-Type-Options": "nosniff",
        # User-provided bytes: even if a browser renders them as a document, they run nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
    }
    if ranges:
        headers["Accept-Ranges"] = "bytes"
    decision = parse_range(request.headers.get("range"), size) if ranges else Full()
    if not if_range_allows(request.headers.get("if-range"), etag=etag, last_modified=modified):
        decision = Full()
    if isinstance(decision, Unsatisfiable):
        headers["Content-Range"] = f"bytes */{size}"
        return Response(status_code=416, headers=headers)
    if isinstance(decision, Partial):
        start, length, status = decision.start, decision.length, 206
        headers["Content-Range"] = f"bytes {decision.start}-{decision.end}/{size}"
    else:
        start, length, status = 0, size, 200
    headers["Content-Length"] = str(length)
    return status, start, length, headers


def _read(path: Path, start: int, length: int) -> Iterator[bytes]:
    # A sync generator: Starlette iterates it in a thread pool, so reads never block the loop.
    with open(path, "rb") as f:
        f.seek(start)
        while length > 0:
            block = f.read(min(CHUNK, length))
            if not block:
                break
            length -= len(block)
            yield block
