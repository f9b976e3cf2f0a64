"""The rollback trigger state machine: `for`, hysteresis, unknown inputs and alerts."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from maestro_control_room.cutover.signals import Signal
from maestro_control_room.cutover.triggers import (
    Comparison,
    RollbackTrigger,
    TriggerSpec,
    TriggerState,
)

T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)

INACTIVE = TriggerState.INACTIVE
PENDING = TriggerState.PENDING
FIRING = TriggerState.FIRING
RESOLVED = TriggerState.RESOLVED
UNKNOWN = TriggerState.UNKNOWN

SUCCESS_RATE = TriggerSpec(
    id="success-rate",
    title="Success rate under target",
    signal="success_rate",
    comparison=Comparison.BELOW,
    threshold=0.98,
    clear=0.982,
    for_=timedelta(minutes=5),
    unit="ratio",
    resolved_hold=timedelta(minutes=15),
)

QUEUE_P95 = TriggerSpec(
    id="queue-p95",
    title="Queue wait p95 breach",
    signal="queue_wait_p95",
    comparison=Comparison.ABOVE,
    threshold=120.0,
    clear=108.0,
    for_=timedelta(minutes=5),
    unit="s",
)

CRITICAL_CVE = TriggerSpec(
    id="critical-cve",
    title="Critical CVE",
    signal="alert:MaestroCriticalCVE",
    comparison=Comparison.ABOVE,
    threshold=0.5,
    alertname="MaestroCriticalCVE",
    resolved_hold=timedelta(minutes=15),
)

Reading = float | None | bool | Signal


def at(minute: float) -> datetime:
    return T0 + timedelta(minutes=minute)


def as_input(spec: TriggerSpec, value: Reading, now: datetime) -> Signal | bool | None:
    """A float becomes a fresh signal reading; None becomes a query that returned nothing."""
    if isinstance(value, bool | Signal):
        return value
    return Signal.measured(spec.signal, value, spec.unit, now, "prometheus")


def run(spec: TriggerSpec, steps: Sequence[tuple[float, Reading]]) -> list[TriggerState]:
    trigger = RollbackTrigger(spec)
    return [trigger.evaluate(as_input(spec, v, at(m)), at(m)).state for m, v in steps]


def test_breach_shorter_than_for_is_pending() -> None:
    assert run(SUCCESS_RATE, [(0, 0.97), (4, 0.97)]) == [PENDING, PENDING]


def test_breach_lasting_for_fires_with_the_time_it_fired() -> None:
    trigger = RollbackTrigger(SUCCESS_RATE)
    trigger.evaluate(as_input(SUCCESS_RATE, 0.97, at(0)), at(0))
    status = trigger.evaluate(as_input(SUCCESS_RATE, 0.96, at(5)), at(5))
    assert status.state is FIRING
    assert status.fired_at == at(5)
    assert status.value == 0.96


def test_firing_trigger_resolves_when_the_value_clears() -> None:
    states = run(SUCCESS_RATE, [(0, 0.97), (5, 0.97), (6, 0.99)])
    assert states == [PENDING, FIRING, RESOLVED]


def test_resolved_trigger_returns_to_inactive_after_the_hold() -> None:
    states = run(SUCCESS_RATE, [(0, 0.97), (5, 0.97), (6, 0.99), (20, 0.99), (21, 0.99)])
    assert states == [PENDING, FIRING, RESOLVED, RESOLVED, INACTIVE]


def test_resolved_trigger_breaching_again_waits_for_its_for_again() -> None:
    states = run(SUCCESS_RATE, [(0, 0.97), (5, 0.97), (6, 0.99), (7, 0.97), (11, 0.97)])
    assert states == [PENDING, FIRING, RESOLVED, PENDING, PENDING]


def test_pending_that_clears_before_for_goes_back_to_inactive_without_firing() -> None:
    trigger = RollbackTrigger(SUCCESS_RATE)
    for minute, value in [(0, 0.97), (2, 0.97), (3, 0.99)]:
        status = trigger.evaluate(as_input(SUCCESS_RATE, value, at(minute)), at(minute))
    assert status.state is INACTIVE
    assert status.fired_at is None


def test_for_of_zero_fires_at_once() -> None:
    spec = TriggerSpec("s", "Success", "success_rate", threshold=0.98, for_=timedelta(0))
    assert run(spec, [(0, 0.97)]) == [FIRING]


def test_value_on_the_threshold_does_not_breach() -> None:
    assert run(SUCCESS_RATE, [(0, 0.98)]) == [INACTIVE]


def _stale() -> Signal:
    fresh = Signal.measured("success_rate", 0.97, "ratio", at(-10), "prometheus")
    return fresh.as_of(at(0), timedelta(seconds=60))


@pytest.mark.parametrize(
    ("reading", "reason"),
    [
        pytest.param(_stale(), "input stale", id="stale"),
        pytest.param(
            Signal.failed("success_rate", "ratio", at(0), "HTTP 503"), "HTTP 503", id="error"
        ),
        pytest.param(Signal.measured("success_rate", None, "ratio", at(0)), "no data", id="none"),
        pytest.param(
            Signal.measured("success_rate", math.nan, "ratio", at(0)), "not a number", id="nan"
        ),
        pytest.param(
            Signal.measured("success_rate", math.inf, "ratio", at(0)), "not a number", id="inf"
        ),
        pytest.param(None, "input missing", id="missing"),
    ],
)
def test_unusable_input_makes_the_trigger_unknown_never_inactive(
    reading: Signal | None, reason: str
) -> None:
    status = RollbackTrigger(SUCCESS_RATE).evaluate(reading, at(0))
    assert status.state is UNKNOWN
    assert reason in status.reason
    assert status.value is None


def test_firing_trigger_whose_input_fails_is_unknown() -> None:
    failed = Signal.failed("success_rate", "ratio", at(6), "timeout")
    assert run(SUCCESS_RATE, [(0, 0.97), (5, 0.97), (6, failed)]) == [PENDING, FIRING, UNKNOWN]


def test_alert_trigger_with_unknown_alertmanager_answer_is_unknown() -> None:
    status = RollbackTrigger(CRITICAL_CVE).evaluate(None, at(0))
    assert status.state is UNKNOWN


def test_a_gap_in_the_data_never_counts_towards_for() -> None:
    # Without the gap restarting it, the breach from minute 0 would fire at minute 5.
    states = run(SUCCESS_RATE, [(0, 0.97), (3, None), (4, 0.97), (8, 0.97), (9, 0.97)])
    assert states == [PENDING, UNKNOWN, PENDING, PENDING, FIRING]


def test_pending_restarted_after_a_gap_counts_from_the_return() -> None:
    trigger = RollbackTrigger(SUCCESS_RATE)
    for minute, value in [(0, 0.97), (3, None), (4, 0.97)]:
        status = trigger.evaluate(as_input(SUCCESS_RATE, value, at(minute)), at(minute))
    assert status.since == at(4)


def test_firing_trigger_back_from_a_gap_still_breaching_keeps_its_fired_at() -> None:
    trigger = RollbackTrigger(SUCCESS_RATE)
    for minute, value in [(0, 0.97), (5, 0.97), (6, None), (9, 0.97)]:
        status = trigger.evaluate(as_input(SUCCESS_RATE, value, at(minute)), at(minute))
    assert status.state is FIRING
    assert status.fired_at == at(5)
    assert status.since == at(5)


def test_firing_trigger_back_from_a_gap_within_hysteresis_is_still_firing() -> None:
    # 0.981 is above the threshold but under the clear level: still a breach for a firing one.
    states = run(SUCCESS_RATE, [(0, 0.97), (5, 0.97), (6, None), (7, 0.981)])
    assert states[-1] is FIRING


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            SUCCESS_RATE,
            [PENDING, PENDING, PENDING, PENDING, PENDING, FIRING, FIRING, FIRING],
            id="with-clear-level",
        ),
        pytest.param(
            TriggerSpec("s", "Success", "success_rate", threshold=0.98, for_=timedelta(minutes=5)),
            [PENDING, INACTIVE, PENDING, INACTIVE, PENDING, INACTIVE, PENDING, INACTIVE],
            id="without-clear-level-flaps",
        ),
    ],
)
def test_hysteresis_keeps_a_hovering_value_from_flapping(
    spec: TriggerSpec, expected: list[TriggerState]
) -> None:
    hovering = [0.979, 0.981, 0.979, 0.981, 0.979, 0.981, 0.979, 0.981]
    assert run(spec, list(enumerate(hovering))) == expected


def test_firing_trigger_resolves_only_past_the_clear_level() -> None:
    states = run(SUCCESS_RATE, [(0, 0.97), (5, 0.97), (6, 0.9815), (7, 0.9825)])
    assert states == [PENDING, FIRING, FIRING, RESOLVED]


def test_above_trigger_pends_fires_holds_and_resolves() -> None:
    steps = [(0, 125.0), (2, 115.0), (5, 130.0), (6, 110.0), (7, 107.0)]
    assert run(QUEUE_P95, steps) == [PENDING, PENDING, FIRING, FIRING, RESOLVED]


def test_above_trigger_between_clear_and_threshold_does_not_start_pending() -> None:
    assert run(QUEUE_P95, [(0, 115.0)]) == [INACTIVE]


def test_alert_trigger_fires_while_the_alert_is_active() -> None:
    states = run(CRITICAL_CVE, [(0, False), (1, True), (2, False)])
    assert states == [INACTIVE, FIRING, RESOLVED]


def test_active_alert_gives_its_reason() -> None:
    status = RollbackTrigger(CRITICAL_CVE).evaluate(True, at(0))
    assert status.reason == "alert active"
    assert status.alarming


# --- a gap filled in once the source is back ---------------------------------------------------


def points(*minutes_and_values: tuple[float, float]) -> list[tuple[datetime, float]]:
    return [(at(m), v) for m, v in minutes_and_values]


def test_a_backfilled_gap_keeps_the_for_timer_and_fires_on_time() -> None:
    trigger = RollbackTrigger(SUCCESS_RATE)
    trigger.evaluate(as_input(SUCCESS_RATE, 0.97, at(0)), at(0))
    trigger.evaluate(None, at(2))  # the source went away
    assert trigger.state is UNKNOWN
    moves = trigger.backfill(points((2, 0.97), (3, 0.96), (4, 0.97), (5, 0.97), (6, 0.97)))
    # Fired at minute 5, five minutes after the breach began, inside the gap.
    assert moves == [(at(5), PENDING, FIRING)]
    status = trigger.evaluate(as_input(SUCCESS_RATE, 0.97, at(7)), at(7))
    assert status.state is FIRING and status.fired_at == at(5)


def test_a_backfilled_gap_that_recovered_starts_the_breach_over() -> None:
    trigger = RollbackTrigger(SUCCESS_RATE)
    trigger.evaluate(as_input(SUCCESS_RATE, 0.97, at(0)), at(0))
    trigger.evaluate(None, at(2))
    moves = trigger.backfill(points((2, 0.97), (3, 0.99), (4, 0.97)))
    assert moves == [(at(3), PENDING, INACTIVE), (at(4), INACTIVE, PENDING)]
    assert trigger.evaluate(as_input(SUCCESS_RATE, 0.97, at(8)), at(8)).state is PENDING
    status = trigger.evaluate(as_input(SUCCESS_RATE, 0.97, at(9)), at(9))
    assert status.state is FIRING and status.fired_at == at(9)


def test_backfill_ignores_readings_from_before_the_gap_and_a_known_trigger() -> None:
    trigger = RollbackTrigger(SUCCESS_RATE)
    trigger.evaluate(as_input(SUCCESS_RATE, 0.99, at(0)), at(0))
    assert trigger.backfill(points((1, 0.97))) == [], "no gap: nothing to fill in"
    trigger.evaluate(None, at(3))
    assert trigger.backfill(points((1, 0.97), (2, 0.97))) == [], "readings before the gap"
    assert trigger.state is UNKNOWN
