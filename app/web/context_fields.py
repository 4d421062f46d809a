"""The parts every page context is made of: fields with help text, breadcrumbs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


def doc(help_text: str, **kwargs: Any) -> Any:
    """A dataclass field with help text (tests/web/test_pages.py checks every field has one)."""
    return field(metadata={"help": help_text}, **kwargs)


@dataclass(frozen=True)
class Crumb:
    label: str = doc("link text")
    url: str | None = doc("where it leads; None for the current page", default=None)
