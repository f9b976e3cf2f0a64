"""A KPI's history chart, opened with Enter on its tile: 30 m, 6 h or 7 d, from Prometheus'
range queries where Prometheus serves the KPI, else from what this room has kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, TypeVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from ...cutover.durations import format_duration
from ...cutover.kpi_history import (
    RANGES,
    KpiHistory,
    Point,
    firing_periods,
    range_step,
    room_points,
)
from ...cutover.kpis import KpiSpec
from ...cutover.room import ControlRoom
from ...sources.base import Source
from ...sources.sim.history import joined

if TYPE_CHECKING:
    from ...sources.sim.source import SimSource

#: Fetches a KPI's history over a span; blocking (a range query), so run in a thread.
FetchHistory = Callable[[KpiSpec, timedelta], KpiHistory]
T = TypeVar("T")
#: The simulator's model answers any step; this keeps a 30 m range to one point per 15 s.
POINT_FLOOR = timedelta(seconds=15)


class OnLoop(Protocol):
    """Runs a function on the app's thread and returns its result (`App.call_from_thread`)."""

    def __call__(self, callback: Callable[[], T], /) -> T: ...


class KpiChartScreen(ModalScreen[None]):
    """One KPI over time. `1` `2` `3` pick the range; Esc, q or Enter close."""

    BINDINGS = [
        Binding("escape,q,enter", "dismiss", "Close", id="close-chart"),
        Binding("1", "range(0)", "Last 30 minutes", id="chart-30m"),
        Binding("2", "range(1)", "Last 6 hours", id="chart-6h"),
        Binding("3", "range(2)", "Last 7 days", id="chart-7d"),
    ]  # fmt: skip

    DEFAULT_CSS = """
    KpiChartScreen { align: center middle; }
    KpiChartScreen > #chart-dialog {
        width: 95%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    KpiChartScreen #chart-title { text-style: bold; height: 1; }
    KpiChartScreen #chart-hint { color: $text-muted; height: 1; }
    """

    def __init__(self, spec: KpiSpec, fetch: FetchHistory) -> None:
        super().__init__()
        self.spec = spec
        self._fetch = fetch
        self.range = 0
        self.history: KpiHistory | None = None

    def compose(self) -> ComposeResult:
        # The plotting library (and numpy under it) loads with the first chart, not with
        # the room: a twentieth of a second off every start.
        from ...widgets.kpi_chart import KpiChart

        with Vertical(id="chart-dialog"):
            yield Static("", id="chart-title", markup=False)
            yield KpiChart()
            yield Static("1 last 30 m · 2 last 6 h · 3 last 7 d · Esc closes", id="chart-hint")

    def on_mount(self) -> None:
        self.action_range(0)

    def action_range(self, index: int) -> None:
        self.range = index
        label, _ = RANGES[index]
        self.query_one("#chart-title", Static).update(
            f"{self.spec.title} · last {label} · loading…"
        )
        self.load(index)

    @work(thread=True, exclusive=True, group="chart", exit_on_error=False)
    def load(self, index: int) -> None:
        """The range query runs off the event loop; the chart is drawn on it."""
        history = self._fetch(self.spec, RANGES[index][1])
        self.app.call_from_thread(self._show, index, history)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group == "chart" and event.state is WorkerState.ERROR:
            label, _ = RANGES[self.range]
            self.query_one("#chart-title", Static).update(
                f"{self.spec.title} · last {label} · could not load: {event.worker.error}"
            )

    def _show(self, index: int, history: KpiHistory) -> None:
        if index != self.range or not self.is_attached:
            return  # a range picked since
        self.history = history
        label, _ = RANGES[index]
        self.query_one("#chart-title", Static).update(f"{self.spec.title} · last {label}")
        from ...widgets.kpi_chart import KpiChart

        self.query_one(KpiChart).draw(history)


def history_fetcher(
    room: ControlRoom, sources: Sequence[Source], now: Callable[[], datetime], on_loop: OnLoop
) -> FetchHistory:
    """Where a chart's points come from: Prometheus when it serves the KPI; else the room's
    own memory (what the simulator or any source delivered since the room opened), and
    before it, on the simulator, its model of the past. The room and the simulator are read
    on the app's thread (`on_loop`): they change there."""
    from ...sources.prometheus import PrometheusSource
    from ...sources.sim.source import SimSource

    def fetch(spec: KpiSpec, span: timedelta) -> KpiHistory:
        end = now()
        start = end - span
        firing = on_loop(
            lambda: firing_periods(
                tuple(room.trigger_log), room.settings.triggers, spec.signal, start, end
            )
        )
        note = ""
        for source in sources:
            if isinstance(source, PrometheusSource) and spec.signal in source.queries:
                step = range_step(span, source.refresh)
                points, error = source.kpi_range(spec.signal, start, end, step)
                origin = f"Prometheus at {source.address}, step {format_duration(step)}"
                if not error:
                    return KpiHistory(spec, start, end, points, origin, firing=firing)
                note = f"Prometheus: {error}; "
        interval = room.settings.history_interval
        points = on_loop(
            lambda: room_points(
                tuple(room.history.get(spec.signal, ())),
                room.last_history_at(spec.signal),
                interval,
            )
        )
        shown = tuple(p for p in points if p[0] >= start)
        held = points[-1][0] - points[0][0] + interval if points else timedelta(0)
        for source in sources:
            if held < span and isinstance(source, SimSource) and source.simulator.delivers_metrics:
                history = simulated(source, spec.signal, start, end, span, points, on_loop)
                if history:
                    every = format_duration(range_step(span, POINT_FLOOR))
                    origin = (
                        "the simulator's model of the past (a working day's load, the"
                        f" scenario's incidents), a point per {every}; the last"
                        f" {format_duration(held)} from this room's memory"
                    )
                    return KpiHistory(
                        spec, start, end, joined(history, shown), origin, firing=firing
                    )
        if held < span:
            note += f"this room has kept {format_duration(held)}; Prometheus keeps more"
        origin = f"this room's memory, a point per {format_duration(interval)}"
        return KpiHistory(spec, start, end, shown, origin, note=note, firing=firing)

    return fetch


def simulated(
    source: SimSource,
    signal: str,
    start: datetime,
    end: datetime,
    span: timedelta,
    kept: Sequence[Point],
    on_loop: OnLoop,
) -> tuple[Point, ...]:
    """The simulator's model of `signal` over the range, meeting the room's first kept
    point (or, with none, the simulator's present value)."""
    history = source.history
    if history is None:
        return ()
    anchor: Point | None = kept[0] if kept else None
    if anchor is None:
        simulator = source.simulator
        now, value = on_loop(lambda: (simulator.now, simulator.signals().get(signal)))
        anchor = (now, value) if value is not None else None
    return history.points(signal, start, end, range_step(span, POINT_FLOOR), anchor)
