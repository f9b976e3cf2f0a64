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
    KpiTile { height: auto; width: 1fr; padding: 0 1 0 0; }
    KpiTile > Static { height: 1; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    KpiTile > .kpi-title { text-style: bold; }
    KpiTile > .kpi-spark { color: $accent; }
    """

    def __init__(self, signal: str, title: str) -> None:
        super().__init__(id=f"kpi-{signal.replace('_', '-')}")
        self.signal = signal
        self._title = title
        self._value_text = ""
        self._history: tuple[float, ...] = ()
        self._reading: KpiReading | None = None
        self.verdict: KpiVerdict | None = None
        #: The status word is on the limit's line: value and word do not fit one line.
        self.split = False

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
        limit = reading.spec.limit_text
        if verdict in (KpiVerdict.STALE, KpiVerdict.ERROR) and signal.reason:
            limit = signal.reason
        self.verdict = verdict
        self._lines(value, verdict, signal.warning, limit)
        self._reading = reading
        if reading.history != self._history:
            self._history = reading.history
            self._draw_history(reading)

    def _lines(self, value: str, verdict: KpiVerdict, warning: str, limit: str) -> None:
        """The value and its status word on one line when both fit the tile; otherwise the
        word takes the limit's line, whole: the word is what reads without colour."""
        word = Text(verdict.value, style=KPI_STYLE[verdict])
        if warning:  # e.g. a Thanos partial response: the value may be incomplete
            word.append(" ⚠", style="bold yellow")
        width = self.query_one(".kpi-value", Static).size.width or 80
        whole = Text.assemble((value, "bold"), " ", word)
        split = whole.cell_len > width
        key = f"{value}|{verdict.value}|{warning}|{limit}|{split}"
        if key == self._value_text:
            return
        self._value_text = key
        self.split = split
        # The row lines up: when one tile's word needs the limit line, every tile shows it.
        row = self.parent
        if row is not None:
            row.set_class(any(tile.split for tile in row.query_children(KpiTile)), "-split")
        self.query_one(".kpi-value", Static).update(
            Text(value, style="bold") if split else whole, layout=False
        )
        self.query_one(".kpi-limit", Static).update(word if split else limit, layout=False)

    def on_resize(self) -> None:
        # Redrawn at the new width now: a reading may have come before the first layout.
        if self._reading is not None:
            self._value_text = ""
            self.show(self._reading)
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
