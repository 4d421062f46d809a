"""Fault injection for the liveness tests, off unless a test sets it.

`ALBUMBOT_FAULT_WEDGE_STEP=N` makes attempt 1 of a training job stop at optimizer step N and
never come back, as a wedged CUDA kernel or a hung collective does: the thread sleeps, so the
heartbeat thread beats on and only the progress counter shows the job is stuck. The watchdog
(worker/watchdog.py) must reclaim it; attempt 2 runs normally from the last checkpoint.
"""

from __future__ import annotations

import logging
import threading

from app.settings import Settings

logger = logging.getLogger(__name__)


def wedge_if_asked(settings: Settings, attempt: int, step: int) -> None:
    if settings.fault_wedge_step and attempt == 1 and step == settings.fault_wedge_step:
        logger.warning("fault injection: wedging at step %d (ALBUMBOT_FAULT_WEDGE_STEP)", step)
        threading.Event().wait()  # forever
