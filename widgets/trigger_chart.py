"""A trigger's input signal as a small text chart: the values, the threshold and clear
lines, a value axis and a time axis. Plain Unicode, so it reads over any SSH link."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from ..cutover.kpis import format_value

POINT = "●"
THRESHOLD = "─"
CLEAR = "┄"


def _row(value: float, low: float, high: float, height: int) -> int:
    """The chart row of `value`, 0 at the top."""
    if high <= low:
        return height // 2
    share = (value - low) / (high - low)
    return min(height - 1, max(0, round((1 - share) * (height - 1))))


def signal_chart(
    values: Sequence[float],
    *,
    threshold: float,
    clear: float,
    unit: str,
    end: datetime,
    interval: timedelta,
    width: int = 60,
    height: int = 8,
) -> list[str]:
    """The last `width` values as `height` lines of points, with the threshold (`─`) and
    clear (`┄`) lines across, value labels on the left and a time axis below. The last
    value is at `end`; the ones before it `interval` apart."""
    if not values:
        return ["no history yet"]
    shown = list(values[-width:])
    levels = [*shown, threshold, clear]
    low, high = min(levels), max(levels)
    span = high - low or abs(high) or 1.0
    low, high = low - span * 0.1, high + span * 0.1
    grid = [[" "] * len(shown) for _ in range(height)]
    for level, mark in ((clear, CLEAR), (threshold, THRESHOLD)):
        row = _row(level, low, high, height)
        grid[row] = [mark] * len(shown)
    for column, value in enumerate(shown):
        grid[_row(value, low, high, height)][column] = POINT
    labels = {
        0: format_value(high, unit),
        height - 1: format_value(low, unit),
        _row(threshold, low, high, height): format_value(threshold, unit) + " threshold",
    }
    if clear != threshold:
        labels.setdefault(_row(clear, low, high, height), format_value(clear, unit) + " clear")
    pad = max(len(label) for label in labels.values())
    lines = [f"{labels.get(row, ''):>{pad}} │{''.join(cells)}" for row, cells in enumerate(grid)]
    first = end - interval * (len(shown) - 1)
    left, right = f"{first:%H:%M}", f"{end:%H:%M}"
    gap = max(1, len(shown) - len(left) - len(right))
    lines.append(" " * pad + " └" + "─" * len(shown))
    lines.append(" " * (pad + 2) + left + " " * gap + right)
    return lines
