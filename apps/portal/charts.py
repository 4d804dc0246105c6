"""Server-side SVG charts: bars per day and a line over time, as drawing coordinates for templates.

The page shows each chart as an SVG image with a text summary and, beside it, a table of the same figures, so the
numbers are there for screen readers, for copying and when the SVG cannot be seen.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

WIDTH, HEIGHT, MARGIN = 640, 220, 30


@dataclass(frozen=True)
class Bar:
    label: str
    value: Decimal
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class BarChart:
    bars: list[Bar]
    maximum: Decimal
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - MARGIN


def bar_chart(points: list[tuple[str, Decimal]]) -> BarChart:
    """One bar per (label, value); bars scale to the largest value, negative values count as zero."""
    maximum = max((Decimal(value) for _, value in points), default=Decimal(0))
    plot_width, plot_height = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    slot = plot_width / max(len(points), 1)
    bars = []
    for index, (label, value) in enumerate(points):
        share = float(max(Decimal(value), 0) / maximum) if maximum > 0 else 0.0
        height = share * plot_height
        bars.append(
            Bar(
                label=label,
                value=value,
                x=MARGIN + index * slot + slot * 0.1,
                y=HEIGHT - MARGIN - height,
                width=slot * 0.8,
                height=height,
            )
        )
    return BarChart(bars=bars, maximum=maximum)


@dataclass(frozen=True)
class LineChart:
    points: str  # the SVG polyline's points attribute
    maximum: Decimal
    start: datetime | None
    end: datetime | None
    width: int = WIDTH
    height: int = HEIGHT
    baseline: int = HEIGHT - MARGIN


def line_chart(series: list[tuple[datetime, Decimal]]) -> LineChart:
    """A polyline through (time, value), time on the x axis from the first to the last point."""
    if not series:
        return LineChart(points="", maximum=Decimal(0), start=None, end=None)
    start, end = series[0][0], series[-1][0]
    span = max((end - start).total_seconds(), 1)
    maximum = max(value for _, value in series)
    plot_width, plot_height = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    coordinates = []
    for at, value in series:
        x = MARGIN + (at - start).total_seconds() / span * plot_width
        share = float(value / maximum) if maximum > 0 else 0.0
        y = HEIGHT - MARGIN - share * plot_height
        coordinates.append(f"{x:.1f},{y:.1f}")
    return LineChart(points=" ".join(coordinates), maximum=maximum, start=start, end=end)
