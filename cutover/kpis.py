"""The cutover KPIs with their thresholds, and how a reading stands against them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .signals import Signal, SignalStatus
from .triggers import Comparison


class KpiVerdict(str, Enum):
    """A KPI tile's status word; readable without colour."""

    OK = "OK"
    WARN = "WARN"
    BREACH = "BREACH"
    STALE = "STALE"
    ERROR = "ERROR"
    NO_DATA = "NO DATA"
    NOT_A_NUMBER = "NaN"


_NOT_OK = {
    SignalStatus.STALE: KpiVerdict.STALE,
    SignalStatus.ERROR: KpiVerdict.ERROR,
    SignalStatus.NO_DATA: KpiVerdict.NO_DATA,
    SignalStatus.NOT_A_NUMBER: KpiVerdict.NOT_A_NUMBER,
}


@dataclass(frozen=True)
class KpiSpec:
    """One KPI: its signal, unit, and the limit it is held to (a floor or a ceiling)."""

    signal: str
    title: str
    unit: str
    comparison: Comparison
    threshold: float
    warn: float

    def assess(self, signal: Signal) -> KpiVerdict:
        if signal.status is not SignalStatus.OK or signal.value is None:
            return _NOT_OK.get(signal.status, KpiVerdict.NO_DATA)
        value = signal.value
        if self.comparison is Comparison.ABOVE:
            if value > self.threshold:
                return KpiVerdict.BREACH
            return KpiVerdict.WARN if value > self.warn else KpiVerdict.OK
        if value < self.threshold:
            return KpiVerdict.BREACH
        return KpiVerdict.WARN if value < self.warn else KpiVerdict.OK

    @property
    def limit_text(self) -> str:
        sign = "≤" if self.comparison is Comparison.ABOVE else "≥"
        return f"{sign} {format_value(self.threshold, self.unit)}"


def format_value(value: float | None, unit: str) -> str:
    """A KPI value in its unit, short enough for a compact tile."""
    if value is None:
        return "—"
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value:.1f}s" if abs(value) < 100 else f"{value:.0f}s"
    if unit == "$":
        return f"${value:.2f}"
    return f"{value:.3g}{unit}"


#: The signals the control room measures, with their units: what a trigger may watch.
SIGNAL_UNITS: dict[str, str] = {
    "queue_wait_p95": "s",
    "success_rate": "ratio",
    "success_rate_7d": "ratio",
    "build_duration_mean": "s",
    "flake_rate": "ratio",
    "executor_saturation": "ratio",
    "cost_per_build": "$",
}
