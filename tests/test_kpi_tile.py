"""A KPI tile's value line: the value and its status word side by side when both fit the
tile, the word on the limit's line when not (the whole row following); a partial answer's
⚠ counts in the fit; a wider tile joins them again."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

from textual.app import App, ComposeResult
from textual.widgets import Static

from maestro_control_room.cutover.kpis import KpiSpec, KpiVerdict
from maestro_control_room.cutover.room import KpiReading
from maestro_control_room.cutover.signals import Signal
from maestro_control_room.cutover.triggers import Comparison
from maestro_control_room.widgets.kpi import KpiRow, KpiTile

AT = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
SPEC = KpiSpec("queue_wait_p95", "Queue p95", "s", Comparison.ABOVE, 300.0, 240.0)


def reading(value: float, warning: str = "") -> KpiReading:
    signal = replace(Signal.measured("queue_wait_p95", value, "s", AT, "sim"), warning=warning)
    return KpiReading(SPEC, signal, SPEC.assess(signal), (value,))


class TileApp(App[None]):
    CSS = "KpiRow { height: 4; } KpiTile.-narrow { width: 13; }"

    def compose(self) -> ComposeResult:
        with KpiRow():
            yield KpiTile("queue_wait_p95", "Queue p95")


def lines(tile: KpiTile) -> tuple[str, str]:
    value, limit = (tile.query_one(f".kpi-{part}", Static) for part in ("value", "limit"))
    return str(value.render()).strip(), str(limit.render()).strip()


async def test_the_word_moves_to_the_limit_line_when_it_does_not_fit_and_back() -> None:
    app = TileApp()
    async with app.run_test(size=(80, 8)) as pilot:
        tile = app.query_one(KpiTile)
        tile.show(reading(120.0))
        await pilot.pause()
        assert lines(tile) == ("120s OK", "≤ 300s")
        assert not tile.split

        # A partial answer: the ⚠ goes with the word, which still fits at 80 columns.
        tile.show(reading(420.0, warning="partial response"))
        await pilot.pause()
        assert lines(tile) == ("420s BREACH ⚠", "≤ 300s")
        assert tile.verdict is KpiVerdict.BREACH

        tile.add_class("-narrow")  # 13 columns, 12 inside: "420s BREACH ⚠" does not fit
        await pilot.pause()
        assert lines(tile) == ("420s", "BREACH ⚠")
        assert tile.split and app.query_one(KpiRow).has_class("-split")

        tile.show(reading(420.0))  # without the ⚠ it fits again, in the same tile
        await pilot.pause()
        assert lines(tile) == ("420s BREACH", "≤ 300s")
        assert not app.query_one(KpiRow).has_class("-split")
