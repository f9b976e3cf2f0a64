"""Sparklines say their span in the tile's colour; Enter on a tile charts its history,
from Prometheus' range queries or from what the room kept."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from textual.widgets import Static

from maestro_control_room.cutover.config import (
    Config,
    QueriesSection,
    ThresholdsSection,
    kpi_specs,
    trigger_specs,
)
from maestro_control_room.cutover.kpi_history import firing_periods, range_step, room_points
from maestro_control_room.cutover.kpis import KpiVerdict
from maestro_control_room.cutover.room import KpiReading, TriggerTransition
from maestro_control_room.cutover.signals import Signal
from maestro_control_room.cutover.triggers import TriggerState
from maestro_control_room.sources.prometheus import PrometheusSource
from maestro_control_room.tui.screens.kpi_chart import KpiChartScreen
from maestro_control_room.widgets.kpi import KpiRow, spark_line
from maestro_control_room.widgets.kpi_chart import TimeAxis
from maestro_control_room.widgets.status import KPI_STYLE
from tests.conftest import AppFactory, config_document
from tests.realstack import real_app, until
from tests.screen_text import screen_text
from tests.servers import ServerProcess, maestro_sim, prometheus, wait_until
from tests.test_app import started
from tests.test_prometheus_source import prometheus_section, seconds_of_history

__all__ = ["maestro_sim", "prometheus"]  # the fixtures, imported for pytest

NOW = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)
SPECS = kpi_specs(ThresholdsSection())
QUEUE = next(spec for spec in SPECS if spec.signal == "queue_wait_p95")


def reading(verdict: KpiVerdict, points: int) -> KpiReading:
    signal = Signal.measured("queue_wait_p95", 50.0, "s", NOW, "sim")
    history = tuple(float(40 + i % 5) for i in range(points))
    return KpiReading(QUEUE, signal, verdict, history, timedelta(seconds=15))


def test_a_sparkline_ends_in_its_span_and_takes_the_tiles_colour() -> None:
    line = spark_line(reading(KpiVerdict.BREACH, 120), 20)
    assert line.cell_len <= 20
    bars, span = line.plain.split()
    assert span == f"{len(bars) * 15 // 60}m"
    assert line.style == KPI_STYLE[KpiVerdict.BREACH]
    calm = spark_line(reading(KpiVerdict.OK, 120), 20)
    assert calm.style == KPI_STYLE[KpiVerdict.OK] != KPI_STYLE[KpiVerdict.BREACH]


def test_a_short_history_says_how_short() -> None:
    assert spark_line(reading(KpiVerdict.OK, 3), 40).plain.endswith(" 45s")


def test_firing_periods_come_from_the_trigger_log() -> None:
    triggers = trigger_specs(Config.model_validate(config_document()))
    queue = next(t for t in triggers if t.signal == "queue_wait_p95")
    other = next(t for t in triggers if t.signal != "queue_wait_p95")

    def move(minutes: int, trigger: str, after: TriggerState) -> TriggerTransition:
        at = NOW - timedelta(minutes=minutes)
        return TriggerTransition(at, trigger, "", TriggerState.PENDING, after)

    log = [
        move(50, queue.id, TriggerState.FIRING),
        move(40, queue.id, TriggerState.RESOLVED),
        move(20, other.id, TriggerState.FIRING),
        move(10, queue.id, TriggerState.FIRING),
    ]
    start = NOW - timedelta(minutes=45)
    assert firing_periods(log, triggers, "queue_wait_p95", start, NOW) == (
        (start, NOW - timedelta(minutes=40)),  # clipped to the range
        (NOW - timedelta(minutes=10), NOW),  # still firing
    )


def test_time_ticks_are_whole_and_read_as_the_clock() -> None:
    axis = TimeAxis()
    start = NOW.timestamp() - 1800
    _, labels = axis.get_ticks_and_labels(start, NOW.timestamp())
    assert labels[-1] == "11:00" and all(label.endswith(("0", "5")) for label in labels)
    _, days = axis.get_ticks_and_labels(NOW.timestamp() - 7 * 86400, NOW.timestamp())
    assert all(len(day.split()) == 2 for day in days)  # `Wed 25`
    assert range_step(timedelta(days=7)) == timedelta(days=7) / 240


def test_room_points_are_timed_back_from_the_last() -> None:
    points = room_points((1.0, 2.0, 3.0), NOW, timedelta(seconds=15))
    assert points == (
        (NOW - timedelta(seconds=30), 1.0),
        (NOW - timedelta(seconds=15), 2.0),
        (NOW, 3.0),
    )


async def _open_chart(app: object, pilot: object) -> KpiChartScreen:
    row = app.query_one(KpiRow)  # type: ignore[attr-defined]
    row.focus()
    await pilot.pause()  # type: ignore[attr-defined]
    await pilot.press("enter")  # type: ignore[attr-defined]
    screen = app.screen  # type: ignore[attr-defined]
    assert isinstance(screen, KpiChartScreen)
    await until(pilot, lambda: screen.history is not None, "the chart's history")  # type: ignore[arg-type]
    return screen


async def test_enter_on_a_tile_charts_the_rooms_history(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        screen = await _open_chart(app, pilot)
        assert screen.spec.signal == "queue_wait_p95"  # the first tile
        history = screen.history
        assert history is not None and len(history.points) > 10
        text = screen_text(app)
        for words in ("Queue p95 · last 30 m", "time (UTC)", "Queue p95 (s)", "threshold 120s",
                      "warning", "trigger firing", "this room's memory"):  # fmt: skip
            assert words in text, words
        await pilot.press("3")
        await until(pilot, lambda: "last 7 d" in screen_text(app), "the 7-day range")
        await until(pilot, lambda: screen.history is not history, "the 7-day history")
        assert "simulator's model of the past" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, KpiChartScreen)


async def test_the_chart_shades_a_firing_trigger(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        simulator = app.sources[0].simulator  # type: ignore[attr-defined]
        for _ in range(12):  # into the brownout, until queue waits have breached for 5 m
            app.ingest(simulator.advance(60))
            app.refresh_view()
        assert any(
            t.state is TriggerState.FIRING and t.spec.signal == "queue_wait_p95"
            for t in app.view.triggers  # type: ignore[union-attr]
        )
        screen = await _open_chart(app, pilot)
        assert screen.history is not None and screen.history.firing
        assert "1 period" in str(screen.query_one(".chart-legend", Static).render())


async def test_prometheus_answers_the_chart_with_a_range_query(prometheus: ServerProcess) -> None:
    wait_until(
        lambda: seconds_of_history(prometheus, QueriesSection().success_rate) >= 3,
        30,
        "a few seconds of history in Prometheus",
    )
    app = real_app(sources__prometheus=prometheus_section(prometheus, backfill="1m"))
    async with app.run_test(size=(120, 36)) as pilot:
        source = next(s for s in app.sources if isinstance(s, PrometheusSource))
        end = datetime.now(timezone.utc)
        points, error = source.kpi_range(
            "success_rate", end - timedelta(minutes=5), end, timedelta(seconds=1)
        )
        assert error == "" and len(points) >= 3
        screen = await _open_chart(app, pilot)
        assert screen.history is not None
        assert screen.history.origin.startswith(f"Prometheus at {source.address}")
        assert screen.history.points
