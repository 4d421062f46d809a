"""The generating side of live clips: a batch's progress files (app/live/progress.py).

`LiveBatch` is told when the batch's files are open, after each block is written and when each
clip's row exists. It only writes small files beside the clips: it never touches the audio, and
it does not know whether anyone listens, so a clip is the same bytes heard live or not.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import replace

from app.live.progress import LiveProgress, remove_progress, write_progress
from app.storage import Storage

logger = logging.getLogger(__name__)

# Listeners read the growing audio itself; the progress files only say which clips are live and
# how far along (the studio polls them once a second). So they are rewritten at most this often,
# not after every block: a GPU batch of 128 streams makes a block in milliseconds, and 128 file
# writes per block would cost more than the block.
PUBLISH_EVERY_S = 0.5


class LiveBatch:
    def __init__(self, storage: Storage, clips: Sequence[LiveProgress]) -> None:
        self.storage = storage
        self.clips = {c.index: c for c in clips}
        self._published_at = 0.0

    def opened(self) -> None:
        """The clips' files exist (empty): listeners may connect now."""
        for clip in self.clips.values():
            self._write(clip)

    def wrote(self, samples: int) -> None:
        """Every clip of the batch now holds its first `samples` samples on disk."""
        now = time.time()
        for index, clip in self.clips.items():
            self.clips[index] = replace(clip, samples=min(samples, clip.total_samples),
                                        updated_at=now)
        if now - self._published_at < PUBLISH_EVERY_S:
            return
        self._published_at = now
        for clip in self.clips.values():
            self._write(clip)

    def landed(self, index: int) -> None:
        """Clip `index` has its catalog row: it is an ordinary clip now."""
        clip = self.clips.pop(index, None)
        if clip is not None:
            remove_progress(self.storage, clip)

    def abandon(self) -> None:
        """The batch failed or was cancelled: none of its clips is live any more."""
        for clip in self.clips.values():
            with contextlib.suppress(OSError):
                remove_progress(self.storage, clip)
        self.clips.clear()

    def _write(self, clip: LiveProgress) -> None:
        try:
            write_progress(self.storage, clip)
        except OSError as exc:  # listening is a convenience: never fail the clips for it
            logger.warning("clip %d: live progress not published: %s", clip.index, exc)
