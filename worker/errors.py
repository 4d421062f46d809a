"""Turning a runner's exception into the one-line reason a curator reads on the job and run."""

from __future__ import annotations

from app.services.errors import DomainError
from app.storage import storage_failure
from model.audio import AudioError
from model.checkpoint import CheckpointError
from model.dataset import DatasetError
from model.local_group import RankFailed

MAX_ERROR_CHARS = 2000


class JobError(Exception):
    """A reason the job cannot be done, already phrased for the curator (no traceback needed)."""


def describe(exc: BaseException) -> str:
    """A readable, bounded reason: our own errors as they are, anything else with its type."""
    if isinstance(exc, DomainError):
        text = exc.message
    elif (full := storage_failure(exc)) is not None:
        text = full
    elif isinstance(exc, (JobError, AudioError, DatasetError, CheckpointError, RankFailed)):
        text = str(exc)
    elif isinstance(exc, (ValueError, FileNotFoundError)) and str(exc):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"
