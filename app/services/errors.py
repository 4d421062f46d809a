"""Domain errors raised by services. Routes (app/api/problems.py) map them to HTTP statuses."""

from __future__ import annotations


class DomainError(Exception):
    """Base class. `str()` is a message for the client; `detail` adds structured data."""

    def __init__(self, message: str, **detail: object) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class NotFound(DomainError):
    def __init__(self, resource: str, ident: object) -> None:
        super().__init__(f"{resource} {ident} not found", resource=resource, id=ident)


class Conflict(DomainError):
    """The request is valid but the current state forbids it (e.g. resume a running run)."""


class InvalidInput(DomainError):
    """Well-formed but unacceptable input (e.g. a file that does not decode)."""


class UnsupportedMedia(DomainError):
    """Content that is not of a kind we accept (not audio, not PNG/JPEG/WebP)."""


class TooLarge(DomainError):
    """A body, file or image over a configured limit."""
