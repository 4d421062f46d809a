"""Pictures the server draws as inline SVG: clip waveform thumbnails and the NLL curve.

Pure functions over numbers; the templates only place what these return.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

THUMB_COLUMNS = 96  # columns of a thumbnail (viewBox 96 × 40); the SVG scales to any width


def peaks_path(peaks: list[float], *, columns: int = THUMB_COLUMNS, height: float = 40.0) -> str:
    """An SVG path `d` of a mirrored waveform outline in a `columns` × `height` box.

    `peaks` are signed values in −1..1 (wavesurfer's `peaks[0]`); each column shows the largest
    magnitude of its share of them.
    """
    n = len(peaks)
    if n == 0:
        return f"M0,{height / 2:g}H{columns}"
    cols = min(columns, n)
    amps = []
    for c in range(cols):
        lo, hi = c * n // cols, max((c + 1) * n // cols, c * n // cols + 1)
        amps.append(min(1.0, max(abs(v) for v in peaks[lo:hi])))
    mid = height / 2
    scale = columns / cols
    # Whole units: a thumbnail is about 40 px tall, so finer coordinates only add bytes.
    top = [f"{round(c * scale)},{round(mid - max(a, 0.03) * mid)}" for c, a in enumerate(amps)]
    bottom = [
        f"{round(c * scale)},{round(mid + max(a, 0.03) * mid)}"
        for c, a in reversed(list(enumerate(amps)))
    ]
    return "M" + "L".join(top + bottom) + "Z"


@lru_cache(maxsize=4096)
def _cached_thumb(path: str, mtime_ns: int, size: int) -> str:
    doc = json.loads(Path(path).read_text())
    channels = doc.get("peaks") or [[]]
    return peaks_path([float(v) for v in channels[0]])


def thumbnail_for(path: Path | None) -> str | None:
    """The thumbnail path of a peaks JSON file (cached per file version), None if unreadable."""
    if path is None:
        return None
    try:
        stat = path.stat()
        return _cached_thumb(str(path), stat.st_mtime_ns, stat.st_size)
    except (OSError, ValueError, TypeError, KeyError):
        return None


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    epoch: int
    value: float


@dataclass(frozen=True)
class ChartSeries:
    name: str
    css: str  # class name: colour comes from the stylesheet
    path: str
    points: list[ChartPoint]


@dataclass(frozen=True)
class Tick:
    pos: float
    label: str


@dataclass(frozen=True)
class LineChart:
    """An SVG line chart of NLL (bits) per epoch, laid out in a `width` × `height` viewBox."""

    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int
    series: list[ChartSeries]
    x_ticks: list[Tick] = field(default_factory=list)
    y_ticks: list[Tick] = field(default_factory=list)
    empty: bool = False


def nice_ticks(lo: float, hi: float, count: int = 4) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi):
        return []
    if hi - lo < 1e-9:
        lo, hi = lo - 0.5, hi + 0.5
    raw = (hi - lo) / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    v = math.floor(lo / step) * step
    ticks = [round(v, 10)]
    while v < hi - 1e-9 * step:  # the last tick is at or above hi, so every point fits
        v += step
        ticks.append(round(v, 10))
    return ticks


def nll_chart(rows: list[dict[str, Any]], *, width: int = 640, height: int = 220) -> LineChart:
    """Train and validation NLL per epoch from rows `{epoch, train_nll_bits, valid_nll_bits}`."""
    left, right, top, bottom = 48, 12, 12, 28
    names = (("train_nll_bits", "train", "s-train"), ("valid_nll_bits", "valid", "s-valid"))
    values = [r[k] for r in rows for k, _, _ in names if r.get(k) is not None]
    epochs = [int(r["epoch"]) for r in rows]
    if not values or not epochs:
        return LineChart(width, height, left, right, top, bottom, [], empty=True)
    yt = nice_ticks(min(values), max(values))
    y0, y1 = yt[0], yt[-1]
    x0, x1 = min(epochs), max(epochs)
    pw, ph = width - left - right, height - top - bottom

    def sx(e: float) -> float:
        return left + (pw * (e - x0) / (x1 - x0) if x1 > x0 else pw / 2)

    def sy(v: float) -> float:
        return top + ph * (1 - (v - y0) / (y1 - y0))

    series = []
    for key, label, css in names:
        pts = [
            ChartPoint(
                round(sx(r["epoch"]), 1), round(sy(r[key]), 1), int(r["epoch"]), float(r[key])
            )
            for r in rows
            if r.get(key) is not None
        ]
        if pts:
            d = "M" + "L".join(f"{p.x},{p.y}" for p in pts)
            series.append(ChartSeries(label, css, d, pts))
    stride = max(1, math.ceil(len(epochs) / 10))
    x_ticks = [Tick(round(sx(e), 1), str(e)) for e in sorted(set(epochs))[::stride]]
    y_ticks = [Tick(round(sy(v), 1), f"{v:g}") for v in yt]
    return LineChart(width, height, left, right, top, bottom, series, x_ticks, y_ticks)
