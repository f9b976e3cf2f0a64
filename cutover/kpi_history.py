"""A KPI's history for its chart: the points over a range, where they came from, and the
periods its rollback triggers fired. Pure: the sources fetch, the screen draws."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .kpis import KpiSpec
from .room import TriggerTransition
from .triggers import TriggerSpec, TriggerState

#: The chart's ranges, in the order `1`, `2`, `3` pick them.
RANGES: tuple[tuple[str, timedelta], ...] = (
    ("30 m", timedelta(minutes=30)),
    ("6 h", timedelta(hours=6)),
    ("7 d", timedelta(days=7)),
)
#: About this many points per range: one per cell or two of a wide chart.
POINTS = 240

Point = tuple[datetime, float]


@dataclass(frozen=True)
class KpiHistory:
    """What the chart draws for one KPI over one range."""

    spec: KpiSpec
    start: datetime
    end: datetime
    points: tuple[Point, ...]
    #: Where the points come from: `Prometheus (query_range, step 15s)`, `this room's memory`.
    origin: str
    #: When the points cover less than the range, or none could be had, why.
    note: str = ""
    #: (start, end) of each period a trigger on this KPI's signal fired, clipped to the range.
    firing: tuple[tuple[datetime, datetime], ...] = ()


def range_step(span: timedelta, floor: timedelta = timedelta(seconds=15)) -> timedelta:
    """The step of a range query: the span in about `POINTS` points, never below `floor`."""
    return max(floor, span / POINTS)


def firing_periods(
    log: Iterable[TriggerTransition],
    triggers: Sequence[TriggerSpec],
    signal: str,
    start: datetime,
    end: datetime,
) -> tuple[tuple[datetime, datetime], ...]:
    """When a trigger on `signal` was firing, from the room's transitions, within [start, end].
    A trigger still firing at `end` is shaded to the end."""
    ids = {spec.id for spec in triggers if spec.signal == signal}
    periods: list[tuple[datetime, datetime]] = []
    began: dict[str, datetime] = {}
    for move in sorted(log, key=lambda move: move.at):
        if move.trigger not in ids:
            continue
        if move.after is TriggerState.FIRING:
            began.setdefault(move.trigger, move.at)
        elif move.trigger in began:
            periods.append((began.pop(move.trigger), move.at))
    periods += [(at, end) for at in began.values()]
    clipped = [(max(a, start), min(b, end)) for a, b in periods if b >= start and a <= end]
    return tuple(sorted(clipped))


def room_points(
    values: Sequence[float], last_at: datetime | None, interval: timedelta
) -> tuple[Point, ...]:
    """The room's own history of a signal (one value per `interval`, the last at `last_at`)
    as timed points."""
    if last_at is None:
        return ()
    count = len(values)
    return tuple((last_at - interval * (count - 1 - i), v) for i, v in enumerate(values))
