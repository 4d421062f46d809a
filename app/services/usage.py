"""Disk usage of a project or a run, measured on the media folder (issue 13 item 2).

A project's files all live under `projects/<id>/` (app/storage.py keys), a run's under
`projects/<p>/runs/<r>/`, so usage is a walk of that folder, classified by where a file sits:
checkpoints (`runs/<r>/*.pt` and anything else of the run but its clips), clips
(`runs/<r>/clips/`), renders (`tracks/`), exports (`exports/`, `albums/`), other (sources,
datasets, images, covers). `bytes` are file sizes; `disk_bytes` is what the filesystem allocates
for the folder, files and directories alike: the figure `du -s -B1 <folder>` prints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy.orm import Session

from app.services import projects, runs
from app.storage import Storage

CATEGORIES = ("checkpoints", "clips", "renders", "exports", "other")


@dataclass
class Usage:
    folder: str  # the storage prefix measured
    bytes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    files: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CATEGORIES, 0))
    disk_bytes: int = 0

    @property
    def total_bytes(self) -> int:
        return sum(self.bytes.values())


def category(parts: tuple[str, ...]) -> str:
    """The category of a file from its path below `projects/<id>/`."""
    head = parts[0] if parts else ""
    if head == "runs":
        return "clips" if len(parts) > 3 and parts[2] == "clips" else "checkpoints"
    if head == "tracks":
        return "renders"
    if head in ("exports", "albums"):
        return "exports"
    return "other"


def measure(storage: Storage, project_id: int, sub: tuple[str, ...] = ()) -> Usage:
    """Walk `projects/<project_id>/<sub...>` (missing: all zero). Symlinks are not followed."""
    base = storage.root / "projects" / str(int(project_id))
    top = base.joinpath(*sub)
    usage = Usage("/".join(("projects", str(int(project_id)), *sub)))
    if not top.is_dir():
        return usage
    usage.disk_bytes += _allocated(top)
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        for name in dirnames:
            usage.disk_bytes += _allocated(here / name)
        for name in filenames:
            path = here / name
            st = path.lstat()
            kind = category(path.relative_to(base).parts)
            usage.bytes[kind] += st.st_size
            usage.files[kind] += 1
            usage.disk_bytes += st.st_blocks * 512
    return usage


def _allocated(path: Path) -> int:
    return path.lstat().st_blocks * 512


def project_usage(session: Session, storage: Storage, project_id: int) -> Usage:
    projects.get_project(session, project_id)  # 404 for an unknown project
    return measure(storage, project_id)


def run_usage(session: Session, storage: Storage, run_id: int) -> Usage:
    run = runs.get_run(session, run_id)
    return measure(storage, run.project_id, ("runs", str(int(run.id))))
