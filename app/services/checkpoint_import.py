"""Checkpoints in and out of an install: the file of one epoch, and a checkpoint trained
elsewhere (a rented GPU running `albumbot train`) added to a project as a run of its own.

An imported checkpoint becomes a finished Run (its RunPlan rebuilt from the file's model and
training configs, no dataset, no end-of-epoch clips) with one Checkpoint at the file's epoch,
so `POST /checkpoints/{id}/generate` makes clips from it like from any epoch. The file is
checked first by its header (model/checkpoint_header.py, the versions model/checkpoint.py
reads), without torch in the web process: an incompatible file is refused, with the reason,
before anything is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from app.catalog import Checkpoint, Run
from app.contract.plan import RunPlan
from app.received import ReceivedFile
from app.services.errors import InvalidInput, NotFound
from app.services.projects import get_project
from app.storage import Storage, file_sha256
from model.checkpoint_header import CheckpointError, CheckpointHeader, read_checkpoint_header
from model.config import PRESETS


@dataclass(frozen=True)
class ImportedCheckpoint:
    run: Run
    checkpoint: Checkpoint
    header: CheckpointHeader
    sha256: str


def get_checkpoint(session: Session, checkpoint_id: int) -> Checkpoint:
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise NotFound("checkpoint", checkpoint_id)
    return checkpoint


def checkpoint_filename(checkpoint: Checkpoint) -> str:
    """What a downloaded checkpoint is called: project, run and epoch, e.g. `p3-run7-e0012.pt`."""
    run = checkpoint.run
    return f"p{run.project_id}-run{run.id}-e{checkpoint.epoch:04d}.pt"


def read_header(received: ReceivedFile) -> CheckpointHeader:
    """The uploaded file's header; InvalidInput (422) with the reason when it is incompatible."""
    try:
        return read_checkpoint_header(received.path)
    except CheckpointError as exc:
        raise InvalidInput(
            str(exc).replace(received.path.name, received.display_name), reason="incompatible"
        ) from None


def plan_of_header(header: CheckpointHeader) -> RunPlan:
    """The run plan an imported checkpoint's run shows: its own configs, the preset whose model it
    matches (else "paper"), and no end-of-epoch clips (its epochs were trained elsewhere)."""
    name = next((n for n, p in PRESETS.items() if p.model == header.model_config), "paper")
    return RunPlan(
        preset=name,  # type: ignore[arg-type]  # a key of PRESETS
        epochs=max(1, header.epoch),
        clips_per_epoch=0,
        clip_seconds=10.0,
        temperature=1.0,
        sample_rate=header.model_config.sample_rate,
        chunks=PRESETS[name].dataset_chunks,
        seed=header.train_config.seed,
        model=header.model_config,
        train=header.train_config,
    )


def import_checkpoint(
    session: Session, storage: Storage, project_id: int, received: ReceivedFile
) -> ImportedCheckpoint:
    """Check, store and catalog an uploaded checkpoint as a new run of `project_id`.

    The file is moved into the run's checkpoint folder (where a resumed run would look) before
    the rows commit; if the commit fails, it is deleted again.
    """
    get_project(session, project_id)
    header = read_header(received)
    digest = file_sha256(received.path)
    metrics = header.last_metrics()
    run = Run(
        project_id=project_id, config=plan_of_header(header).to_dict(), status="succeeded",
        metrics=[_plain(h) for h in header.history], current_epoch=header.epoch,
    )
    session.add(run)
    session.flush()
    key = f"projects/{int(project_id)}/runs/{run.id}/checkpoints/epoch-{header.epoch:04d}.pt"
    checkpoint = Checkpoint(
        run_id=run.id, epoch=header.epoch, step=header.step, path=key,
        train_nll_bits=_number(metrics.get("train_nll_bits")),
        valid_nll_bits=_number(metrics.get("valid_nll_bits")),
    )
    session.add(checkpoint)
    session.flush()
    storage.put(received.path, key)
    try:
        session.commit()
    except BaseException:
        session.rollback()
        storage.delete(key)
        raise
    return ImportedCheckpoint(run, checkpoint, header, digest)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _plain(entry: dict[str, Any]) -> dict[str, Any]:
    """A history entry as JSON can hold it (placeholders of tensors become their shapes)."""
    return {k: v for k, v in entry.items() if isinstance(v, str | int | float | bool | None)}
