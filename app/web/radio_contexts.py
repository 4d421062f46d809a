"""The radio pages' contexts (app/web/radio.py); listed in app/web/contexts.py's PAGES."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.services.radio_speed import SpeedEstimate
from app.web.context_fields import Crumb, doc


@dataclass(frozen=True)
class RadioStartContext:
    """radio_start.html: start a radio from one of a run's epochs; its radios so far."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    run_id: int = doc("the run")
    epochs: list[int] = doc("epochs with a checkpoint, newest first")
    measured_rtf: float | None = doc("realtime factor a radio of this run last reached here")
    estimate: SpeedEstimate | None = doc(
        "before any radio was measured: what the run's clips say (app/services/radio_speed.py)"
    )
    radios: list[Any] = doc("RadioOut of this run's radios, newest first")
    page_data: dict[str, Any] = doc("JSON for the page script: run_id", default_factory=dict)


@dataclass(frozen=True)
class RadioContext:
    """radio.html: one radio's player, realtime factor, stop and keep that."""

    crumbs: list[Crumb] = doc("breadcrumb trail")
    radio: Any = doc("the radio (RadioOut)")
    page_data: dict[str, Any] = doc("JSON for the page script: radio and stream urls",
                                    default_factory=dict)
