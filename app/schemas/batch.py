"""Many clips in one request, and what a delete removes."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.config import JsonDict

from app.schemas.clips import ClipOut, Tag
from app.schemas.common import RequestBody

MAX_BATCH = 1000
ClipId = Annotated[int, Field(ge=1, le=2**31 - 1)]  # catalog ids are 32-bit on PostgreSQL
_EDITS = ("rating", "kept", "add_tags", "remove_tags")
_ANY_EDIT: JsonDict = {"anyOf": [{"required": [name]} for name in _EDITS]}
_IS_DELETE: JsonDict = {"properties": {"delete": {"const": True}}, "required": ["delete"]}
# `_one_kind_of_change` in JSON Schema, so a body the schema admits is one the API takes:
# a delete carries no edit, anything else at least one; dry_run only with delete.
_ONE_KIND_OF_CHANGE: JsonDict = {
    "allOf": [
        {"if": _IS_DELETE, "then": {"not": _ANY_EDIT}, "else": _ANY_EDIT},
        {
            "if": {"properties": {"dry_run": {"const": True}}, "required": ["dry_run"]},
            "then": _IS_DELETE,
        },
    ]
}


class ClipBatchIn(RequestBody):
    """Body of `POST /projects/{id}/clips/batch`: the same edit to every clip of `ids`, or their
    deletion, all or nothing. A field left out is unchanged; `rating`/`kept` null clear."""

    model_config = ConfigDict(json_schema_extra=_ONE_KIND_OF_CHANGE)

    ids: list[ClipId] = Field(min_length=1, max_length=MAX_BATCH, description="clip ids")
    rating: int | None = Field(None, ge=1, le=5)
    kept: bool | None = Field(None, description="true keep, false reject, null undecided")
    add_tags: list[Tag] = Field(default_factory=list, max_length=64)
    remove_tags: list[Tag] = Field(default_factory=list, max_length=64)
    delete: bool = Field(False, description="delete the clips (nothing else may be asked)")
    dry_run: bool = Field(False, description="with delete: say what would go, remove nothing")

    @model_validator(mode="after")
    def _one_kind_of_change(self) -> ClipBatchIn:
        edits = self.model_fields_set & {"rating", "kept", "add_tags", "remove_tags"}
        if self.delete and edits:
            raise ValueError(f"delete cannot be combined with {', '.join(sorted(edits))}")
        if not self.delete and not edits:
            raise ValueError("nothing to do: give rating, kept, add_tags, remove_tags or delete")
        if self.dry_run and not self.delete:
            raise ValueError("dry_run goes with delete")
        return self


class RemovalOut(BaseModel):
    """What a delete removed, or with `dry_run` what it would remove."""

    target: str
    dry_run: bool
    summary: str = Field(description="one sentence for a confirmation dialog")
    runs: list[int] = Field(description="run ids")
    checkpoints: list[int] = Field(description="checkpoint ids")
    clips: list[int] = Field(description="clip ids")
    markers: int = Field(description="markers on those clips")
    files: int = Field(description="media files (audio, peaks, spectrograms, checkpoints)")
    folders: int = Field(description="whole folders (a run's folder)")
    bytes: int = Field(description="on disk, files and folders together")
    paths: list[str] = Field(description="storage keys of the folders and files (first 500)")
    paths_truncated: bool


class ClipBatchOut(BaseModel):
    ids: list[int] = Field(description="the clips of the request, ascending")
    updated: int = Field(description="clips edited (0 for a delete)")
    data: list[ClipOut] = Field(description="the edited clips, ascending id ([] for a delete)")
    removal: RemovalOut | None = Field(description="what the delete removed (null for edits)")
