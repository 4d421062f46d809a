"""Shapes shared by every resource: pages and RFC 9457 problems."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")
# The largest integer a JSON number carries exactly in most clients (doubles): a bound of 2**63-1
# reads as 2**63 there, so schema tools drew seeds past it that the API then refused.
MAX_EXACT_INT = 2**53 - 1


class Page(BaseModel, Generic[T]):
    """One page of a list. Pass `next_cursor` as `cursor` to get the next; null on the last page."""

    data: list[T]
    next_cursor: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details, sent as application/problem+json for every error."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[dict[str, object]] | None = Field(
        default=None, description="validation errors, one per offending field"
    )


def _integral(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


class RequestBody(BaseModel):
    """Base of request bodies: exactly the fields and JSON types the OpenAPI schema names.

    Strict, so `0` is no `false`, `false` no `0` and `"5"` no 5 (pydantic's lax mode took them,
    though the schema refuses them); but JSON Schema's integer admits `3.0`, so that is 3."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @field_validator("*", mode="before")
    @classmethod
    def _integral_numbers(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [_integral(v) for v in value]
        return _integral(value)


class Out(BaseModel):
    """Base of response models: built from ORM objects."""

    model_config = ConfigDict(from_attributes=True)
