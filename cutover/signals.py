"""Signals: one measured value with its unit, time and status."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import Enum


class SignalStatus(str, Enum):
    """Whether a signal's value can be trusted as current."""

    OK = "ok"
    STALE = "stale"
    ERROR = "error"
    NO_DATA = "no data"
    NOT_A_NUMBER = "not a number"


@dataclass(frozen=True)
class Signal:
    """A value from a source, as of `at`.

    Only an `OK` signal carries a value that may be shown as current. A query that returns
    nothing is `NO_DATA`, `NaN` or `±Inf` is `NOT_A_NUMBER`, a failed query is `ERROR` with the
    reason, and a signal older than its source's max age is `STALE`.
    """

    name: str
    value: float | None
    unit: str
    at: datetime
    status: SignalStatus = SignalStatus.OK
    reason: str = ""
    source: str = ""
    #: A caveat the source attached to an otherwise good answer, such as a Thanos partial
    #: response; shown beside the value, never hiding it.
    warning: str = ""

    @classmethod
    def measured(
        cls, name: str, value: float | None, unit: str, at: datetime, source: str = ""
    ) -> Signal:
        """A signal from a raw reading, classified as no data or not a number where it is."""
        if value is None:
            return cls(name, None, unit, at, SignalStatus.NO_DATA, "no data", source)
        if math.isnan(value) or math.isinf(value):
            return cls(name, value, unit, at, SignalStatus.NOT_A_NUMBER, str(value), source)
        return cls(name, value, unit, at, SignalStatus.OK, "", source)

    @classmethod
    def failed(cls, name: str, unit: str, at: datetime, reason: str, source: str = "") -> Signal:
        """A signal whose reading failed, with the reason."""
        return cls(name, None, unit, at, SignalStatus.ERROR, reason, source)

    @property
    def usable(self) -> bool:
        """True when the value may be compared with a threshold."""
        return self.status is SignalStatus.OK and self.value is not None

    def age(self, now: datetime) -> timedelta:
        return now - self.at

    def as_of(self, now: datetime, max_age: timedelta) -> Signal:
        """This signal as seen at `now`: stale when older than `max_age`."""
        if self.status is SignalStatus.OK and now - self.at > max_age:
            seconds = int((now - self.at).total_seconds())
            return replace(self, status=SignalStatus.STALE, reason=f"stale for {seconds} s")
        return self


def missing(name: str, unit: str, now: datetime) -> Signal:
    """The signal for an input that no source has delivered yet."""
    return Signal(name, None, unit, now, SignalStatus.NO_DATA, "not received yet")
