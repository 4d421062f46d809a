"""At worker start: remove temp files that killed writes left behind.

Every media write goes to `.tmp/` first and is renamed into place (app/storage.py), so a file
still there was abandoned by a process that died mid-write (kill -9, OOM). The writers that work
beside their final name (clip streams of model.generate.write_clips, masters, export zips, cue
sheets, radio segments) all write `.{name}[.{uuid}].part` there; a live clip also has a progress
file under `projects/{p}/runs/{r}/live/` (app/live/progress.py), rewritten every block. A kill -9
leaves them. Other workers on the same volume may be writing right now, so only
files untouched for `older_than_s` go.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from pathlib import Path

logger = logging.getLogger(__name__)

DEFAULT_OLDER_THAN_S = 3600.0


def sweep_temp(tmp_dir: Path, older_than_s: float = DEFAULT_OLDER_THAN_S) -> list[Path]:
    """Remove abandoned files directly under `tmp_dir`; returns what was removed."""
    if not tmp_dir.is_dir():
        return []
    return _remove_old(tmp_dir.iterdir(), older_than_s, tmp_dir)


def sweep_clip_leftovers(
    media_dir: Path, older_than_s: float = DEFAULT_OLDER_THAN_S
) -> list[Path]:
    """Remove abandoned `.*.part` files and live-clip progress files of the projects under
    `media_dir`; returns what was removed. One walk of the projects' folders per worker start
    (0.02 s for 20,000 clip files here)."""
    projects = media_dir / "projects"
    if not projects.is_dir():
        return []
    leftovers = [*projects.glob("*/runs/*/live/*.json"), *projects.rglob(".*.part")]
    return _remove_old(leftovers, older_than_s, projects)


def _remove_old(paths: Iterable[Path], older_than_s: float, where: Path) -> list[Path]:
    cutoff = time.time() - older_than_s
    removed = []
    for path in paths:
        try:
            if path.is_file() and not path.is_symlink() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
        except FileNotFoundError:
            continue  # its writer finished (renamed it) or another worker swept it
    if removed:
        logger.info("removed %d abandoned temp file(s) from %s", len(removed), where)
    return removed
