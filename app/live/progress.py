"""What a generating worker tells the web about each clip it is writing: one small JSON file per
in-flight clip, `projects/{p}/runs/{r}/live/e{epoch:04d}-{index:04d}.json`, in media storage.

The worker (worker/live_publish.py) writes it when the clip's file is opened, rewrites it after
every block, and removes it once the clip's catalog row exists; the web app only reads it. Media
storage rather than a table or Redis: the embedded mode has no Redis, every process already
shares media storage, the growing audio file itself lives there, and a write per block per clip
would otherwise be a catalog transaction per second per stream while training holds SQLite.
Each file is replaced atomically (temp name + rename), so a reader sees a whole one or none;
it is ephemeral (no fsync: after a crash the clip is not live any more anyway).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from app.storage import Storage


def live_folder_key(project_id: int, run_id: int) -> str:
    return f"projects/{project_id}/runs/{run_id}/live"


def progress_key(project_id: int, run_id: int, epoch: int, index: int) -> str:
    return f"{live_folder_key(project_id, run_id)}/e{epoch:04d}-{index:04d}.json"


def part_path(final: Path) -> Path:
    """The name model.generate.write_clips writes a clip under until it is whole."""
    return final.with_name(f".{final.name}.part")


@dataclass(frozen=True)
class LiveProgress:
    project_id: int
    run_id: int
    checkpoint_id: int
    epoch: int
    index: int
    seed: int
    temperature: float
    job_id: int
    sample_rate: int
    total_samples: int  # what the clip will hold when it is finished
    samples: int  # written to its file so far
    audio_path: str  # the clip's storage key (the final name; `part_path` while growing)
    updated_at: float  # unix seconds

    @property
    def key(self) -> str:
        return progress_key(self.project_id, self.run_id, self.epoch, self.index)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def write_progress(storage: Storage, progress: LiveProgress) -> None:
    path = storage.path(progress.key)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")  # a dot name: list_progress never sees it
    try:
        tmp.write_text(json.dumps(progress.to_json()))
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a full disk leaves no half-written progress behind
        raise


def remove_progress(storage: Storage, progress: LiveProgress) -> None:
    storage.delete(progress.key)


def read_progress(storage: Storage, key: str) -> LiveProgress | None:
    try:
        text = storage.path(key).read_text()
    except FileNotFoundError:
        return None
    try:
        return LiveProgress(**json.loads(text))
    except (ValueError, TypeError):
        return None  # written by another version: not something this app can serve


def list_progress(storage: Storage, project_id: int, run_id: int) -> list[LiveProgress]:
    """The run's in-flight clips, by epoch and index."""
    folder = storage.path(live_folder_key(project_id, run_id))
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("e*-*.json")):
        progress = read_progress(storage, f"{live_folder_key(project_id, run_id)}/{path.name}")
        if progress is not None:
            found.append(progress)
    return found
