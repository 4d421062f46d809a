"""Moving models and projects between installs: imported checkpoints and project archives."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from app.schemas.projects import ProjectOut
from app.schemas.runs import CheckpointOut, RunOut


class CheckpointFileOut(BaseModel):
    """What an imported checkpoint file said about itself."""

    format_version: int
    model: dict[str, Any] = Field(description="the network's shape (SampleRNNConfig)")
    train: dict[str, Any] = Field(description="how it was trained (TrainConfig)")
    epoch: int
    step: int
    parameters: int = Field(description="number of weights")
    sha256: str


class CheckpointImportOut(BaseModel):
    """Answer of `POST /projects/{id}/checkpoints/import`: the new run and its one epoch."""

    run: RunOut
    checkpoint: CheckpointOut
    file: CheckpointFileOut


class ProjectImportOut(BaseModel):
    """Answer of `POST /projects/import`."""

    project: ProjectOut
    counts: dict[str, int] = Field(description="rows imported per catalog table")
    files: int = Field(description="media files imported")
    ids: dict[str, dict[str, int]] = Field(
        description="per table, the archive's ids mapped to the new ones"
    )
