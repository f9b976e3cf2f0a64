"""Rollback triggers: the playbook's conditions, as state machines with `for` and hysteresis."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from .signals import Signal


class TriggerState(str, Enum):
    """Where a rollback trigger stands."""

    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"
    UNKNOWN = "unknown"


#: The states in which a trigger calls for the operator: on its way to firing, or fired.
ALARMING = (TriggerState.PENDING, TriggerState.FIRING)


class Comparison(str, Enum):
    BELOW = "<"
    ABOVE = ">"


#: The rollback playbook's steps, shown beside a firing trigger.
PLAYBOOK_STEPS: tuple[str, ...] = (
    "Freeze: stop promotions, pause rollouts",
    "Re-point builds to the legacy pipelines",
    "Promote the last known-good Maestro release",
    "Export logs and the audit journal",
    "Open an incident",
    "Send the exec update",
    "Re-cut the plan",
)


@dataclass(frozen=True)
class TriggerSpec:
    """A configured rollback trigger.

    A threshold trigger compares a signal with `threshold`; once it is pending or firing it
    stays so until the value is back past `clear`, so a value hovering on the threshold does
    not flap. An alert trigger is breached while the named Alertmanager alert is active.
    """

    id: str
    title: str
    signal: str
    comparison: Comparison = Comparison.BELOW
    threshold: float = 0.0
    clear: float | None = None
    for_: timedelta = timedelta(0)
    unit: str = ""
    alertname: str | None = None
    resolved_hold: timedelta = timedelta(minutes=15)

    @property
    def clear_level(self) -> float:
        return self.threshold if self.clear is None else self.clear

    def breached(self, value: float, *, active: bool) -> bool:
        """Whether `value` breaches; an active trigger is held until the clear level."""
        level = self.clear_level if active else self.threshold
        if self.comparison is Comparison.BELOW:
            return value < level
        return value > level


@dataclass(frozen=True)
class TriggerStatus:
    """A trigger's state at one evaluation, for display and for action preconditions."""

    spec: TriggerSpec
    state: TriggerState
    value: float | None
    since: datetime | None
    reason: str = ""
    fired_at: datetime | None = None
    #: The worst value since the condition last began to hold (pending), for the detail.
    peak: float | None = None

    def duration(self, now: datetime) -> timedelta | None:
        return None if self.since is None else now - self.since

    @property
    def alarming(self) -> bool:
        return self.state in ALARMING


@dataclass
class RollbackTrigger:
    """The state machine of one trigger, fed one input reading at a time."""

    spec: TriggerSpec
    state: TriggerState = TriggerState.INACTIVE
    since: datetime | None = None
    fired_at: datetime | None = None
    value: float | None = None
    reason: str = ""
    peak: float | None = None
    _known: TriggerState = field(default=TriggerState.INACTIVE, repr=False)
    #: Where the trigger stood when its input went missing, and since when it was missing:
    #: what a backfill of the gap starts from.
    _known_since: datetime | None = field(default=None, repr=False)
    _unknown_at: datetime | None = field(default=None, repr=False)

    def evaluate(self, reading: Signal | bool | None, now: datetime) -> TriggerStatus:
        """Advance with the latest input at `now`.

        `reading` is the signal of a threshold trigger, or for an alert trigger whether the
        alert is active (None while Alertmanager's answer is unknown). An input that is stale,
        failed or missing makes the trigger unknown, never inactive.
        """
        breach = self._breach(reading)
        if breach is None:
            if self.state is not TriggerState.UNKNOWN:
                self._known, self._known_since, self._unknown_at = self.state, self.since, now
                self._move(TriggerState.UNKNOWN, now)
            return self.status()
        if self.state is TriggerState.UNKNOWN:
            # Coming back: a firing trigger whose input still breaches stays firing; a pending
            # one starts over, so a gap in the data never counts towards `for`.
            was_firing = self._known in (TriggerState.FIRING, TriggerState.RESOLVED)
            if breach and self._known is TriggerState.FIRING:
                self.state, self.since = TriggerState.FIRING, self.fired_at
            elif was_firing:
                # A firing that ended during the gap is shown as resolved, not forgotten.
                self.state, self.since = TriggerState.RESOLVED, now
            else:
                self.state, self.since = TriggerState.INACTIVE, now
        self._step(breach, now)
        self._track_peak()
        return self.status()

    def backfill(
        self, points: Sequence[tuple[datetime, float]]
    ) -> list[tuple[datetime, TriggerState, TriggerState]]:
        """Evaluate the readings of a gap in the input, fetched once the source is back, as
        if they had come in time: a breach that went on through a short outage keeps its
        `for` timer, and fires when it would have. Only while unknown, and only readings
        from the gap on; the transitions made, as (time, before, after)."""
        start = self._unknown_at
        if self.state is not TriggerState.UNKNOWN or start is None:
            return []
        gap = [(at, value) for at, value in points if at >= start and math.isfinite(value)]
        if not gap:
            return []
        self.state, self.since = self._known, self._known_since
        moves = []
        for at, value in sorted(gap):
            before = self.state
            active = before in ALARMING
            self.value, self.reason = value, ""
            self._step(self.spec.breached(value, active=active), at)
            self._track_peak()
            if self.state is not before:
                moves.append((at, before, self.state))
        self._unknown_at = None
        return moves

    def _track_peak(self) -> None:
        """The worst value of the current pending/firing spell; a new spell starts over. An
        alert is active or not: it has no peak."""
        alarming = self.state in ALARMING
        if not alarming or self.value is None or self.spec.alertname:
            return
        if self.peak is None:
            self.peak = self.value
        elif self.spec.comparison is Comparison.BELOW:
            self.peak = min(self.peak, self.value)
        else:
            self.peak = max(self.peak, self.value)

    def _breach(self, reading: Signal | bool | None) -> bool | None:
        active = self.state in ALARMING or (
            self.state is TriggerState.UNKNOWN and self._known is TriggerState.FIRING
        )
        if reading is None:
            self.value = None
            self.reason = "input missing"
            return None
        if isinstance(reading, bool):
            self.value = 1.0 if reading else 0.0
            self.reason = "alert active" if reading else ""
            return reading
        if not reading.usable:
            self.value = None
            self.reason = f"input {reading.status.value}" + (
                f": {reading.reason}" if reading.reason else ""
            )
            return None
        assert reading.value is not None
        self.value = reading.value
        self.reason = ""
        return self.spec.breached(reading.value, active=active)

    def _step(self, breach: bool, now: datetime) -> None:
        state = self.state
        if state in (TriggerState.INACTIVE, TriggerState.RESOLVED):
            if breach:
                self.peak = None
                self._move(TriggerState.PENDING, now)
                self._fire_if_due(now)
            elif state is TriggerState.RESOLVED and self._held_out(now):
                self._move(TriggerState.INACTIVE, now)
        elif state is TriggerState.PENDING:
            if breach:
                self._fire_if_due(now)
            else:
                self._move(TriggerState.INACTIVE, now)
        elif state is TriggerState.FIRING and not breach:
            self._move(TriggerState.RESOLVED, now)

    def _fire_if_due(self, now: datetime) -> None:
        assert self.since is not None
        if now - self.since >= self.spec.for_:
            self.fired_at = now
            self._move(TriggerState.FIRING, now)

    def _held_out(self, now: datetime) -> bool:
        return self.since is not None and now - self.since >= self.spec.resolved_hold

    def _move(self, state: TriggerState, now: datetime) -> None:
        self.state = state
        self.since = now

    @property
    def alarming(self) -> bool:
        return self.state in ALARMING

    def status(self) -> TriggerStatus:
        return TriggerStatus(
            self.spec, self.state, self.value, self.since, self.reason, self.fired_at, self.peak
        )
