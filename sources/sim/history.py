"""Each KPI's history over any span, as the simulated Maestro would have recorded it.

The chart's 6 h and 7 d ranges reach back past what the simulation has run, so the past is
written in closed form rather than stepped: the load follows a working day (busiest at
14:00 UTC, lighter at the weekend) against executors sized for its peak
(`TARGET_SATURATION`), and each scripted incident bends its KPIs over its window as the
platform model does (a brownout slows starts, fails pulls and cordons executors; a lost
runner takes capacity away), averaged over each KPI's query window as the query would see
it. Small noise, the same for the same seed, is laid on a fixed 10-minute grid so that every
range shows the same past. The whole is scaled to meet a known value at its end (the
room's first kept point, or the simulator's present value), so the model joins what the
room has seen without a step.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .platform import STARTUP_MEDIAN_S, STARTUP_SIGMA, TARGET_SATURATION
from .scenario import Incident, Scenario

Point = tuple[datetime, float]

#: The share of the day's peak load arriving at 04:00 UTC, the quietest hour.
DIURNAL_SWING = 0.35
PEAK_HOUR_UTC = 14.0
WEEKEND_LOAD = 0.55
#: Seconds of each KPI's query window (saturation is an instant gauge).
WINDOW_S = {
    "queue_wait_p95": 300.0,
    "success_rate": 900.0,
    "success_rate_7d": 7 * 86400.0,
    "build_duration_mean": 900.0,
    "flake_rate": 3600.0,
    "executor_saturation": 0.0,
    "cost_per_build": 3600.0,
}
#: Noise per KPI: relative, but absolute for the success rates (near 1).
NOISE = {
    "queue_wait_p95": 0.08,
    "success_rate": 0.0015,
    "success_rate_7d": 0.0003,
    "build_duration_mean": 0.03,
    "flake_rate": 0.1,
    "executor_saturation": 0.04,
    "cost_per_build": 0.03,
}
RATIOS = frozenset({"success_rate", "success_rate_7d", "executor_saturation", "flake_rate"})
SUCCESS = frozenset({"success_rate", "success_rate_7d"})
NOISE_GRID_S = 600.0
#: The start-up's 95th percentile: most of a calm queue wait is the executor starting.
STARTUP_P95_S = STARTUP_MEDIAN_S * math.exp(1.645 * STARTUP_SIGMA)
#: The waiting for a free executor on top, growing steeply as the pools fill.
QUEUEING_S = 30.0
BUSIEST = 0.9
#: The success rate the shape is drawn around; the scale to the known end sets the level.
CALM_SUCCESS = 0.99


def day_load(at: datetime) -> float:
    """The arrival rate at `at` as a share of a weekday's mean."""
    hour = at.hour + at.minute / 60 + at.second / 3600
    load = 1.0 + DIURNAL_SWING * math.cos(2 * math.pi * (hour - PEAK_HOUR_UTC) / 24)
    return load * (WEEKEND_LOAD if at.weekday() >= 5 else 1.0)


@dataclass(frozen=True)
class IncidentWindow:
    """An incident of the scenario, placed in time."""

    start: datetime
    end: datetime
    incident: Incident

    def share(self, at: datetime, window_s: float) -> float:
        """How much of the query window ending at `at` lies in the incident, 0 to 1."""
        if window_s <= 0:
            return 1.0 if self.start <= at < self.end else 0.0
        since = at - timedelta(seconds=window_s)
        overlap = (min(at, self.end) - max(since, self.start)).total_seconds()
        return max(0.0, overlap) / window_s


class SimHistory:
    """The simulated past of each KPI, deterministic for `seed`, for a chart's range."""

    def __init__(
        self,
        scenario: Scenario,
        started: datetime,
        seed: int,
        executors: dict[str, int] | None = None,
    ) -> None:
        """`started` is the simulation's start (incidents' `at` counts from it);
        `executors` the pools' sizes, for a lost runner's share of the capacity."""
        self.seed = seed
        self.executors = dict(executors or {})
        self.incidents = tuple(
            IncidentWindow(started + i.at, started + i.at + i.duration, i)
            for i in scenario.incidents
        )

    def points(
        self,
        signal: str,
        start: datetime,
        end: datetime,
        step: timedelta,
        anchor: Point | None,
    ) -> tuple[Point, ...]:
        """`signal` every `step` from `start` up to `end` (and not past the anchor), scaled
        so that it passes through `anchor`, the known value at its end; empty for a signal
        the model does not know or without an anchor to set its level."""
        if signal not in WINDOW_S or anchor is None or step <= timedelta(0):
            return ()
        at_anchor, known = anchor
        stop = min(end, at_anchor)
        if stop < start:
            return ()
        absolute = signal in SUCCESS
        noise = self._noise(signal, at_anchor)
        level = known - noise if absolute else known / (1 + noise)
        shape_end = self._shape(signal, at_anchor)
        out: list[Point] = []
        count = int((stop - start) / step)
        for index in range(count + 1):
            at = stop - step * (count - index)
            scaled, noise = self._scaled(signal, at, level, shape_end), self._noise(signal, at)
            value = scaled + noise if absolute else scaled * (1 + noise)
            out.append((at, max(0.0, min(1.0, value)) if signal in RATIOS else max(0.0, value)))
        return tuple(out)

    def _scaled(self, signal: str, at: datetime, level: float, shape_end: float) -> float:
        shape = self._shape(signal, at)
        if signal in SUCCESS:
            # Scaled in what fails, so that a rate near 1 keeps its proportions.
            return 1 - (1 - shape) * (1 - level) / max(1e-9, 1 - shape_end)
        return shape * level / shape_end if shape_end else level

    def _shape(self, signal: str, at: datetime) -> float:
        """The KPI's shape at `at`: right in its proportions, not in its level."""
        window = WINDOW_S[signal]
        load = day_load(at) / (1 + DIURNAL_SWING)  # 1 at a weekday's peak
        startup = capacity = 1.0
        failing = cordoned = 0.0
        for placed in self.incidents:
            incident = placed.incident
            share = placed.share(at, window)
            if not share:
                continue
            if incident.event == "registry.brownout":
                startup += (incident.startup_factor - 1) * share
                failing += (incident.pull_error_rate + incident.extra_failure_rate) * share
                cordoned += incident.cordoned_share * share
            elif incident.event == "runner.lost":
                size = self.executors.get(incident.pool, 0) or sum(self.executors.values())
                if size:
                    capacity -= min(0.9, incident.executors / size) * share
        # Cordoned executors finish what they run, and failed pulls end in seconds: in the
        # model a brownout's queue waits come from the slow starts, not from the queue.
        busy = min(BUSIEST, TARGET_SATURATION * load / max(0.05, capacity))
        if signal == "queue_wait_p95":
            return STARTUP_P95_S * startup + QUEUEING_S * busy**4 / (1 - busy)
        if signal in SUCCESS:
            return CALM_SUCCESS * (1 - min(1.0, failing))
        if signal == "executor_saturation":
            return TARGET_SATURATION * load * (1 - cordoned) / max(0.05, capacity)
        if signal == "cost_per_build":
            return 1 / max(0.05, load)  # the executors cost the same, fewer jobs share it
        # Build mean and flake rate: a failed pull ends in seconds and never flakes.
        return 1 - 0.9 * min(1.0, failing)

    def _noise(self, signal: str, at: datetime) -> float:
        """Smooth noise: a value per grid node for the seed, eased between nodes."""
        t = at.astimezone(timezone.utc).timestamp() / NOISE_GRID_S
        node = math.floor(t)
        a, b = self._node(signal, node), self._node(signal, node + 1)
        ease = (1 - math.cos(math.pi * (t - node))) / 2
        return a + (b - a) * ease

    def _node(self, signal: str, node: int) -> float:
        draw = random.Random(f"{self.seed}/{signal}/{node}").gauss(0.0, 1.0)
        return NOISE[signal] * max(-2.5, min(2.5, draw))


def joined(model: Sequence[Point], kept: Sequence[Point]) -> tuple[Point, ...]:
    """The model's points before the room's first kept point, then the room's own."""
    if not kept:
        return tuple(model)
    first = kept[0][0]
    return (*(p for p in model if p[0] < first), *kept)
