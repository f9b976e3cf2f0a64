"""The header: cutover name, clock and phase, next milestone; freeze banner; source health."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from cutover.durations import format_duration
from cutover.freeze import FreezeState
from cutover.room import HealthReading, RoomView
from widgets.status import HEALTH_MARK


class CutoverHeader(Static):
    """One line: name, T-clock, phase, next milestone, and the operator's mode."""

    DEFAULT_CSS = """
    CutoverHeader { height: 1; background: $panel; }
    """

    def __init__(self, name: str, mode: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._name = name
        self._mode = mode
        self._shown = ""
        self._view: RoomView | None = None

    def on_resize(self) -> None:
        # Wide or compact for the new width now: a view may have come before the first layout.
        if self._view is not None:
            self.show(self._view)

    def show(self, view: RoomView) -> None:
        self._view = view
        clock = view.clock
        compact = self.size.width < 110
        line = Text()
        if not compact:
            line.append(f" {self._name} ", style="bold")
        line.append(f" {clock.label} ", style="reverse")
        line.append(f" {clock.phase_detail} ")
        line.append(f" {self._mode} ", style="bold reverse" if "READ-ONLY" in self._mode else "")
        if clock.next is not None and clock.until_next is not None:
            line.append(f" next {clock.next.label} in {format_duration(clock.until_next)}")
        if not compact:
            line.append(f" · {view.now:%Y-%m-%d %H:%M %Z}", style="dim")
        key = line.plain
        if key != self._shown:
            self._shown = key
            self.update(line, layout=False)


class FreezeBanner(Static):
    """Shown only while frozen: who froze, when, and why."""

    DEFAULT_CSS = """
    FreezeBanner { height: 1; background: $error; color: $text; text-style: bold; display: none; }
    FreezeBanner.-frozen { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state: FreezeState | None = None

    def show(self, state: FreezeState) -> None:
        if state == self._state:
            return
        self._state = state
        self.set_class(state.frozen, "-frozen")
        if state.frozen:
            at = f"{state.at:%Y-%m-%d %H:%M %Z}" if state.at else "unknown time"
            paused = f" · {len(state.paused_by_freeze)} rollout(s) paused by the freeze"
            self.update(
                f" ❄ FROZEN by {state.by} at {at}: {state.reason}"
                + (paused if state.paused_by_freeze else ""),
                layout=False,
            )


class HealthRow(Static):
    """Each source: ok, stale for N s, or error with a short reason."""

    DEFAULT_CSS = """
    HealthRow { height: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[tuple[str, str], ...] = ()

    def show(self, health: tuple[HealthReading, ...], notes: tuple[str, ...] = ()) -> None:
        parts = tuple((h.source, h.text) for h in health) + tuple(("", n) for n in notes)
        if parts == self._shown:
            return
        self._shown = parts
        line = Text(" sources ", style="dim")
        for reading in health:
            mark, style = HEALTH_MARK[reading.state]
            line.append(f"{mark} ", style=style)
            line.append(f"{reading.source} ")
            line.append(f"{reading.text}  ", style=style)
        for note in notes:
            line.append(f"{note}  ", style="yellow")
        self.update(line, layout=False)
