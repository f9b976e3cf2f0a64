"""The KPI chart's 6 h and 7 d ranges on the simulator: its model of the past, spanning the
range, the same for a seed, meeting the tile's value, and breaching in the brownout."""

from __future__ import annotations

from datetime import datetime, timedelta

from maestro_control_room.cutover.kpi_history import KpiHistory
from maestro_control_room.cutover.kpis import KpiSpec
from maestro_control_room.cutover.triggers import Comparison
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.screens.kpi_chart import KpiChartScreen
from tests.conftest import AppFactory
from tests.realstack import until
from tests.test_app import started
from tests.test_screen_chart import _open_chart

DAY = timedelta(days=1)


async def seven_days(app: ControlRoomApp, signal: str) -> tuple[KpiHistory, float]:
    """The 7 d chart of `signal`, and its tile's value."""
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        app.query_one("#kpis").focus()
        tiles = [spec.signal for spec in app.settings.kpis]
        for _ in range(tiles.index(signal)):
            await pilot.press("right")
        screen = await _open_chart(app, pilot)
        assert screen.spec.signal == signal
        first = screen.history
        await pilot.press("3")
        await until(pilot, lambda: screen.history is not first, "the 7-day history")
        assert isinstance(app.screen, KpiChartScreen)
        history = screen.history
        assert history is not None
        reading = next(r for r in app.view.kpis if r.spec.signal == signal)  # type: ignore[union-attr]
        assert reading.signal.value is not None
        return history, reading.signal.value


def breaching(spec: KpiSpec, value: float) -> bool:
    return value > spec.threshold if spec.comparison is Comparison.ABOVE else value < spec.threshold


async def test_the_7d_chart_on_the_simulator_spans_the_week(make_app: AppFactory) -> None:
    history, value = await seven_days(make_app(), "success_rate")
    points = history.points
    assert "simulator's model" in history.origin, history.origin
    assert points[0][0] - history.start < timedelta(hours=1)
    assert history.end - points[-1][0] < timedelta(minutes=1)
    days = {(at - history.start) // DAY for at, _ in points}
    assert days >= set(range(7)), "points on every day of the week"
    values = [v for _, v in points]
    assert len(set(values)) > len(values) / 2, "a varying past, not a flat line"
    assert abs(points[-1][1] - value) < 0.005, "ends at the tile's value"


async def test_the_same_seed_draws_the_same_past(make_app: AppFactory) -> None:
    first, _ = await seven_days(make_app(), "queue_wait_p95")
    again, _ = await seven_days(make_app(), "queue_wait_p95")
    other, _ = await seven_days(make_app(sim={"seed": 8}), "queue_wait_p95")
    assert first.points == again.points
    assert first.points != other.points


async def test_the_brownout_breaches_in_the_6h_view(make_app: AppFactory) -> None:
    """An hour after the start, the brownout (from +2 m for 6 m) has left what the room
    keeps (30 m): the model places it, and the queue waits breach once most of their 5 m
    window is in it, as the simulation's own did (from +5 m)."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        simulator = app.sources[0].simulator  # type: ignore[attr-defined]
        opened = simulator.now
        for _ in range(60):
            app.ingest(simulator.advance(60))
            app.refresh_view()
        screen = await _open_chart(app, pilot)
        first = screen.history
        await pilot.press("2")
        await until(pilot, lambda: screen.history is not first, "the 6-hour history")
        history = screen.history
        assert history is not None and "simulator's model" in history.origin
    spec = history.spec
    assert spec.signal == "queue_wait_p95"
    kept_from = history.end - timedelta(minutes=30)
    brownout = (opened + timedelta(minutes=5), opened + timedelta(minutes=8))
    inside = [v for at, v in history.points if brownout[0] <= at <= brownout[1]]
    assert inside and all(at < kept_from for at, _ in history.points if at <= brownout[1])
    assert all(breaching(spec, v) for v in inside), inside
    before = [v for at, v in history.points if at < opened - timedelta(minutes=10)]
    assert before and not any(breaching(spec, v) for v in before)


def test_the_model_is_cheap_and_never_steps_the_simulation() -> None:
    from maestro_control_room.sources.sim.history import SimHistory
    from maestro_control_room.sources.sim.scenario import load_scenario

    history = SimHistory(load_scenario("brownout"), datetime.fromisoformat("2026-12-02T11:00Z"), 7)
    end = datetime.fromisoformat("2026-12-02T12:00Z")
    anchor = (end, 50.0)
    points = history.points("queue_wait_p95", end - 7 * DAY, end, timedelta(seconds=15), anchor)
    assert len(points) == 7 * 86400 // 15 + 1 and points[-1] == anchor
