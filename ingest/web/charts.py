"""Small bar charts as geometry for an inline SVG the template draws: no script, no library, nothing remote."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

WIDTH, HEIGHT = 180, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    value: int

    @property
    def label(self) -> str:
        """The bar's tooltip."""
        return f"{self.day}: {self.value}"


@dataclass(frozen=True)
class Chart:
    bars: tuple[Bar, ...]
    total: int
    peak: int
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def summary(self) -> str:
        """What the chart shows, for screen readers and for the eye without the chart."""
        return f"{self.total} in {len(self.bars)} days, at most {self.peak} a day"


def bars(counts: Mapping[date, int], days: Sequence[date], width: int = WIDTH, height: int = HEIGHT) -> Chart:
    """One bar per day (zero-height on empty days), scaled to the busiest day; one pixel minimum when non-zero."""
    peak = max((counts.get(d, 0) for d in days), default=0)
    step = width / max(1, len(days))
    out = []
    for n, d in enumerate(days):
        value = counts.get(d, 0)
        h = 0.0 if not peak else max(1.0, round(value / peak * (height - 1), 1)) if value else 0.0
        out.append(Bar(round(n * step, 2), round(height - h, 2), round(max(1.0, step - 1), 2), h, d, value))
    return Chart(tuple(out), sum(counts.get(d, 0) for d in days), peak, width, height)
