"""A moment to continue from (`prime`), as clip generation and the radio take it."""

from __future__ import annotations

from pydantic import ConfigDict, Field, model_validator

from app.schemas.common import RequestBody

PRIME_MAX_S = 30.0  # the engine reads the whole excerpt before its first sample: keep it short


class PrimeIn(RequestBody):
    """`seconds` of a source track or of a clip from `start_s`: the generator reads them first
    (warming its state) and continues from their end."""

    # `_one_source` in JSON Schema: exactly one of the two ids is a number.
    model_config = ConfigDict(json_schema_extra={"oneOf": [
        {"properties": {name: {"type": "integer"}}, "required": [name]}
        for name in ("source_id", "clip_id")
    ]})

    source_id: int | None = Field(None, ge=0, le=2**31 - 1, description="a source track")
    clip_id: int | None = Field(None, ge=0, le=2**31 - 1, description="or a clip")
    start_s: float = Field(0.0, ge=0, description="where the excerpt starts, seconds")
    seconds: float = Field(2.0, gt=0, le=PRIME_MAX_S, description="its length, seconds")

    @model_validator(mode="after")
    def _one_source(self) -> PrimeIn:
        if (self.source_id is None) == (self.clip_id is None):
            raise ValueError("give exactly one of source_id and clip_id")
        return self
