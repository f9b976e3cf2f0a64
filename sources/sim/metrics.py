"""The simulated Maestro's own metrics, under the contract's names and labels.

A small labelled store (counters, gauges, histograms) that the platform model writes to and
that renders the Prometheus text exposition format 0.0.4, so a later `/metrics` endpoint can
serve exactly what a real Maestro exports.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

#: Seconds a job waits for an executor; fine at the low end where the p95 target lives.
QUEUE_WAIT_BUCKETS: tuple[float, ...] = (1, 5, 10, 20, 30, 60, 90, 120, 180, 300, 600)
#: Build durations, one minute to one hour.
DURATION_BUCKETS: tuple[float, ...] = (60, 120, 300, 600, 900, 1200, 1800, 2700, 3600)

Labels = tuple[str, ...]


def _no_labels(labels: Labels) -> Labels:
    return ()


@dataclass
class HistogramSeries:
    """One histogram series: per-bucket counts (not cumulative), sum and count."""

    bounds: tuple[float, ...]
    counts: list[float]
    total: float = 0.0
    count: float = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs in that bound's `le` bucket.
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value
        self.count += 1

    def cumulative(self) -> list[float]:
        """Counts per `le` bound, the last one being +Inf, as Prometheus exports them."""
        running = 0.0
        out = []
        for value in self.counts:
            running += value
            out.append(running)
        return out


@dataclass
class MetricFamily:
    """A metric name with its type, help text, label names and series.

    The sums a scrape reads (`total`, `sum_by`, `bucket_totals`, `sum_and_count`) are kept
    up to date as series change, so reading them costs the same at 60 repositories as at
    5,000: a scrape every 15 simulated seconds never walks every series.
    """

    name: str
    kind: str  # "counter", "gauge" or "histogram"
    help: str
    labelnames: tuple[str, ...]
    bounds: tuple[float, ...] = ()
    series: dict[Labels, float] = field(default_factory=dict)
    histograms: dict[Labels, HistogramSeries] = field(default_factory=dict)
    _total: float = field(default=0.0, init=False, repr=False)
    #: label positions -> (their values -> the sum over the series that carry them)
    _by: dict[tuple[int, ...], dict[Labels, float]] = field(
        default_factory=dict, init=False, repr=False
    )
    #: The same sums, each with what picks its key out of a series' labels: kept up to date
    #: on every change, so picking is an `itemgetter`, not a loop.
    _keyed: list[tuple[Callable[[Labels], Any], bool, dict[Labels, float]]] = field(
        default_factory=list, init=False, repr=False
    )
    _buckets: list[float] = field(default_factory=list, init=False, repr=False)
    _sum: float = field(default=0.0, init=False, repr=False)
    _count: float = field(default=0.0, init=False, repr=False)

    def __post_init__(self) -> None:
        self._buckets = [0.0] * (len(self.bounds) + 1)

    def _add(self, labels: Labels, amount: float) -> None:
        self._total += amount
        for pick, single, sums in self._keyed:
            key = (pick(labels),) if single else pick(labels)
            sums[key] = sums.get(key, 0.0) + amount

    def inc(self, labels: Labels, amount: float = 1.0) -> None:
        if amount < 0:
            raise ValueError(f"{self.name}: a counter only goes up")
        self.series[labels] = self.series.get(labels, 0.0) + amount
        self._add(labels, amount)

    def set(self, labels: Labels, value: float) -> None:
        self._add(labels, value - self.series.get(labels, 0.0))
        self.series[labels] = value

    def observe(self, labels: Labels, value: float) -> None:
        series = self.histograms.get(labels)
        if series is None:
            series = HistogramSeries(self.bounds, [0.0] * (len(self.bounds) + 1))
            self.histograms[labels] = series
        series.observe(value)
        self._buckets[bisect_left(self.bounds, value)] += 1
        self._sum += value
        self._count += 1

    def total(self, **match: str) -> float:
        """The sum over series whose labels match, like `sum(metric{k="v"})`."""
        if not match:
            return self._total
        names = sorted(match)
        sums = self.sums_by(*names)
        return sums.get(tuple(match[name] for name in names), 0.0)

    def sums_by(self, *labels: str) -> dict[Labels, float]:
        """`sum by (labels...) (metric)`, keyed by the labels' values in that order."""
        positions = tuple(self.labelnames.index(label) for label in labels)
        sums = self._by.get(positions)
        if sums is None:  # first asked: summed once, then kept as series change
            sums = {}
            for key, value in self.series.items():
                values = tuple(key[i] for i in positions)
                sums[values] = sums.get(values, 0.0) + value
            self._by[positions] = sums
            pick = itemgetter(*positions) if positions else _no_labels
            self._keyed.append((pick, len(positions) == 1, sums))
        return sums

    def sum_by(self, label: str) -> dict[str, float]:
        """`sum by (label) (metric)`."""
        return {values[0]: value for values, value in self.sums_by(label).items()}

    def bucket_totals(self) -> list[float]:
        """`sum by (le) (metric_bucket)`: cumulative counts per bound, +Inf last."""
        running, out = 0.0, []
        for value in self._buckets:
            running += value
            out.append(running)
        return out

    def sum_and_count(self) -> tuple[float, float]:
        """`sum(metric_sum)` and `sum(metric_count)`."""
        return self._sum, self._count

    def lines(self) -> Iterator[str]:
        yield f"# HELP {self.name} {_escape_help(self.help)}"
        yield f"# TYPE {self.name} {self.kind}"
        if self.kind != "histogram":
            for labels, value in sorted(self.series.items()):
                yield f"{self.name}{_labels(self.labelnames, labels)} {_number(value)}"
            return
        for labels, hist in sorted(self.histograms.items()):
            bounds = [*(_number(b) for b in self.bounds), "+Inf"]
            for bound, value in zip(bounds, hist.cumulative(), strict=True):
                text = _labels((*self.labelnames, "le"), (*labels, bound))
                yield f"{self.name}_bucket{text} {_number(value)}"
            text = _labels(self.labelnames, labels)
            yield f"{self.name}_sum{text} {_number(hist.total)}"
            yield f"{self.name}_count{text} {_number(hist.count)}"


class MaestroMetrics:
    """Every metric of the contract, as a Maestro deployment exports them."""

    def __init__(self) -> None:
        self.queue_wait = MetricFamily(
            "maestro_queue_wait_seconds",
            "histogram",
            "Time a job waits for an executor.",
            ("pool", "tier"),
            QUEUE_WAIT_BUCKETS,
        )
        self.jobs = MetricFamily(
            "maestro_jobs_total",
            "counter",
            "Finished jobs by status.",
            ("status", "repo", "wave", "tier"),
        )
        self.duration = MetricFamily(
            "maestro_job_duration_seconds",
            "histogram",
            "Build duration.",
            ("repo", "wave"),
            DURATION_BUCKETS,
        )
        self.flaky = MetricFamily(
            "maestro_flaky_jobs_total",
            "counter",
            "Jobs that failed, then passed on retry.",
            ("repo", "wave"),
        )
        self.busy = MetricFamily(
            "maestro_executors_busy", "gauge", "Executors running a job.", ("pool",)
        )
        self.executors = MetricFamily(
            "maestro_executors_total", "gauge", "Executors in the pool.", ("pool",)
        )
        self.cost = MetricFamily(
            "maestro_build_cost_dollars_total", "counter", "Spend on executors.", ("pool",)
        )
        self.shadow = MetricFamily(
            "maestro_shadow_builds_total",
            "counter",
            "Shadow builds compared with the legacy build.",
            ("repo", "wave", "result"),
        )
        self.repo_state = MetricFamily(
            "maestro_repo_cutover_state",
            "gauge",
            "Where each repository builds (1 for the current state).",
            ("repo", "wave", "state"),
        )

    @property
    def families(self) -> tuple[MetricFamily, ...]:
        return (
            self.queue_wait,
            self.jobs,
            self.duration,
            self.flaky,
            self.busy,
            self.executors,
            self.cost,
            self.shadow,
            self.repo_state,
        )

    def exposition(self) -> str:
        """The Prometheus text format 0.0.4, as served at `/metrics`."""
        return "".join(line + "\n" for family in self.families for line in family.lines())


def _labels(names: Sequence[str], values: Sequence[str]) -> str:
    if not names:
        return ""
    pairs = ",".join(f'{n}="{_escape_value(v)}"' for n, v in zip(names, values, strict=True))
    return "{" + pairs + "}"


def _escape_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return repr(value)
