"""Soft and hard time limits of the tasks that must end by themselves.

Training is exempt: it is bounded by its epochs, runs for days, and has the progress watchdog
(worker/watchdog.py) and segments (worker/segments.py) instead. So is the radio, which streams
until it is stopped. Every other task gets Celery's `soft_time_limit` (the pool child gets
SoftTimeLimitExceeded in the task's thread: the job fails with a readable reason and the
writes in flight remove their temp files as on any exception, app/storage.py) and a hard
`time_limit` `time_limit_grace_s` later (the pool kills the child; the worker's main process
then fails the job, see `on_hard_limit` in worker/celery_app.py).
"""

from __future__ import annotations

from typing import Any

from app.contract.kinds import KINDS, RADIO, RUN, JobKind
from app.settings import Settings

UNLIMITED: frozenset[str] = frozenset({RUN.name, RADIO.name})


def soft_limit_s(settings: Settings, kind_name: str) -> float | None:
    """The soft time limit of a job kind in seconds, None for the kinds without one."""
    if kind_name in UNLIMITED:
        return None
    return settings.job_time_limits.get(kind_name, settings.job_time_limit_s)


def task_annotations(settings: Settings) -> dict[str, dict[str, float]]:
    """Celery `task_annotations`: each limited task's soft and hard limit.

    Raises ValueError for a kind in `job_time_limits` that does not exist or has no limit, so
    a typo in the setting does not silently leave a task unlimited.
    """
    for name in settings.job_time_limits:
        if name not in KINDS or name in UNLIMITED:
            limited = ", ".join(sorted(set(KINDS) - UNLIMITED))
            raise ValueError(f"job_time_limits names {name!r}; kinds with a limit: {limited}")
    annotations: dict[str, dict[str, float]] = {}
    for kind in KINDS.values():
        soft = soft_limit_s(settings, kind.name)
        if soft is not None:
            annotations[kind.task] = {
                "soft_time_limit": soft, "time_limit": soft + settings.time_limit_grace_s,
            }
    return annotations


def over_limit_reason(settings: Settings, kind: JobKind[Any], *, hard: bool) -> str:
    """What a curator reads on a job stopped by its time limit."""
    soft = soft_limit_s(settings, kind.name) or 0.0
    if hard:
        return (f"killed: still running {settings.time_limit_grace_s:g} s after its time limit "
                f"of {soft:g} s (ALBUMBOT_JOB_TIME_LIMIT_S / ALBUMBOT_JOB_TIME_LIMITS)")
    return (f"stopped: ran past its time limit of {soft:g} s (ALBUMBOT_JOB_TIME_LIMIT_S / "
            "ALBUMBOT_JOB_TIME_LIMITS); the files it was writing were removed")
