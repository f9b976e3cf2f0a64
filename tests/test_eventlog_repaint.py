"""New event lines repaint the log's lines only: its scrollbar, unchanged by a write, is not
sent over the link again with every line of every batch; a scroll back still moves it."""

from __future__ import annotations

from rich.text import Text
from textual.app import App, ComposeResult
from textual.geometry import Region

from maestro_control_room.widgets.eventlog import EventLog


class LogApp(App[None]):
    CSS = "EventLog { border-left: blank; height: 8; }"

    def compose(self) -> ComposeResult:
        yield EventLog(50)


def lines_region(log: EventLog) -> Region:
    """Where the log's lines are drawn, relative to the widget: inside its border, left of
    its scrollbar."""
    x, y = log.content_offset
    return Region(x, y, log.size.width - log.scrollbar_size_vertical, log.size.height)


async def test_a_write_repaints_the_lines_not_the_scrollbar() -> None:
    app = LogApp()
    async with app.run_test(size=(60, 12)) as pilot:
        log = app.query_one(EventLog)
        log.write_lines(Text(f"line {n}") for n in range(20))
        await pilot.pause()
        assert log.vertical_scrollbar.display  # there is a scrollbar to leave alone
        log.write_lines([Text("one more")])
        dirty = set(log._repaint_regions)
        assert dirty, "nothing to repaint"
        inside = lines_region(log)
        assert all(inside.contains_region(region) for region in dirty), (dirty, inside)
        await pilot.pause()
        shown = [log.render_line(y).text.strip() for y in range(log.size.height)]
        assert shown[-1] == "one more"


async def test_scrolled_back_the_lines_stay_and_the_scrollbar_moves() -> None:
    app = LogApp()
    async with app.run_test(size=(60, 12)) as pilot:
        log = app.query_one(EventLog)
        log.write_lines(Text(f"line {n}") for n in range(20))
        await pilot.pause()
        log.scroll_to(y=log.scroll_offset.y - 3, animate=False)
        await pilot.pause()
        assert not log.following
        before = [log.render_line(y).text.strip() for y in range(log.size.height)]
        position = log.vertical_scrollbar.position
        log.write_lines([Text("new 1"), Text("new 2")])
        await pilot.pause()
        after = [log.render_line(y).text.strip() for y in range(log.size.height)]
        assert after == before  # the same lines in view as the rest moved up
        assert log.vertical_scrollbar.position == position - 2
