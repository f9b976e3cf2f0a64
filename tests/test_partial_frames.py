"""Frames that draw only the rows they change leave the terminal as a whole frame would.

The dashboard's compositor (tui/compositor.py) draws, for a frame, only the widgets in the
rows that changed, only those rows, and none wholly under help. Every frame the app sends is
fed here, in order, to a terminal emulator (pyte); after each change, what that terminal
shows must be what a frame of the whole screen draws now. A widget left undrawn in a row it
changed would leave its old text on the terminal.
"""

from __future__ import annotations

import pyte
import pytest
from rich.segment import Segment
from rich.style import Style
from textual._compositor import Compositor
from textual.geometry import Region
from textual.pilot import Pilot
from textual.strip import Strip

from maestro_control_room.cutover.events import BuildEvent, PlatformEvent
from maestro_control_room.cutover.freeze import FreezeState
from maestro_control_room.cutover.signals import Signal
from maestro_control_room.cutover.updates import (
    EventsUpdate,
    FreezeUpdate,
    HealthState,
    SignalUpdate,
    SourceHealth,
)
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.compositor import ChangedRowsCompositor, hidden, joined
from tests.conftest import AppFactory

SIZE = (120, 36)


class Terminal:
    """Every frame the app sends, written to an emulated terminal of the app's size."""

    def __init__(self, app: ControlRoomApp, monkeypatch: pytest.MonkeyPatch) -> None:
        self.screen = pyte.Screen(*SIZE)
        self.stream = pyte.Stream(self.screen)
        self.frames = 0
        self.app = app

        def display(_screen: object, renderable: object) -> None:
            # A headless app sends nothing: what it would send is written here instead.
            render_segments = getattr(renderable, "render_segments", None)
            if render_segments is not None:
                self.stream.feed(render_segments(app.console))
                self.frames += 1

        monkeypatch.setattr(app, "_display", display)

    def shown(self) -> list[str]:
        return [line.rstrip() for line in self.screen.display]

    def whole_frame(self) -> list[str]:
        """The whole screen now, as Textual's own compositor draws it."""
        compositor = self.app.screen._compositor
        assert isinstance(compositor, ChangedRowsCompositor)
        compositor.__class__ = Compositor
        try:
            strips = compositor.render_strips()
        finally:
            compositor.__class__ = ChangedRowsCompositor
        return [strip.text.rstrip() for strip in strips]


async def settle(pilot: Pilot[None]) -> None:
    for _ in range(3):
        await pilot.pause()


async def assert_as_whole(pilot: Pilot[None], terminal: Terminal, after: str) -> None:
    await settle(pilot)
    shown, whole = terminal.shown(), terminal.whole_frame()
    differ = [
        f"row {row}:\n  shown {a!r}\n  whole {b!r}"
        for row, (a, b) in enumerate(zip(shown, whole, strict=True))
        if a != b
    ]
    assert not differ, f"after {after}:\n" + "\n".join(differ)


def failure(n: int, when: object) -> BuildEvent:
    return BuildEvent(
        "job.finished", f"f{n:05d}", f"org/repo-{n % 7}", "Wave-1", when,  # type: ignore[arg-type]
        status="failure", duration_s=60.0 + n, runner=f"runner-{n % 3}",
    )  # fmt: skip


async def test_every_partial_frame_leaves_the_terminal_as_a_whole_frame(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app()
    terminal = Terminal(app, monkeypatch)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert terminal.frames, "the app sent no frame"
        await assert_as_whole(pilot, terminal, "the first frame")
        now = app.clock.now()
        steps = 0
        for n in range(6):
            # Lines into the event stream (its title counts them), under the boards.
            app.ingest([EventsUpdate("sim", tuple(failure(10 * n + k, now) for k in range(3)))])
            app.drain_events()
            await assert_as_whole(pilot, terminal, f"events batch {n}")
            # New readings: the tiles' values and sparklines, a trigger's state, the header.
            rate, wait = 0.99 - 0.03 * n, 120.0 + 90.0 * n
            app.ingest(
                [
                    SignalUpdate(Signal.measured("success_rate", rate, "ratio", now, "sim")),
                    SignalUpdate(Signal.measured("queue_wait_p95", wait, "s", now, "sim")),
                ]
            )
            app.refresh_view()
            await assert_as_whole(pilot, terminal, f"readings {n}")
            steps += 2
        # A source failing (a row of its own appears) and the freeze (its banner): both
        # move every board below them.
        app.ingest([SourceHealth("mqtt", HealthState.ERROR, now, "connection refused")])
        app.refresh_view()
        await assert_as_whole(pilot, terminal, "a source failing")
        app.ingest([FreezeUpdate("kubernetes", FreezeState(True, by="alice", at=now), now)])
        app.refresh_view()
        await assert_as_whole(pilot, terminal, "the freeze")
        for key in ("tab", "tab", "question_mark", "question_mark", "tab", "v", "tab"):
            # Focus moves (a title reversed, a cursor row marked), help drawn over the
            # boards and taken away, every build listed.
            await pilot.press(key)
            await assert_as_whole(pilot, terminal, f"key {key}")
            steps += 1
        # Events and readings while help is open: under it, the boards are not drawn, and
        # beside it they are.
        await pilot.press("question_mark")
        await assert_as_whole(pilot, terminal, "help opened")
        app.ingest([EventsUpdate("sim", tuple(failure(100 + k, now) for k in range(3)))])
        app.drain_events()
        last = app.settings.kpis[-1]  # the rightmost tile, beside help
        app.ingest(
            [
                SignalUpdate(Signal.measured("success_rate", 0.5, "ratio", now, "sim")),
                SignalUpdate(Signal.measured(last.signal, last.threshold * 3, last.unit, now)),
            ]
        )
        app.refresh_view()
        await assert_as_whole(pilot, terminal, "events under help")
        await pilot.press("question_mark")
        await assert_as_whole(pilot, terminal, "help closed over new events")
        platform = PlatformEvent("chaos.drill", "critical", "executor pool drained", now)
        app.ingest([EventsUpdate("sim", (platform,))])
        app.drain_events()
        await assert_as_whole(pilot, terminal, "a platform event")
        assert terminal.frames > steps // 2  # the steps were drawn frame by frame


def test_a_band_is_hidden_only_where_every_cell_is_taken() -> None:
    """A container's rows under a title and a log side by side with a scrollbar: hidden;
    with a column or a row of it left uncovered: drawn."""
    container = Region(0, 10, 40, 6)
    title, log, scrollbar = Region(0, 10, 40, 1), Region(0, 11, 39, 5), Region(39, 11, 1, 5)
    assert hidden(container, [title, log, scrollbar])
    assert hidden(container, [scrollbar, Region(0, 9, 40, 8)])
    assert not hidden(container, [title, log])  # the scrollbar's column is the container's
    assert not hidden(container, [log, scrollbar])  # and so is the title's row
    assert not hidden(container, [Region(0, 10, 20, 6), Region(21, 10, 19, 6)])
    assert hidden(Region(5, 12, 10, 2), [log])


def test_segments_that_look_alike_are_sent_as_one() -> None:
    """A margin and a row's filling spaces take their neighbour's style; the same style
    twice is one; a space under a line, swapped, or on another background stays apart."""
    grey, amber = Style(color="grey50", bgcolor="black"), Style(color="yellow", bgcolor="black")
    base = Style(color="white", bgcolor="black")
    row = Strip(
        [
            *(Segment(" ", base), Segment("12:00 ", grey), Segment("WARN ", amber)),
            *(Segment("repo-1 ", grey), Segment("failed", grey), Segment("    ", base)),
        ]
    )
    sent = joined(row)
    assert [(s.text, s.style) for s in sent] == [
        (" 12:00 ", grey),
        ("WARN ", amber),
        ("repo-1 failed    ", grey),
    ]
    assert sent.cell_length == row.cell_length
    for apart in (
        Style(color="white", bgcolor="blue"),
        Style(color="white", bgcolor="black", underline=True),
        Style(color="white", bgcolor="black", reverse=True),
    ):
        kept = Strip([Segment("ok", grey), Segment("  ", apart)])
        assert len(joined(kept)) == 2, apart
