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


def drawn(log: EventLog) -> list[str]:
    """The log's rows as the screen gets them: border, lines and all."""
    return [strip.text for strip in log.render_lines(Region(0, 0, *log.size))]


async def test_rows_moved_up_by_a_write_are_what_a_full_redraw_draws() -> None:
    """A write reuses the rows drawn already, each moved up by the lines it adds: through
    the log's start (fewer lines than rows), writes with no frame between them, a batch
    taller than the view, a log past its capacity, and a focus that changes the border."""

    class FocusApp(LogApp):
        CSS = LogApp.CSS + "EventLog:focus { border-left: outer red; }"

    app = FocusApp()
    async with app.run_test(size=(60, 12)) as pilot:
        log = app.query_one(EventLog)
        written = 0

        async def write(*counts: int) -> None:
            nonlocal written
            for count in counts:  # one frame for all of them
                log.write_lines(Text(f"line {written + n}") for n in range(count))
                written += count
            await pilot.pause()
            shown = drawn(log)
            log._styles_cache.clear()  # everything drawn afresh
            assert shown == drawn(log), f"after {written} lines"
            wanted = [f"line {n}" for n in range(max(0, written - log.size.height), written)]
            lines = [row[log.content_offset.x :].strip() for row in shown]
            assert [line for line in lines if line] == wanted

        await write(2)
        await write(1, 3)
        await write(12)
        await write(1)
        log.focus()
        await pilot.pause()
        await write(2)
        await write(*[7] * 8)  # past the capacity of 50
        assert written > log.capacity


async def test_a_write_of_one_line_draws_one_line() -> None:
    app = LogApp()
    async with app.run_test(size=(60, 12)) as pilot:
        log = app.query_one(EventLog)
        log.write_lines(Text(f"line {n}") for n in range(20))
        await pilot.pause()
        rows: list[int] = []
        draw = log.render_line

        def counted(y: int) -> object:
            rows.append(y)
            return draw(y)

        log.render_line = counted  # type: ignore[method-assign]
        log.write_lines([Text("one more")])
        await pilot.pause()
        assert rows == [log.size.height - 1]
        assert drawn(log)[-1][log.content_offset.x :].strip() == "one more"
