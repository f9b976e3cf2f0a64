"""Signals: how a raw reading is classified, and when it turns stale."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from maestro_control_room.cutover.signals import Signal, SignalStatus, missing

AT = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
MAX_AGE = timedelta(seconds=60)


def test_measured_value_is_ok_and_usable() -> None:
    signal = Signal.measured("success_rate", 0.991, "ratio", AT, "prometheus")
    assert signal.status is SignalStatus.OK
    assert signal.usable
    assert signal.value == 0.991


def test_measured_none_is_no_data() -> None:
    signal = Signal.measured("success_rate", None, "ratio", AT)
    assert signal.status is SignalStatus.NO_DATA
    assert not signal.usable


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf], ids=["nan", "+inf", "-inf"])
def test_measured_non_finite_is_not_a_number(value: float) -> None:
    signal = Signal.measured("queue_wait_p95", value, "s", AT)
    assert signal.status is SignalStatus.NOT_A_NUMBER
    assert not signal.usable


def test_failed_signal_carries_its_reason() -> None:
    signal = Signal.failed("queue_wait_p95", "s", AT, "HTTP 503 from Prometheus")
    assert signal.status is SignalStatus.ERROR
    assert signal.reason == "HTTP 503 from Prometheus"
    assert not signal.usable


def test_signal_within_its_max_age_is_current() -> None:
    signal = Signal.measured("success_rate", 0.99, "ratio", AT)
    assert signal.as_of(AT + MAX_AGE, MAX_AGE).status is SignalStatus.OK


def test_signal_past_its_max_age_is_stale_with_its_age() -> None:
    signal = Signal.measured("success_rate", 0.99, "ratio", AT)
    stale = signal.as_of(AT + timedelta(seconds=75), MAX_AGE)
    assert stale.status is SignalStatus.STALE
    assert stale.reason == "stale for 75 s"
    assert not stale.usable


def test_failed_signal_stays_failed_when_old() -> None:
    signal = Signal.failed("success_rate", "ratio", AT, "timeout")
    old = signal.as_of(AT + timedelta(minutes=10), MAX_AGE)
    assert old.status is SignalStatus.ERROR
    assert old.reason == "timeout"


def test_input_never_delivered_is_no_data() -> None:
    signal = missing("success_rate", "ratio", AT)
    assert signal.status is SignalStatus.NO_DATA
    assert signal.reason == "not received yet"
