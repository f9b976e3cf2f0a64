"""Sparklines drawn against the KPI's own threshold, so a flat line looks flat.

Textual's Sparkline scales from the smallest to the largest value shown, which turns a
0.01 % wobble into a full-height cliff. Here the scale always includes the threshold: a
floor (success rate) sits mid-height, a ceiling (queue wait) at the top, with zero below.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..cutover.triggers import Comparison

BLOCKS = "▁▂▃▄▅▆▇█"


def scale(values: Sequence[float], threshold: float, comparison: Comparison) -> tuple[float, float]:
    """The (low, high) a KPI's sparkline is drawn between."""
    low, high = min(values), max(values)
    if comparison is Comparison.ABOVE:
        return min(0.0, low), max(high, threshold)
    # A floor: the threshold halfway between the lowest point and the highest.
    above = max(high - threshold, abs(threshold) * 0.005, 1e-9)
    return min(low, threshold - above), max(high, threshold + above)


def sparkline(values: Sequence[float], low: float, high: float) -> str:
    """One block character per value, from `low` (▁) to `high` (█)."""
    span = high - low
    if not values:
        return ""
    if span <= 0:
        return BLOCKS[0] * len(values)
    top = len(BLOCKS) - 1
    return "".join(BLOCKS[min(top, max(0, round((value - low) / span * top)))] for value in values)
