"""Run plans for rows that tests insert directly: the same complete plan a real run stores."""

from __future__ import annotations

from typing import Any, Literal

from app.schemas.runs import RunConfigIn
from app.services.plans import run_plan


def tiny_plan(*, preset: Literal["tiny", "paper"] = "tiny", **fields: Any) -> dict[str, Any]:
    """`Run.config` of a run created with `{"preset": preset, **fields}`."""
    return run_plan(RunConfigIn(preset=preset, **fields)).to_dict()
