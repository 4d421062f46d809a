"""Streaming multipart/form-data into temporary files, with limits enforced while reading.

Starlette's own form parser spools every file to the system temp dir with no per-file cap, and
FastAPI runs it before any dependency could refuse the request (fastapi#362). Upload routes
instead read the body here, chunk by chunk: each file goes straight to a temp file on the media
filesystem (so accepting it later is an `os.replace`), and a file over `max_file_bytes` stops the
read with TooLarge before more than that reaches the disk. Content-Length is never trusted; the
byte count is.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import anyio.to_thread
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from app.received import ReceivedFile
from app.services.errors import InvalidInput, TooLarge, UnsupportedMedia
from app.storage import Storage, sanitize_display_name

_SAFE_SUFFIX = re.compile(r"\.[a-z0-9]{1,5}")


@dataclass
class ReceivedForm:
    files: list[ReceivedFile] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)

    def files_in(self, name: str) -> list[ReceivedFile]:
        return [f for f in self.files if f.field == name]

    def discard(self) -> None:
        """Delete every temp file (call on any failure, and after files were moved away)."""
        for f in self.files:
            f.path.unlink(missing_ok=True)


@dataclass(frozen=True)
class UploadLimits:
    max_file_bytes: int
    max_files: int
    max_fields: int = 20
    max_field_bytes: int = 16 * 1024


class _Receiver:
    """Callbacks for python-multipart's push parser; runs in a worker thread (it writes files)."""

    def __init__(self, storage: Storage, limits: UploadLimits, form: ReceivedForm) -> None:
        self.storage, self.limits, self.form = storage, limits, form
        self.header_field = b""
        self.header_value = b""
        self.headers: dict[bytes, bytes] = {}
        self.file: ReceivedFile | None = None
        self.handle: IO[bytes] | None = None
        self.field_name: str | None = None
        self.field_data = bytearray()
        self.ended = False

    def on_end(self) -> None:
        self.ended = True

    def on_part_begin(self) -> None:
        self.headers, self.file, self.field_name = {}, None, None
        self.field_data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        self.headers[self.header_field.strip().lower()] = self.header_value.strip()
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.headers.get(b"content-disposition", b""))
        name = options.get(b"name", b"").decode("utf-8", "replace")
        if b"filename" not in options:
            if len(self.form.fields) >= self.limits.max_fields:
                raise TooLarge(f"too many form fields (at most {self.limits.max_fields})")
            self.field_name = name
            return
        if len(self.form.files) >= self.limits.max_files:
            raise TooLarge(f"too many files in one request (at most {self.limits.max_files})")
        display = sanitize_display_name(options[b"filename"].decode("utf-8", "replace"))
        suffix = Path(display).suffix.lower()
        # Keep a known-looking extension: the decoder picks its backend by it.
        path = self.storage.temp_path(suffix if _SAFE_SUFFIX.fullmatch(suffix) else "")
        self.file = ReceivedFile(field=name, display_name=display, path=path)
        self.form.files.append(self.file)  # registered before opening: discard() finds it
        self.handle = open(path, "wb")

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        chunk = data[start:end]
        if self.file is not None and self.handle is not None:
            self.file.size += len(chunk)
            if self.file.size > self.limits.max_file_bytes:
                raise TooLarge(
                    f"{self.file.display_name}: file is larger than the "
                    f"{self.limits.max_file_bytes} byte limit",
                    file=self.file.display_name,
                    limit=self.limits.max_file_bytes,
                )
            self.handle.write(chunk)
        else:
            self.field_data += chunk
            if len(self.field_data) > self.limits.max_field_bytes:
                raise TooLarge(f"form field {self.field_name!r} is too long")

    def on_part_end(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None
        elif self.field_name is not None:
            self.form.fields[self.field_name] = self.field_data.decode("utf-8", "replace")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None


async def receive_multipart(
    request: Request, storage: Storage, limits: UploadLimits
) -> ReceivedForm:
    """Read a multipart body into temp files. On any error every temp file is gone again."""
    content_type, params = parse_options_header(request.headers.get("content-type", ""))
    if content_type != b"multipart/form-data":
        raise UnsupportedMedia("send multipart/form-data")
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidInput("multipart/form-data without a boundary")
    form = ReceivedForm()
    receiver = _Receiver(storage, limits, form)
    callbacks = {
        name: getattr(receiver, name)
        for name in (
            "on_part_begin", "on_part_data", "on_part_end", "on_header_field",
            "on_header_value", "on_header_end", "on_headers_finished", "on_end",
        )
    }
    parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
    try:
        storage.ensure()
        async for chunk in request.stream():
            if chunk:
                # Parsing writes to disk; keep that off the event loop.
                await anyio.to_thread.run_sync(parser.write, chunk)
        await anyio.to_thread.run_sync(parser.finalize)
        if not receiver.ended:
            raise InvalidInput("multipart body ended before its closing boundary")
    except BaseException as exc:
        with contextlib.suppress(OSError):  # closing a file on a full disk fails too
            receiver.close()
        form.discard()
        if isinstance(exc, ValueError) and not isinstance(exc, InvalidInput):
            raise InvalidInput(f"malformed multipart body ({exc})") from None
        raise
    try:
        receiver.close()
    except BaseException:
        form.discard()
        raise
    return form
