"""Long training runs as a chain of segments, one broker message each (issue 13, item 4).

Redis redelivers a message that stays unacknowledged for `visibility_timeout_s` (2 h by
default), and a message is acknowledged only when its task returns (late acks). A run of days
as one message would be redelivered every 2 h for as long as it trains: each copy finds the
live lease and is dropped, but that is a storm of copies, each holding a worker's prefetch slot
for a moment, and it rests entirely on the lease. Instead a training message trains at most
`train_segment_epochs` epochs, then raises `Yielded` (worker/lease.py): the job is handed back
and its next message published at once, so every message lives for one segment only. The next
segment is claimed like any attempt (attempt + 1, fenced) and resumes from the checkpoint the
segment just wrote; a hand-back is not a death, so segments do not use up `max_attempts`.

A segment longer than the visibility timeout (an epoch of a huge dataset) is still safe, its
redelivered copy is dropped by the lease, but it is logged so the operator can raise the
timeout; the README's "Liveness" section says how to size them.
"""

from __future__ import annotations

import logging

from app.settings import Settings

logger = logging.getLogger(__name__)


def segment_end(done_epochs: int, total_epochs: int, per_segment: int) -> int:
    """The last epoch the segment that starts after `done_epochs` trains (0 per segment: all)."""
    if per_segment <= 0:
        return total_epochs
    return min(total_epochs, done_epochs + per_segment)


def note_segment_length(settings: Settings, job_id: int, seconds: float) -> None:
    """Warn when a segment ran longer than its message stays invisible on Redis."""
    if settings.embedded_broker or seconds <= settings.visibility_timeout_s:
        return
    logger.warning(
        "job %d: a training segment took %.1f s, above the broker's visibility timeout (%d s); "
        "its message may have been redelivered (a copy is dropped by the lease). Raise "
        "ALBUMBOT_VISIBILITY_TIMEOUT_S or lower ALBUMBOT_TRAIN_SEGMENT_EPOCHS.",
        job_id, seconds, settings.visibility_timeout_s,
    )
