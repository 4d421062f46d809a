"""The run page's quality plot, drawn on the server as SVG: per epoch, the validation NLL, the
style distance of the epoch's clips to the album, and the shares of its clips with a flag raised
and flagged copied, in three panels over one epoch axis. Two marks say what a curator looks for:
the epoch whose clips sound most like the album without copying it, and the first epoch with
copied clips.

Pure functions over numbers (like app/web/graphics.py); the template only places them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from app.web.graphics import ChartPoint, ChartSeries, Tick, nice_ticks

# (row key, series name, css class, scale): what each panel plots; shares are drawn in percent.
PANELS: tuple[tuple[str, tuple[tuple[str, str, str, float], ...]], ...] = (
    ("validation NLL (bits)", (("valid_nll_bits", "valid NLL", "s-valid", 1.0),)),
    ("style distance to the album", (("style_distance", "style distance", "s-style", 1.0),)),
    ("clips flagged (%)", (("flagged_share", "flagged", "s-flagged", 100.0),
                           ("copied_share", "copied", "s-copied", 100.0))),
)


@dataclass(frozen=True)
class Panel:
    title: str
    top: float  # y of the panel's top edge in the viewBox
    height: float
    series: list[ChartSeries]
    y_ticks: list[Tick]


@dataclass(frozen=True)
class Mark:
    """A vertical line at an epoch, with a label."""

    x: float
    epoch: int
    label: str
    css: str


@dataclass(frozen=True)
class QualityChart:
    width: int
    height: int
    left: int
    right: int
    panels: list[Panel] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    empty: bool = True  # no epoch analysed yet (the NLL alone is the other chart)


def quality_chart(
    rows: Sequence[dict[str, Any]], *, width: int = 1100, panel_height: int = 110
) -> QualityChart:
    """From rows `{epoch, valid_nll_bits, style_distance, flagged_share, copied_share}`."""
    left, right, gap, bottom = 52, 12, 26, 24
    height = len(PANELS) * (panel_height + gap) + bottom
    analysed = [r for r in rows if r.get("style_distance") is not None
                or r.get("flagged_share") is not None]
    epochs = sorted({int(r["epoch"]) for r in rows})
    if not analysed or not epochs:
        return QualityChart(width, height, left, right)
    x0, x1 = epochs[0], epochs[-1]
    plot_w = width - left - right

    def sx(epoch: float) -> float:
        return round(left + (plot_w * (epoch - x0) / (x1 - x0) if x1 > x0 else plot_w / 2), 1)

    panels = []
    for i, (title, specs) in enumerate(PANELS):
        top = gap + i * (panel_height + gap)
        values = [float(r[k]) * scale for r in rows for k, _, _, scale in specs
                  if r.get(k) is not None]
        if scale_is_share(specs):
            values += [0.0, 100.0]
        ticks = nice_ticks(min(values), max(values), 3) if values else [0.0, 1.0]
        y0, y1 = ticks[0], ticks[-1]

        def sy(v: float, top: float = top, y0: float = y0, y1: float = y1) -> float:
            return round(top + panel_height * (1 - (v - y0) / (y1 - y0 or 1.0)), 1)

        series = [s for s in (_series(rows, spec, sx, sy) for spec in specs) if s is not None]
        panels.append(Panel(title, top, panel_height, series,
                            [Tick(sy(v), f"{v:g}") for v in ticks]))
    stride = max(1, -(-len(epochs) // 10))
    return QualityChart(
        width, height, left, right, panels,
        [Tick(sx(e), str(e)) for e in epochs[::stride]], _marks(rows, sx), empty=False,
    )


def scale_is_share(specs: Sequence[tuple[str, str, str, float]]) -> bool:
    return all(scale == 100.0 for *_, scale in specs)


def _series(
    rows: Sequence[dict[str, Any]],
    spec: tuple[str, str, str, float],
    sx: Callable[[float], float],
    sy: Callable[[float], float],
) -> ChartSeries | None:
    key, name, css, scale = spec
    points = [
        ChartPoint(sx(r["epoch"]), sy(float(r[key]) * scale), int(r["epoch"]), float(r[key]))
        for r in rows if r.get(key) is not None
    ]
    if not points:
        return None
    return ChartSeries(name, css, "M" + "L".join(f"{p.x},{p.y}" for p in points), points)


def _marks(rows: Sequence[dict[str, Any]], sx: Callable[[float], float]) -> list[Mark]:
    marks = []
    styled = [r for r in rows if r.get("style_distance") is not None]
    original = [r for r in styled if not r.get("copied_share")]
    if styled:
        # Where the model "got it": its sound closest to the album's without copying it.
        best = min(original or styled, key=lambda r: (r["style_distance"], r["epoch"]))
        label = "closest to the album" + (" without copies" if original else "")
        marks.append(Mark(sx(best["epoch"]), int(best["epoch"]),
                          f"{label}: epoch {best['epoch']}", "m-best"))
    copying = [r for r in rows if (r.get("copied_share") or 0) > 0]
    if copying:
        first = min(copying, key=lambda r: r["epoch"])
        marks.append(Mark(sx(first["epoch"]), int(first["epoch"]),
                          f"copies from epoch {first['epoch']}", "m-copied"))
    return marks
