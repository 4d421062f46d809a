"""A project's training datasets in the catalog: which prepared folder serves which run.

`Dataset.key` names the sources by content and the settings that shape the chunks, so every run
of a project with the same album and settings reuses one prepared folder. The gpu worker
(worker/datasets.py) prepares the folder; these are the rows it reads and writes. Preparation
is shared by every run that uses the key, so its row is not one job's output: its end state is
written even when the job that prepared it lost its lease.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.catalog import Dataset, insert_ignore
from app.contract.plan import RunPlan


@dataclass(frozen=True)
class DatasetRow:
    id: int
    status: str  # queued, running, succeeded, failed, cancelled


def dataset_key(source_sha256s: Sequence[str], plan: RunPlan) -> str:
    """The same sources prepared the same way share a dataset: depends on the sources' content
    (not their ids or order) and on the plan's chunks, sample rate and seed."""
    spec = {
        "sources": sorted(source_sha256s),
        "chunks": plan.chunks,
        "sample_rate": plan.sample_rate,
        "seed": plan.seed,
    }
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()


def dataset_folder(project_id: int, key: str) -> str:
    """Storage key of the prepared folder."""
    return f"projects/{int(project_id)}/datasets/{key[:32]}"


def find_dataset(session: Session, project_id: int, key: str) -> DatasetRow | None:
    row = session.execute(
        select(Dataset.id, Dataset.status)
        .where(Dataset.project_id == project_id, Dataset.key == key)
    ).one_or_none()
    return None if row is None else DatasetRow(row.id, row.status)


def start_preparing(
    session: Session, project_id: int, key: str, config: dict[str, Any]
) -> int:
    """The dataset's row (made if missing), marked running; no commit. Returns its id."""
    where = (Dataset.project_id == project_id, Dataset.key == key)
    insert_ignore(
        session,
        Dataset,
        {"project_id": project_id, "key": key, "config": config,
         "path": dataset_folder(project_id, key)},
        key=("project_id", "key"),
    )
    session.execute(update(Dataset).where(*where).values(status="running", error=None))
    dataset_id = session.scalar(select(Dataset.id).where(*where))
    assert dataset_id is not None
    return int(dataset_id)


def prepared(session: Session, dataset_id: int, summary: dict[str, Any]) -> None:
    """Mark the dataset ready, with what the catalog keeps of its manifest; no commit."""
    session.execute(
        update(Dataset)
        .where(Dataset.id == dataset_id)
        .values(status="succeeded", error=None, manifest=summary)
    )


def preparation_ended(
    session: Session, dataset_id: int, *, status: str, error: str | None
) -> None:
    """Preparation stopped (failed or cancelled) before the folder was made; no commit."""
    session.execute(
        update(Dataset).where(Dataset.id == dataset_id).values(status=status, error=error)
    )
