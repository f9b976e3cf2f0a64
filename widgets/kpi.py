"""KPI tiles: value, threshold, a status word and colour, and a sparkline of recent history."""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static

from ..cutover.durations import format_duration
from ..cutover.kpis import KpiVerdict, format_value
from ..cutover.room import KpiReading
from .sparkline import scale, sparkline
from .status import KPI_STYLE
from .table import FOCUS_MARKER

#: After the status word when the reading came with a warning (a partial response).
WARNING_MARK = " ⚠"


class KpiTile(Vertical):
    """One KPI. Only the lines whose text changed are repainted."""

    DEFAULT_CSS = """
    KpiTile { height: auto; width: 1fr; padding: 0 1 0 0; }
    KpiTile > Static { height: 1; width: 1fr; text-wrap: nowrap; text-overflow: ellipsis; }
    KpiTile > .kpi-title { text-style: bold; }
    """

    def __init__(self, signal: str, title: str) -> None:
        super().__init__(id=f"kpi-{signal.replace('_', '-')}")
        self.signal = signal
        self._title = title
        self._value_key: tuple[object, ...] = ()
        self._width = 0
        self._history: tuple[float, ...] = ()
        self._spark_verdict: KpiVerdict | None = None
        self._reading: KpiReading | None = None
        self.verdict: KpiVerdict | None = None
        #: The status word is on the limit's line: value and word do not fit one line.
        self.split = False

    def compose(self) -> ComposeResult:
        # Kept, not queried for: a tick shows every tile, and a query matches selectors.
        self._title_line = Static(self._title, classes="kpi-title", markup=False)
        self._value_line = Static("", classes="kpi-value", markup=False)
        self._limit_line = Static("", classes="kpi-limit", markup=False)
        self._spark_line = Static("", classes="kpi-spark")
        yield from (self._title_line, self._value_line, self._limit_line, self._spark_line)

    def mark(self, picked: bool) -> None:
        """▶ and reversed on the title of the tile Enter would chart."""
        title = Text(f"{FOCUS_MARKER} {self._title}", style="reverse") if picked else self._title
        self._title_line.update(title, layout=False)

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
        if reading.history != self._history or verdict is not self._spark_verdict:
            self._history = reading.history
            self._spark_verdict = verdict
            self._draw_history(reading)

    def _lines(self, value: str, verdict: KpiVerdict, warning: str, limit: str) -> None:
        """The value and its status word on one line when both fit the tile; otherwise the
        word takes the limit's line, whole: the word is what reads without colour."""
        width = self._width or 80
        # Measured as strings, and compared, before any Text is built: at most ticks
        # nothing on the tile changed.
        word_cells = cell_len(verdict.value) + (cell_len(WARNING_MARK) if warning else 0)
        split = cell_len(value) + 1 + word_cells > width
        key = (value, verdict, warning, limit, split)
        if key == self._value_key:
            return
        self._value_key = key
        word = Text(verdict.value, style=KPI_STYLE[verdict])
        if warning:  # e.g. a Thanos partial response: the value may be incomplete
            word.append(WARNING_MARK, style="bold yellow")
        whole = Text.assemble((value, "bold"), " ", word)
        self.split = split
        # The row lines up: when one tile's word needs the limit line, every tile shows it.
        row = self.parent
        if row is not None:
            row.set_class(any(tile.split for tile in row.query_children(KpiTile)), "-split")
        self._value_line.update(Text(value, style="bold") if split else whole, layout=False)
        self._limit_line.update(word if split else limit, layout=False)

    def on_resize(self) -> None:
        # The value line's width, kept: a tick shows every tile, and a widget's size is
        # worked out from its region each time it is asked for.
        self._width = self._value_line.size.width
        # Redrawn at the new width now: a reading may have come before the first layout.
        if self._reading is not None:
            self._value_key = ()
            self.show(self._reading)
            self._draw_history(self._reading)

    def _draw_history(self, reading: KpiReading) -> None:
        spark = self._spark_line
        spark.update(spark_line(reading, spark.size.width or 20), layout=False)


def spark_line(reading: KpiReading, width: int) -> Text:
    """The sparkline in the tile's state colour, ending in the span it covers (`4m`), so a
    flat line reads as four flat minutes, not as all of history."""
    history = reading.history
    if not history:
        return Text()
    # One point per cell: only what can be drawn is scaled and drawn, with room for its span.
    shown = history[-width:]
    span = format_duration(reading.history_interval * len(shown), parts=1)
    while len(shown) > 1 and len(shown) + 1 + len(span) > width:
        shown = shown[len(shown) + 1 + len(span) - width :]
        span = format_duration(reading.history_interval * len(shown), parts=1)
    low, high = scale(shown, reading.spec.threshold, reading.spec.comparison)
    line = Text(sparkline(shown, low, high), style=KPI_STYLE[reading.verdict])
    line.append(f" {span}", style="dim")
    return line


class KpiRow(Horizontal, can_focus=True):
    """The tiles, one stop of `tab`: ← → pick a tile, Enter opens its history chart. The
    picked tile's title is marked ▶ while the row has the keyboard."""

    BINDINGS = [
        Binding("left", "pick(-1)", "Previous KPI tile", show=False),
        Binding("right", "pick(1)", "Next KPI tile", show=False),
        Binding("enter", "chart", "History chart of the picked KPI", show=False),
    ]

    class ChartWanted(Message):
        """The operator asks for `signal`'s history chart."""

        def __init__(self, signal: str) -> None:
            super().__init__()
            self.signal = signal

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.picked = 0

    @property
    def tiles(self) -> list[KpiTile]:
        return list(self.query_children(KpiTile))

    def on_focus(self) -> None:
        self._mark(focused=True)

    def on_blur(self) -> None:
        self._mark(focused=False)

    def action_pick(self, step: int) -> None:
        count = len(self.tiles)
        if count:
            self.picked = (self.picked + step) % count
            self._mark(focused=True)

    def action_chart(self) -> None:
        tiles = self.tiles
        if tiles:
            self.post_message(self.ChartWanted(tiles[self.picked].signal))

    def _mark(self, *, focused: bool) -> None:
        for index, tile in enumerate(self.tiles):
            tile.mark(focused and index == self.picked)
