"""The control room: source health, KPI verdicts, history and alert triggers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from maestro_control_room.cutover.config import Config, ThresholdsSection, kpi_specs, trigger_specs
from maestro_control_room.cutover.freeze import FreezeState
from maestro_control_room.cutover.kpis import KpiVerdict
from maestro_control_room.cutover.room import ControlRoom, RoomSettings, RoomView
from maestro_control_room.cutover.signals import Signal
from maestro_control_room.cutover.triggers import TriggerState
from maestro_control_room.cutover.updates import (
    Alert,
    AlertsUpdate,
    FreezeUpdate,
    HealthState,
    SignalUpdate,
    SourceHealth,
    WavesUpdate,
)
from maestro_control_room.cutover.waves import RepoState, WaveState, WaveStatus, parse_workbook

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NOW = GO_LIVE + timedelta(days=3)

WORKBOOK = parse_workbook(
    "Team/Repo,Tier,Owner,Pipeline Size,Critical Deps,Scanners,Avg Build (min),"
    "Shadow Pass %,Blocking Issues,Cutover Wave\n"
    "svc-api,0,alice,12 jobs,vault://prod,SAST+DAST,14.2,98%,flaky test pack,Wave-1\n"
    "svc-web,1,bob,8 jobs,ghcr.io,SAST,9.5,99%,,Wave-1\n"
    "svc-batch,1,carol,5 jobs,,SAST,20,97%,,Wave-2\n"
)
CONFIG = Config.model_validate(
    {"cutover": {"go_live": GO_LIVE.isoformat()}, "waves": {"workbook": "workbook.csv"}}
)
MAX_AGE = {"prometheus": timedelta(seconds=60), "alertmanager": timedelta(seconds=60)}

#: A healthy reading of every KPI signal, with its unit.
HEALTHY: dict[str, tuple[float, str]] = {
    "queue_wait_p95": (45.0, "s"),
    "success_rate": (0.993, "ratio"),
    "success_rate_7d": (0.991, "ratio"),
    "build_duration_mean": (600.0, "s"),
    "flake_rate": (0.005, "ratio"),
    "executor_saturation": (0.5, "ratio"),
    "cost_per_build": (0.4, "$"),
}


def make_room(history_points: int = 120) -> ControlRoom:
    return ControlRoom(
        RoomSettings(
            name="Maestro cutover",
            go_live=GO_LIVE,
            kpis=kpi_specs(ThresholdsSection()),
            triggers=trigger_specs(CONFIG),
            green_period=timedelta(hours=48),
            workbook=WORKBOOK,
            max_age=MAX_AGE,
            history_points=history_points,
        )
    )


def measure(room: ControlRoom, name: str, value: float | None, at: datetime) -> None:
    unit = HEALTHY[name][1]
    room.apply(SignalUpdate(Signal.measured(name, value, unit, at, "prometheus")))


def feed_healthy(room: ControlRoom, at: datetime) -> None:
    for name, (value, _) in HEALTHY.items():
        measure(room, name, value, at)
    room.apply(AlertsUpdate("alertmanager", (), at))


def kpi(view: RoomView, name: str) -> KpiVerdict:
    return next(k.verdict for k in view.kpis if k.spec.signal == name)


def trigger(view: RoomView, trigger_id: str) -> TriggerState:
    return next(t.state for t in view.triggers if t.spec.id == trigger_id)


def health_text(room: ControlRoom, source: str, now: datetime) -> str:
    view = room.evaluate(now)
    return next(h.text for h in view.health if h.source == source)


# -- source health ----------------------------------------------------------------------


def test_registered_source_is_connecting_until_it_delivers() -> None:
    room = make_room()
    room.register_source("prometheus", NOW)
    assert health_text(room, "prometheus", NOW) == "connecting"
    assert "prometheus" in room.evaluate(NOW).stale_sources


def test_source_health_goes_ok_stale_error_and_ok_again() -> None:
    room = make_room()
    room.register_source("prometheus", NOW)
    measure(room, "success_rate", 0.99, NOW)
    assert health_text(room, "prometheus", NOW + timedelta(seconds=10)) == "ok"
    assert health_text(room, "prometheus", NOW + timedelta(seconds=61)) == "stale 61s"
    room.apply(
        SourceHealth("prometheus", HealthState.ERROR, NOW + timedelta(seconds=70), "refused")
    )
    assert health_text(room, "prometheus", NOW + timedelta(seconds=71)) == "error: refused"
    measure(room, "success_rate", 0.99, NOW + timedelta(seconds=80))
    assert health_text(room, "prometheus", NOW + timedelta(seconds=81)) == "ok"


def test_reading_older_than_the_error_does_not_clear_it() -> None:
    room = make_room()
    room.apply(SourceHealth("prometheus", HealthState.ERROR, NOW, "refused"))
    measure(room, "success_rate", 0.99, NOW - timedelta(seconds=5))
    assert health_text(room, "prometheus", NOW) == "error: refused"


def test_source_own_word_that_it_is_connected_counts_as_heard() -> None:
    room = make_room()
    room.apply(SourceHealth("alertmanager", HealthState.CONNECTED, NOW))
    assert health_text(room, "alertmanager", NOW + timedelta(seconds=30)) == "ok"
    assert "alertmanager" not in room.evaluate(NOW + timedelta(seconds=30)).stale_sources


# -- KPI verdicts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "verdict"),
    [
        pytest.param("queue_wait_p95", 45.0, KpiVerdict.OK, id="ceiling-ok"),
        pytest.param("queue_wait_p95", 100.0, KpiVerdict.WARN, id="ceiling-warn"),
        pytest.param("queue_wait_p95", 130.0, KpiVerdict.BREACH, id="ceiling-breach"),
        pytest.param("success_rate", 0.993, KpiVerdict.OK, id="floor-ok"),
        pytest.param("success_rate", 0.983, KpiVerdict.WARN, id="floor-warn"),
        pytest.param("success_rate", 0.97, KpiVerdict.BREACH, id="floor-breach"),
        pytest.param("success_rate", None, KpiVerdict.NO_DATA, id="no-data"),
        pytest.param("queue_wait_p95", math.nan, KpiVerdict.NOT_A_NUMBER, id="nan"),
        pytest.param("queue_wait_p95", math.inf, KpiVerdict.NOT_A_NUMBER, id="inf"),
    ],
)
def test_kpi_verdict(name: str, value: float | None, verdict: KpiVerdict) -> None:
    room = make_room()
    measure(room, name, value, NOW)
    assert kpi(room.evaluate(NOW), name) is verdict


def test_kpi_older_than_its_source_max_age_is_stale_not_its_value() -> None:
    room = make_room()
    measure(room, "success_rate", 0.993, NOW)
    view = room.evaluate(NOW + timedelta(seconds=61))
    assert kpi(view, "success_rate") is KpiVerdict.STALE


def test_kpi_never_received_is_no_data() -> None:
    assert kpi(make_room().evaluate(NOW), "cost_per_build") is KpiVerdict.NO_DATA


def test_kpi_whose_query_failed_is_error() -> None:
    room = make_room()
    room.apply(SignalUpdate(Signal.failed("flake_rate", "ratio", NOW, "bad query", "prometheus")))
    assert kpi(room.evaluate(NOW), "flake_rate") is KpiVerdict.ERROR


def test_kpi_names_what_is_not_current() -> None:
    room = make_room()
    feed_healthy(room, NOW)
    measure(room, "cost_per_build", None, NOW)
    assert room.evaluate(NOW).unknown_inputs == ("Cost/build",)


# -- history ----------------------------------------------------------------------------


def test_history_keeps_only_the_last_history_points() -> None:
    room = make_room(history_points=10)
    for step in range(15):
        measure(room, "queue_wait_p95", float(step), NOW + timedelta(seconds=15 * step))
    reading = next(
        k
        for k in room.evaluate(NOW + timedelta(seconds=15 * 15)).kpis
        if k.spec.signal == "queue_wait_p95"
    )
    assert reading.history == tuple(float(s) for s in range(5, 15))


def test_history_takes_one_point_per_history_interval() -> None:
    room = make_room()
    for second in range(0, 46):  # a reading a second for 45 s: points at 0, 15, 30, 45 s
        measure(room, "queue_wait_p95", float(second), NOW + timedelta(seconds=second))
    reading = next(
        k for k in room.evaluate(NOW + timedelta(seconds=46)).kpis
        if k.spec.signal == "queue_wait_p95"
    )  # fmt: skip
    assert reading.history == (0.0, 15.0, 30.0, 45.0)


def test_history_leaves_out_readings_that_are_not_numbers() -> None:
    room = make_room()
    for step, value in enumerate((40.0, math.nan, None, 50.0)):
        measure(room, "queue_wait_p95", value, NOW + timedelta(seconds=15 * step))
    later = NOW + timedelta(minutes=1)
    reading = next(k for k in room.evaluate(later).kpis if k.spec.signal == "queue_wait_p95")
    assert reading.history == (40.0, 50.0)


# -- triggers in the room --------------------------------------------------------------


def test_alert_triggers_are_unknown_until_alertmanager_answers() -> None:
    room = make_room()
    for name, (value, _) in HEALTHY.items():
        measure(room, name, value, NOW)
    view = room.evaluate(NOW)
    assert trigger(view, "critical-cve") is TriggerState.UNKNOWN
    assert trigger(view, "audit-failure") is TriggerState.UNKNOWN
    room.apply(AlertsUpdate("alertmanager", (), NOW))
    assert trigger(room.evaluate(NOW), "critical-cve") is TriggerState.INACTIVE


def test_active_alert_fires_its_trigger() -> None:
    room = make_room()
    feed_healthy(room, NOW)
    room.apply(AlertsUpdate("alertmanager", (Alert("MaestroCriticalCVE", "CVE-2026-1"),), NOW))
    view = room.evaluate(NOW)
    assert trigger(view, "critical-cve") is TriggerState.FIRING
    assert trigger(view, "audit-failure") is TriggerState.INACTIVE


def test_alert_triggers_go_unknown_when_alertmanager_goes_stale() -> None:
    room = make_room()
    room.apply(AlertsUpdate("alertmanager", (), NOW))
    assert trigger(room.evaluate(NOW), "audit-failure") is TriggerState.INACTIVE
    later = room.evaluate(NOW + timedelta(seconds=61))
    assert trigger(later, "audit-failure") is TriggerState.UNKNOWN


def test_stale_signal_makes_its_trigger_unknown_and_the_room_not_green() -> None:
    room = make_room()
    feed_healthy(room, NOW)
    assert room.evaluate(NOW).green_since == NOW
    room.apply(AlertsUpdate("alertmanager", (), NOW + timedelta(seconds=61)))
    view = room.evaluate(NOW + timedelta(seconds=61))
    assert trigger(view, "success-rate") is TriggerState.UNKNOWN
    assert view.green_since is None


def test_success_rate_under_target_for_five_minutes_fires() -> None:
    room = make_room()
    states = []
    for minute in (0, 3, 5):
        at = NOW + timedelta(minutes=minute)
        feed_healthy(room, at)
        measure(room, "success_rate", 0.95, at)
        states.append(trigger(room.evaluate(at), "success-rate"))
    assert states == [TriggerState.PENDING, TriggerState.PENDING, TriggerState.FIRING]


# -- waves in the room -----------------------------------------------------------------


def test_waves_update_drives_the_board() -> None:
    room = make_room()
    feed_healthy(room, NOW)
    room.apply(
        WavesUpdate(
            "kubernetes",
            (WaveStatus("Wave-1", WaveState.ACTIVE, GO_LIVE, "ops", "v7"),),
            {"svc-api": RepoState.MAESTRO, "svc-web": RepoState.SHADOW},
            {"Wave-1": 0.995},
            NOW,
            green_since=GO_LIVE,
        )
    )
    view = room.evaluate(NOW)
    wave_1, wave_2 = view.waves
    assert (wave_1.state, wave_1.version, wave_1.on_maestro, wave_1.repos) == (
        WaveState.ACTIVE,
        "v7",
        1,
        2,
    )
    assert wave_1.shadow_pass == pytest.approx(0.995)
    assert wave_2.eligible_at == GO_LIVE + timedelta(hours=48)
    assert view.green_since == GO_LIVE


def test_platform_record_of_green_is_dropped_once_a_trigger_alarms() -> None:
    room = make_room()
    feed_healthy(room, NOW)
    room.apply(WavesUpdate("kubernetes", (), {}, {}, NOW, green_since=GO_LIVE))
    room.apply(AlertsUpdate("alertmanager", (Alert("MaestroAuditFailure"),), NOW))
    view = room.evaluate(NOW)
    assert view.green_since is None
    assert view.waves[1].eligible_at is None


def test_a_broker_announced_freeze_does_not_replace_the_versioned_one() -> None:
    """The cluster's freeze carries the version an action is checked against; the broker's
    retained copy only announces it."""
    room = make_room()
    cluster = FreezeState(True, by="alice", reason="drill", version="41")
    room.apply(FreezeUpdate("kubernetes", cluster, NOW))
    room.apply(FreezeUpdate("mqtt", FreezeState(True, by="alice", reason="drill"), NOW))
    assert room.freeze == cluster
    unfrozen = FreezeState(False, version="42")
    room.apply(FreezeUpdate("kubernetes", unfrozen, NOW))
    assert room.freeze == unfrozen


def test_without_a_versioned_source_the_broker_announced_freeze_is_shown() -> None:
    room = make_room()
    announced = FreezeState(True, by="bob", reason="queue p95 breach")
    room.apply(FreezeUpdate("mqtt", announced, NOW))
    assert room.evaluate(NOW).freeze == announced
