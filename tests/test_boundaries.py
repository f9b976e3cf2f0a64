"""Every time boundary, exact to the microsecond on both sides: an age equal to its max age
is current, a microsecond more is not; a wave is ready the instant its green period ends,
not a microsecond before. Moving any of them by one fails here."""

from __future__ import annotations

from datetime import timedelta

from maestro_control_room.cutover.actions import check_preconditions, plan_promote_wave
from maestro_control_room.cutover.gates import CheckState, cronjob_reading
from maestro_control_room.cutover.room import HealthState
from maestro_control_room.cutover.signals import Signal, SignalStatus
from maestro_control_room.cutover.updates import SignalUpdate
from tests.test_actions import GREEN_PERIOD, MAX_AGE, NOW, calm_room, check
from tests.test_gates import BACKUP
from tests.test_gates import NOW as GATES_NOW

TICK = timedelta(microseconds=1)


def test_a_signal_is_current_at_exactly_its_max_age_and_stale_a_microsecond_later() -> None:
    max_age = timedelta(seconds=60)
    signal = Signal.measured("success_rate", 0.99, "ratio", NOW, "prometheus")
    assert signal.as_of(NOW + max_age, max_age).status is SignalStatus.OK
    assert signal.as_of(NOW + max_age + TICK, max_age).status is SignalStatus.STALE


def test_a_source_is_ok_at_exactly_its_max_age_and_stale_a_microsecond_later() -> None:
    room = calm_room()
    max_age = MAX_AGE["prometheus"]
    room.apply(SignalUpdate(Signal.measured("success_rate", 0.99, "ratio", NOW, "prometheus")))
    assert room.health_of("prometheus", NOW + max_age).state is HealthState.CONNECTED
    assert room.health_of("prometheus", NOW + max_age + TICK).state is HealthState.STALE


def test_a_backup_passes_at_exactly_its_max_age_and_fails_a_microsecond_later() -> None:
    def at(age: timedelta) -> CheckState:
        last = (GATES_NOW - age).isoformat()
        return cronjob_reading(
            BACKUP, {"status": {"lastSuccessfulTime": last}}, "k", GATES_NOW
        ).state

    assert at(BACKUP.max_age) is CheckState.PASS
    assert at(BACKUP.max_age + TICK) is CheckState.FAIL


def test_a_wave_is_ready_the_instant_its_green_period_ends() -> None:
    def green(active_since_ago: timedelta) -> bool:
        view = calm_room(wave_1_since=NOW - active_since_ago).evaluate(NOW)
        checks = check_preconditions(plan_promote_wave(view, "Wave-2", "alice"), view)
        return check(checks, "green-period").ok

    assert green(GREEN_PERIOD)
    assert not green(GREEN_PERIOD - TICK)
    view = calm_room(wave_1_since=NOW - GREEN_PERIOD).evaluate(NOW)
    wave_2 = view.wave("Wave-2")
    assert wave_2 is not None and wave_2.eligible_at == NOW
