"""A project's training dataset, prepared once per (sources, preparation settings).

`Dataset.key` (app/services/datasets.py `dataset_key`) names the sources by content and the
settings that shape the chunks, so every run of a project with the same album and settings reuses
one prepared folder. Preparation decodes the uploaded files straight from media storage; the
folder appears atomically (model/dataset.py writes a hidden sibling and renames it), so two
workers that race to prepare the same key produce the same files and neither sees half of the
other's. The catalog rows are written through app/services/datasets.py.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from app.contract.plan import RunPlan
from app.services import datasets
from app.services.training import SourceFile
from model.audio import AudioError
from model.dataset import DatasetConfig, prepare_dataset
from model.manifest import MANIFEST_NAME, Manifest
from worker.errors import JobError, describe
from worker.lease import Lease, Stopped
from worker.runtime import Runtime

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PreparedDataset:
    id: int  # Dataset row
    path: Path


def dataset_config(plan: RunPlan) -> DatasetConfig:
    """The engine's preparation settings for a run's plan."""
    return DatasetConfig(sample_rate=plan.sample_rate, n_chunks=plan.chunks, seed=plan.seed)


def ensure_dataset(
    rt: Runtime,
    lease: Lease,
    project_id: int,
    sources: Sequence[SourceFile],
    plan: RunPlan,
) -> PreparedDataset:
    """The prepared dataset for these sources and settings, preparing it if needed."""
    key = datasets.dataset_key([s.sha256 for s in sources], plan)
    path = rt.storage.path(datasets.dataset_folder(project_id, key))
    with rt.reading() as session:
        row = datasets.find_dataset(session, project_id, key)
    if row is not None and row.status == "succeeded" and (path / MANIFEST_NAME).is_file():
        return PreparedDataset(row.id, path)

    cfg = dataset_config(plan)
    with lease.fenced() as session:
        dataset_id = datasets.start_preparing(session, project_id, key, cfg.to_dict())
    try:
        manifest = _prepare(rt, lease, sources, path, cfg)
    except BaseException as exc:
        status = "cancelled" if isinstance(exc, Stopped) else "failed"
        with rt.session() as session:  # the dataset row is shared, not this attempt's output
            datasets.preparation_ended(
                session, dataset_id, status=status,
                error=describe(exc) if status == "failed" else None,
            )
        raise
    with lease.fenced() as session:
        datasets.prepared(session, dataset_id, _summary(manifest, sources))
    return PreparedDataset(dataset_id, path)


def _prepare(
    rt: Runtime, lease: Lease, sources: Sequence[SourceFile], out: Path, cfg: DatasetConfig
) -> Manifest:
    for source in sources:
        _verify(rt, source)
    lease.report(message="preparing the dataset")

    def progress(stage: str, fraction: float) -> None:
        lease.check()
        lease.report(message=f"preparing the dataset: {stage} {fraction:.0%}")

    # Links named by position keep the album order and the stored file's extension (which
    # says how to decode it); errors name the curator's file, never a storage path.
    with tempfile.TemporaryDirectory(dir=rt.storage.tmp_dir, prefix="sources-") as tmp:
        names: dict[str, str] = {}
        links = []
        for i, source in enumerate(sources):
            link = Path(tmp) / f"{i:03d}{PurePosixPath(source.key).suffix}"
            link.symlink_to(rt.storage.path(source.key))
            names[str(link)] = source.name
            links.append(link)
        try:
            return prepare_dataset(links, out, config=cfg, on_progress=progress, overwrite=True)
        except AudioError as exc:
            name = names.get(exc.path, Path(exc.path).name)
            raise JobError(f"source track {name!r}: {exc.reason}") from exc


def _verify(rt: Runtime, source: SourceFile) -> None:
    """The file is still the one that was checked on upload (disks and people do change files)."""
    path = rt.storage.path(source.key)
    if not path.is_file():
        raise JobError(f"source track {source.name!r} is missing from media storage ({source.key})")
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    if digest.hexdigest() != source.sha256:
        raise JobError(
            f"source track {source.name!r} changed on disk since it was uploaded (checksum "
            "mismatch); delete it and upload it again"
        )


def _summary(manifest: Manifest, sources: Sequence[SourceFile]) -> dict[str, Any]:
    """What the catalog keeps of a manifest: ids, counts and durations, not the chunk list."""
    return {
        "dataset_id": manifest.dataset_id,
        "sample_rate": manifest.sample_rate,
        "chunk_seconds": manifest.chunk_seconds,
        "n_chunks": manifest.n_chunks,
        "splits": dict(manifest.splits),
        "silence_removed_s": manifest.silence.seconds_removed,
        "seconds": manifest.silence.seconds_after,
        "sources": [
            {"name": s.name, "seconds": e.seconds}
            for s, e in zip(sources, manifest.sources, strict=True)
        ],
    }
