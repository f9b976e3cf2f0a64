"""The contract's PromQL, evaluated on the simulated Maestro's own scraped history.

The simulator "scrapes" its metric store every 15 simulated seconds, like Prometheus would,
and keeps the aggregated samples the default queries need. Each KPI is then computed exactly
as its query defines it, so a demo figure means what a live one means.

`rate()` here is the increase between the oldest sample inside the window and the newest,
divided by the time between them. Prometheus also extrapolates to the window's edges; every
KPI is a ratio of two rates over the same window, where that factor cancels out.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .metrics import MaestroMetrics

#: Prometheus' scrape interval in the model, in seconds.
SCRAPE_INTERVAL = 15.0
#: The longest fine-grained window any default query needs (flake, cost, shadow: 1h).
FINE_RETENTION = 3600.0
#: Coarse samples for the 7-day success rate.
COARSE_INTERVAL = 300.0
WEEK = 7 * 86400.0


@dataclass(frozen=True)
class Scrape:
    """One scrape of the store, aggregated the way the default queries sum it."""

    t: float
    jobs: Mapping[str, float]  # sum by (status) (maestro_jobs_total)
    flaky: float
    duration_sum: float
    duration_count: float
    cost: float
    queue_wait_buckets: tuple[tuple[float, float], ...]  # (le, cumulative count), +Inf last
    shadow: Mapping[str, tuple[float, float]]  # wave -> (match, all)
    busy: float
    executors: float

    @property
    def jobs_all(self) -> float:
        return sum(self.jobs.values())

    @property
    def jobs_success(self) -> float:
        return self.jobs.get("success", 0.0)

    @property
    def jobs_not_cancelled(self) -> float:
        return self.jobs_all - self.jobs.get("cancelled", 0.0)


def scrape(metrics: MaestroMetrics, t: float) -> Scrape:
    """Read the store as Prometheus would, summed as the queries sum it."""
    bounds = [*metrics.queue_wait.bounds, math.inf]
    shadow: dict[str, tuple[float, float]] = {}
    for (wave, result), value in metrics.shadow.sums_by("wave", "result").items():
        match, total = shadow.get(wave, (0.0, 0.0))
        shadow[wave] = (match + (value if result == "match" else 0.0), total + value)
    duration_sum, duration_count = metrics.duration.sum_and_count()
    return Scrape(
        t=t,
        jobs=metrics.jobs.sum_by("status"),
        flaky=metrics.flaky.total(),
        duration_sum=duration_sum,
        duration_count=duration_count,
        cost=metrics.cost.total(),
        queue_wait_buckets=tuple(zip(bounds, metrics.queue_wait.bucket_totals(), strict=True)),
        shadow=shadow,
        busy=metrics.busy.total(),
        executors=metrics.executors.total(),
    )


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float:
    """`histogram_quantile` as Prometheus computes it from (upper bound, cumulative count).

    Linear interpolation inside the bucket where the rank falls; the first bucket starts at 0
    (unless its bound is not positive); a rank in the +Inf bucket returns the previous bound.
    Fewer than two buckets, no +Inf bucket, or no observations give NaN.
    """
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(buckets, key=lambda b: b[0])
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return math.nan
    # Prometheus forces cumulative counts to be monotonic before it interpolates.
    counts: list[float] = []
    for _, count in ordered:
        counts.append(max(count, counts[-1]) if counts else count)
    observations = counts[-1]
    if observations == 0 or math.isnan(observations):
        return math.nan
    rank = q * observations
    b = next(i for i, count in enumerate(counts) if count >= rank)
    if b == len(ordered) - 1:
        return ordered[-2][0]
    if b == 0 and ordered[0][0] <= 0:
        return ordered[0][0]
    start = 0.0
    end = ordered[b][0]
    count = counts[b]
    if b > 0:
        start = ordered[b - 1][0]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (end - start) * (rank / count)


def _ratio(numerator: float, denominator: float) -> float | None:
    # No jobs in the window: nothing to judge, shown as "no data" rather than a number.
    if denominator == 0:
        return None
    return numerator / denominator


class PromHistory:
    """The scraped samples, fine for an hour and coarse for a week, and the KPI queries."""

    def __init__(self, week_before: Sequence[tuple[float, float, float]] = ()) -> None:
        self.fine: deque[Scrape] = deque()
        # (t, success, not cancelled) every 5 minutes, for `[7d]`; the week before the
        # simulation is seeded so that the 7-day figure starts where a real one would.
        self.coarse: deque[tuple[float, float, float]] = deque(week_before)
        self._offset = (self.coarse[-1][1], self.coarse[-1][2]) if self.coarse else (0.0, 0.0)
        self._last_coarse = self.coarse[-1][0] if self.coarse else -math.inf
        #: `window`'s answers since the last sample: every KPI is asked for once a simulated
        #: second, and an hour's window walks 240 samples, but they change once a scrape.
        self._windows: dict[float, tuple[Scrape, Scrape] | None] = {}
        self._signals: dict[str, float | None] | None = None

    def add(self, sample: Scrape) -> None:
        self._windows.clear()
        self._signals = None
        self.fine.append(sample)
        while self.fine and self.fine[0].t < sample.t - FINE_RETENTION - SCRAPE_INTERVAL:
            self.fine.popleft()
        if sample.t - self._last_coarse >= COARSE_INTERVAL:
            self._last_coarse = sample.t
            success, total = self._offset
            self.coarse.append(
                (sample.t, success + sample.jobs_success, total + sample.jobs_not_cancelled)
            )
            while self.coarse and self.coarse[0][0] < sample.t - WEEK - COARSE_INTERVAL:
                self.coarse.popleft()

    @property
    def latest(self) -> Scrape | None:
        return self.fine[-1] if self.fine else None

    def window(self, seconds: float) -> tuple[Scrape, Scrape] | None:
        """The oldest and newest samples inside `[seconds]` ending now, or None if < 2."""
        if seconds in self._windows:
            return self._windows[seconds]
        pair = None
        if len(self.fine) >= 2:
            newest = self.fine[-1]
            oldest = newest
            for sample in reversed(self.fine):
                if sample.t < newest.t - seconds:
                    break
                oldest = sample
            pair = None if oldest is newest else (oldest, newest)
        self._windows[seconds] = pair
        return pair

    def _increase_ratio(
        self,
        seconds: float,
        numerator: Callable[[Scrape], float],
        denominator: Callable[[Scrape], float],
    ) -> float | None:
        pair = self.window(seconds)
        if pair is None:
            return None
        old, new = pair
        return _ratio(numerator(new) - numerator(old), denominator(new) - denominator(old))

    def queue_wait_p95(self) -> float | None:
        """`histogram_quantile(0.95, sum by (le) (rate(maestro_queue_wait_seconds_bucket[5m])))`."""
        pair = self.window(300)
        if pair is None:
            return None
        old, new = pair
        span = new.t - old.t
        rates = [
            (le, (count - before) / span)
            for (le, count), (_, before) in zip(
                new.queue_wait_buckets, old.queue_wait_buckets, strict=True
            )
        ]
        return histogram_quantile(0.95, rates)

    def success_rate(self) -> float | None:
        """Success over non-cancelled jobs, `[15m]`."""
        return self._increase_ratio(900, lambda s: s.jobs_success, lambda s: s.jobs_not_cancelled)

    def success_rate_7d(self) -> float | None:
        """Success over non-cancelled jobs, `[7d]`, from the coarse samples."""
        if len(self.coarse) < 2:
            return None
        newest = self.coarse[-1]
        oldest = next(c for c in self.coarse if c[0] >= newest[0] - WEEK)
        if oldest is newest:
            return None
        return _ratio(newest[1] - oldest[1], newest[2] - oldest[2])

    def build_duration_mean(self) -> float | None:
        """`rate(_sum[15m]) / rate(_count[15m])`."""
        return self._increase_ratio(900, lambda s: s.duration_sum, lambda s: s.duration_count)

    def flake_rate(self) -> float | None:
        """Flaky jobs over all finished jobs, `[1h]`."""
        return self._increase_ratio(3600, lambda s: s.flaky, lambda s: s.jobs_all)

    def executor_saturation(self) -> float | None:
        """`sum(maestro_executors_busy) / sum(maestro_executors_total)`, now."""
        latest = self.latest
        return None if latest is None else _ratio(latest.busy, latest.executors)

    def cost_per_build(self) -> float | None:
        """Spend over finished jobs, `[1h]`."""
        return self._increase_ratio(3600, lambda s: s.cost, lambda s: s.jobs_all)

    def shadow_pass_by_wave(self) -> dict[str, float]:
        """Matching over all shadow builds by wave, `[1h]`; waves without builds are absent."""
        pair = self.window(3600)
        if pair is None:
            return {}
        old, new = pair
        out: dict[str, float] = {}
        for wave, (match, total) in new.shadow.items():
            match_before, total_before = old.shadow.get(wave, (0.0, 0.0))
            ratio = _ratio(match - match_before, total - total_before)
            if ratio is not None:
                out[wave] = ratio
        return out

    def shadow_pass(self) -> float | None:
        """Matching over all shadow builds, every wave together, `[1h]`."""
        pair = self.window(3600)
        if pair is None:
            return None
        old, new = pair
        match = sum(m for m, _ in new.shadow.values()) - sum(m for m, _ in old.shadow.values())
        total = sum(t for _, t in new.shadow.values()) - sum(t for _, t in old.shadow.values())
        return _ratio(match, total)

    def _kpis(self) -> dict[str, Callable[[], float | None]]:
        return {
            "queue_wait_p95": self.queue_wait_p95,
            "success_rate": self.success_rate,
            "success_rate_7d": self.success_rate_7d,
            "build_duration_mean": self.build_duration_mean,
            "flake_rate": self.flake_rate,
            "executor_saturation": self.executor_saturation,
            "cost_per_build": self.cost_per_build,
        }

    def value_of(self, name: str) -> float | None:
        """The one-number query `name` (a `[queries]` name); KeyError for any other."""
        if name == "shadow_pass":
            return self.shadow_pass()
        return self._kpis()[name]()

    def signals(self) -> dict[str, float | None]:
        """Every KPI signal by the name the control room knows it (a copy: the caller's)."""
        if self._signals is None:
            self._signals = {name: query() for name, query in self._kpis().items()}
        return dict(self._signals)


def normalized(expr: str) -> str:
    """An expression with its whitespace made single spaces, to recognise a known query."""
    return " ".join(expr.split())
