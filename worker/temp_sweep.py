"""At worker start: remove temp files that killed writes left under `<media>/.tmp`.

Every media write goes to `.tmp/` first and is renamed into place (app/storage.py), so a file
still there was abandoned by a process that died mid-write (kill -9, OOM). Other workers on the
same volume may be writing right now, so only files untouched for `older_than_s` go.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_OLDER_THAN_S = 3600.0


def sweep_temp(tmp_dir: Path, older_than_s: float = DEFAULT_OLDER_THAN_S) -> list[Path]:
    """Remove abandoned files directly under `tmp_dir`; returns what was removed."""
    if not tmp_dir.is_dir():
        return []
    cutoff = time.time() - older_than_s
    removed = []
    for path in tmp_dir.iterdir():
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue  # its writer finished (renamed it) or another worker swept it
    if removed:
        logger.info("removed %d abandoned temp file(s) from %s", len(removed), tmp_dir)
    return removed
