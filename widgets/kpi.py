"""KPI tiles: value, threshold, a status word and colour, and a sparkline of recent history."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from cutover.kpis import KpiVerdict, format_value
from cutover.room import KpiReading
from widgets.sparkline import scale, sparkline
from widgets.status import KPI_STYLE


class KpiTile(Vertical):
    """One KPI. Only the lines whose text changed are repainted."""

    DEFAULT_CSS = """
    KpiTile { height: 4; width: 1fr; padding: 0 1 0 0; }
    KpiTile > Static { height: 1; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    KpiTile > .kpi-title { text-style: bold; }
    KpiTile > .kpi-spark { color: $accent; }
    """

    def __init__(self, signal: str, title: str) -> None:
        super().__init__(id=f"kpi-{signal.replace('_', '-')}")
        self.signal = signal
        self._title = title
        self._value_text = ""
        self._limit_text = ""
        self._history: tuple[float, ...] = ()
        self._reading: KpiReading | None = None
        self.verdict: KpiVerdict | None = None

    def compose(self) -> ComposeResult:
        yield Static(self._title, classes="kpi-title")
        yield Static("", classes="kpi-value")
        yield Static("", classes="kpi-limit")
        yield Static("", classes="kpi-spark")

    def show(self, reading: KpiReading) -> None:
        signal = reading.signal
        verdict = reading.verdict
        if verdict in (KpiVerdict.OK, KpiVerdict.WARN, KpiVerdict.BREACH):
            value = format_value(signal.value, reading.spec.unit)
        elif verdict is KpiVerdict.NOT_A_NUMBER:
            value = str(signal.value)
        else:
            value = "—"  # never the last value, which would look current
        text = Text.assemble((value, "bold"), " ", (verdict.value, KPI_STYLE[verdict]))
        if signal.warning:  # e.g. a Thanos partial response: the value may be incomplete
            text.append(" ⚠", style="bold yellow")
        key = f"{value}|{verdict.value}|{signal.warning}"
        if key != self._value_text:
            self._value_text = key
            self.verdict = verdict
            self.query_one(".kpi-value", Static).update(text, layout=False)
        limit = reading.spec.limit_text
        if verdict in (KpiVerdict.STALE, KpiVerdict.ERROR) and signal.reason:
            limit = signal.reason
        if limit != self._limit_text:
            self._limit_text = limit
            self.query_one(".kpi-limit", Static).update(limit, layout=False)
        self._reading = reading
        if reading.history != self._history:
            self._history = reading.history
            self._draw_history(reading)

    def on_resize(self) -> None:
        # Redrawn at the new width now: a reading may have come before the first layout.
        if self._reading is not None:
            self._draw_history(self._reading)

    def _draw_history(self, reading: KpiReading) -> None:
        spark = self.query_one(".kpi-spark", Static)
        width = spark.size.width or 20
        # One point per cell: only what can be drawn is scaled and drawn.
        shown = reading.history[-width:]
        if not shown:
            spark.update("", layout=False)
            return
        low, high = scale(shown, reading.spec.threshold, reading.spec.comparison)
        spark.update(sparkline(shown, low, high), layout=False)
