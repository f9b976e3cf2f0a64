"""The trigger detail: its timeline, window, peak, chart and the alert behind it, and Enter
on the CVE trigger of the brownout showing the CVE and the image."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from maestro_control_room.cutover.acknowledgements import Acknowledgement
from maestro_control_room.cutover.events import BuildEvent, PlatformEvent
from maestro_control_room.cutover.room import TriggerTransition
from maestro_control_room.cutover.signals import Signal
from maestro_control_room.cutover.trigger_detail import (
    EventPins,
    alert_fields,
    in_window,
    trigger_timeline,
    trigger_window,
)
from maestro_control_room.cutover.triggers import (
    Comparison,
    RollbackTrigger,
    TriggerSpec,
    TriggerState,
)
from maestro_control_room.cutover.updates import Alert
from maestro_control_room.tui.screens.trigger_detail import TriggerDetailScreen
from maestro_control_room.widgets.table import KeyedTable
from maestro_control_room.widgets.trigger_chart import CLEAR, POINT, THRESHOLD, signal_chart
from tests.conftest import AppFactory
from tests.test_app import started, step, text_of

T0 = datetime(2026, 12, 1, 11, 0, tzinfo=timezone.utc)
S = TriggerState


def move(
    minutes: float, before: TriggerState, after: TriggerState, trigger: str = "t"
) -> TriggerTransition:
    return TriggerTransition(T0 + timedelta(minutes=minutes), trigger, "T", before, after)


def test_peak_is_the_worst_value_of_the_spell_and_starts_over_with_the_next() -> None:
    spec = TriggerSpec("sr", "Success", "success_rate", Comparison.BELOW, 0.98,
                       for_=timedelta(minutes=1))  # fmt: skip
    trigger = RollbackTrigger(spec)

    def feed(minute: float, value: float) -> None:
        trigger.evaluate(Signal.measured("success_rate", value, "ratio", T0, "sim"),
                         T0 + timedelta(minutes=minute))  # fmt: skip

    feed(0, 0.99)
    assert trigger.status().peak is None
    feed(1, 0.95)
    feed(2, 0.91)
    feed(3, 0.96)
    assert trigger.status().state is S.FIRING and trigger.status().peak == 0.91
    feed(4, 0.99)
    assert trigger.status().state is S.RESOLVED and trigger.status().peak == 0.91
    feed(5, 0.97)
    assert trigger.status().state is S.PENDING and trigger.status().peak == 0.97


def test_timeline_has_the_moves_and_the_acknowledgement_in_order() -> None:
    log = [move(-1, S.INACTIVE, S.UNKNOWN), move(-1, S.UNKNOWN, S.INACTIVE),
           move(0, S.INACTIVE, S.PENDING), move(5, S.PENDING, S.FIRING),
           move(9, S.FIRING, S.RESOLVED), move(1, S.INACTIVE, S.PENDING, "other")]  # fmt: skip
    ack = Acknowledgement("t", "alice", T0 + timedelta(minutes=6))
    timeline = trigger_timeline("t", log, ack)
    assert [(e.at.minute, e.what, e.by) for e in timeline] == [
        (0, "pending", ""), (5, "firing", ""), (6, "acknowledged", "alice"), (9, "resolved", ""),
    ]  # fmt: skip
    # a gap in the data while it fires is kept
    gap = trigger_timeline("t", [*log, move(10, S.RESOLVED, S.UNKNOWN)])
    assert gap[-1].what.startswith("unknown")


@pytest.mark.parametrize(
    ("log", "window"),
    [
        ([], (None, None)),
        ([move(0, S.INACTIVE, S.PENDING)], (0, None)),
        ([move(0, S.INACTIVE, S.PENDING), move(2, S.PENDING, S.INACTIVE)], (None, None)),
        ([move(0, S.INACTIVE, S.PENDING), move(5, S.PENDING, S.FIRING)], (0, None)),
        ([move(0, S.INACTIVE, S.PENDING), move(5, S.PENDING, S.FIRING),
          move(9, S.FIRING, S.RESOLVED)], (0, 9)),
        # a later pending that never fired leaves the last firing's window
        ([move(0, S.INACTIVE, S.PENDING), move(5, S.PENDING, S.FIRING),
          move(9, S.FIRING, S.RESOLVED), move(12, S.RESOLVED, S.PENDING),
          move(13, S.PENDING, S.INACTIVE)], (0, 9)),
        # a firing without `for`, and a gap in the data while firing
        ([move(3, S.INACTIVE, S.FIRING), move(4, S.FIRING, S.UNKNOWN),
          move(5, S.UNKNOWN, S.FIRING)], (3, None)),
        ([move(0, S.INACTIVE, S.FIRING), move(2, S.FIRING, S.RESOLVED),
          move(7, S.RESOLVED, S.FIRING)], (7, None)),
    ],
)  # fmt: skip
def test_window_is_the_current_or_last_fired_spell(
    log: list[TriggerTransition], window: tuple[int | None, int | None]
) -> None:
    start, end = trigger_window("t", log)
    minutes = tuple(
        None if m is None else int((m - T0).total_seconds() // 60) for m in (start, end)
    )
    assert minutes == window


def test_window_events_are_the_notable_ones_once_each() -> None:
    platform = PlatformEvent("cve.detected", "critical", "CVE in image", T0 + timedelta(minutes=1))
    failed = BuildEvent("job.finished", "j1", "a/b", "Wave-1", T0 + timedelta(minutes=2), "failure")
    passed = BuildEvent("job.finished", "j2", "a/b", "Wave-1", T0 + timedelta(minutes=2), "success")
    early = PlatformEvent("x", "info", "long before", T0 - timedelta(minutes=5))
    late = PlatformEvent("y", "info", "after", T0 + timedelta(minutes=20))
    events = [failed, platform, passed, early, late, platform]
    assert in_window(events, T0, T0 + timedelta(minutes=10)) == (platform, failed)
    assert in_window(events, None, None) == ()


def test_pins_keep_a_spells_events_per_trigger_only_while_it_alarms() -> None:
    pins = EventPins(per_trigger=2)
    event = PlatformEvent("e", "warning", "m", T0)
    pins.offer([event], {})
    assert pins.of("t") == ()
    pins.offer([event, event, event], {"t": None})
    assert pins.of("t") == (event, event) and pins.of("u") == ()


def test_a_spell_noticed_late_takes_the_events_that_led_up_to_it() -> None:
    pins = EventPins()
    long_before = PlatformEvent("a", "info", "an hour before", T0 - timedelta(hours=1))
    cve = PlatformEvent("cve.detected", "critical", "CVE in image", T0)
    passed = BuildEvent("job.finished", "j2", "a/b", "Wave-1", T0, "success")
    pins.offer([long_before, cve, passed], {})  # heard before the trigger alarms
    pins.offer((), {"critical-cve": T0})
    pins.offer((), {"critical-cve": T0})  # the same spell again: nothing twice
    assert pins.of("critical-cve") == (cve,)


def test_a_brownouts_failures_never_push_out_its_platform_events() -> None:
    pins = EventPins(per_trigger=3)
    cve = PlatformEvent("cve.detected", "critical", "CVE in image", T0)
    pins.offer([cve], {"critical-cve": T0})
    failures = [
        BuildEvent("job.finished", f"j{n}", "a/b", "Wave-1", T0 + timedelta(seconds=n), "failure")
        for n in range(1, 10)
    ]
    pins.offer(failures, {"critical-cve": T0})
    assert pins.of("critical-cve") == (cve, *failures[-3:])


def test_alert_fields_name_the_cve_and_image_first() -> None:
    alert = Alert(
        "MaestroCriticalCVE",
        "critical CVE",
        {"alertname": "MaestroCriticalCVE", "team": "platform", "image": "maestro-runner:2.14",
         "cve": "CVE-2026-31337"},
        T0,
        {"runbook_url": "https://runbooks/cve", "summary": "critical CVE"},
    )  # fmt: skip
    assert alert_fields(alert) == (
        ("cve", "CVE-2026-31337"), ("image", "maestro-runner:2.14"),
        ("summary", "critical CVE"), ("runbook_url", "https://runbooks/cve"), ("team", "platform"),
    )  # fmt: skip


def test_chart_draws_points_threshold_and_clear_lines_and_a_time_axis() -> None:
    values = [0.99, 0.99, 0.93, 0.85, 0.97, 0.99]
    lines = signal_chart(values, threshold=0.95, clear=0.98, unit="ratio",
                         end=T0, interval=timedelta(minutes=1), width=40, height=8)  # fmt: skip
    body = lines[:8]
    assert all(line.count("│") == 1 for line in body)
    assert sum(line.count(POINT) for line in body) == len(values)
    assert any("95.0% threshold" in line and THRESHOLD in line for line in body)
    assert any(CLEAR in line for line in body)
    assert lines[-1].split() == ["10:55", "11:00"]
    # the lowest value (0.85, the fourth) is drawn on the lowest line with a point
    lowest = max(n for n, line in enumerate(body) if POINT in line)
    assert body[lowest].split("│")[1].index(POINT) == 3
    assert signal_chart([], threshold=1, clear=1, unit="", end=T0, interval=timedelta(1)) == [
        "no history yet"
    ]


async def test_enter_on_the_cve_trigger_shows_the_cve_and_the_image(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await step(app, pilot, 300)  # the brownout's CVE comes 4 minutes in
        assert app.view is not None
        cve = next(t for t in app.view.triggers if t.spec.id == "critical-cve")
        assert cve.state is S.FIRING
        table = app.query_one("#trigger-table", KeyedTable)
        table.focus()
        while table.selected_key != "critical-cve":
            await pilot.press("down")
        await pilot.press("enter")
        assert isinstance(app.screen, TriggerDetailScreen)
        alert = text_of(app.screen.query_one("#detail-alert"))
        assert "CVE-2026-31337" in alert and "maestro-runner:2.14" in alert
        assert "runbook_url" in alert
        assert "firing" in text_of(app.screen.query_one("#detail-timeline"))
        events = text_of(app.screen.query_one("#detail-events"))
        assert "cve.detected" in events
        await step(app, pilot, 60 * 20)  # long after, the event stream has moved on
        events = text_of(app.screen.query_one("#detail-events"))
        assert "cve.detected" in events
        await pilot.press("escape")
        assert not isinstance(app.screen, TriggerDetailScreen)


async def test_enter_on_a_threshold_trigger_charts_its_signal(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await step(app, pilot, 240)
        app.query_one("#trigger-table", KeyedTable).focus()
        await pilot.press("enter")  # the first row: the success-rate trigger
        assert isinstance(app.screen, TriggerDetailScreen)
        assert app.screen.trigger == "success-rate"
        chart = text_of(app.screen.query_one("#detail-chart"))
        assert "threshold" in chart and POINT in chart
        assert "peak" in text_of(app.screen.query_one("#detail-headline"))


def test_alertmanagers_annotations_reach_the_alert() -> None:
    from maestro_control_room.sources.alertmanager import parse_alerts

    document = [
        {
            "labels": {"alertname": "MaestroCriticalCVE", "cve": "CVE-2026-31337"},
            "annotations": {"summary": "critical CVE", "runbook_url": "https://runbooks/cve"},
            "startsAt": "2026-12-01T11:00:00.123456789Z",
        }
    ]
    (alert,) = parse_alerts(document, frozenset({"MaestroCriticalCVE"}))
    assert alert.annotations == {"summary": "critical CVE", "runbook_url": "https://runbooks/cve"}
    assert alert.summary == "critical CVE"
