"""The header: cutover name, clock and phase, next milestone; freeze banner; source health."""

from __future__ import annotations

import math
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ..cutover.durations import format_duration
from ..cutover.freeze import FreezeState
from ..cutover.room import HealthReading, RoomView
from ..cutover.updates import HealthState
from .status import HEALTH_MARK

#: The header's date at its fullest: to the minute, so it changes once a minute.
FULL_DATE = "%Y-%m-%d %H:%M %Z"


class CutoverHeader(Static):
    """One line: name, T-clock, phase, next milestone, and the operator's mode."""

    DEFAULT_CSS = """
    CutoverHeader { height: 1; background: $panel; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, name: str, mode: str, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)  # sources' words are text
        self._cutover = name
        self._mode = mode
        self._shown: tuple[tuple[str, ...], int] | None = None
        self._view: RoomView | None = None

    def on_resize(self) -> None:
        # Fitted to the new width now: a view may have come before the first layout.
        if self._view is not None:
            self.show(self._view)

    def show(self, view: RoomView) -> None:
        self._view = view
        width = self.size.width or 160
        key = (header_key(view), width)
        if key == self._shown:
            return  # what the header says is made of these: the same, so is it
        self._shown = key
        self.update(fitted(header_lines(view, self._cutover, self._mode), width), layout=False)


def header_key(view: RoomView) -> tuple[str, ...]:
    """What the header's lines are made of, besides the name and mode (which stay): the
    strings are compared at every tick instead of the five lines built of them."""
    clock = view.clock
    upcoming = ("", "")
    if clock.next is not None and clock.until_next is not None:
        upcoming = (clock.next.label, format_duration(clock.until_next))
    return (clock.label, clock.phase_detail, *upcoming, f"{view.now:{FULL_DATE}}")


def header_lines(view: RoomView, name: str, mode: str) -> list[Text]:
    """The header from the fullest to the barest: the cutover's name goes first, then the
    date (the wall clock stays), then the phase; the T-clock and the mode always stay."""
    clock = view.clock

    def line(*, with_name: bool, date: str, phase: bool) -> Text:
        text = Text()
        if with_name:
            text.append(f" {name} ", style="bold")
        text.append(f" {clock.label} ", style="reverse")
        if phase:
            text.append(f" {clock.phase_detail} ")
        text.append(f" {mode} ", style="bold reverse" if "READ-ONLY" in mode else "")
        if clock.next is not None and clock.until_next is not None:
            text.append(f" next {clock.next.label} in {format_duration(clock.until_next)}")
        if date:
            text.append(f" · {view.now:{date}}", style="dim")
        return text

    time_only = "%H:%M %Z"
    return [
        line(with_name=True, date=FULL_DATE, phase=True),
        line(with_name=False, date=FULL_DATE, phase=True),
        line(with_name=False, date=time_only, phase=True),
        line(with_name=False, date=time_only, phase=False),
        line(with_name=False, date="", phase=False),
    ]


def fitted(lines: list[Text], width: int) -> Text:
    """The first of `lines` that fits in `width` cells; the last, cut, when none does."""
    for candidate in lines:
        if candidate.cell_len <= width:
            return candidate
    return lines[-1]


class FreezeBanner(Static):
    """Shown only while frozen: who froze, when, and why."""

    DEFAULT_CSS = """
    FreezeBanner { height: 1; background: $error; color: $text; text-style: bold; display: none; }
    FreezeBanner.-frozen { display: block; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)  # who froze and why are text
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
        super().__init__(id=id, markup=False)
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


def failure_text(health: tuple[HealthReading, ...]) -> Text:
    """Each failing source, the server it failed on and its whole reason; wraps."""
    text = Text()
    mark, style = HEALTH_MARK[HealthState.ERROR]
    for reading in health:
        if reading.state is not HealthState.ERROR:
            continue
        if text:
            text.append("\n")
        text.append(f" {mark} {reading.source}", style=style)
        if reading.address:
            text.append(f" at {reading.address}", style="bold")
        text.append(f": {reading.reason or 'failed'}")
    return text


def retry_text(health: tuple[HealthReading, ...], now: datetime) -> str:
    """`retrying prometheus in 25s · mqtt now`, to the second."""
    parts = []
    for reading in health:
        if reading.state is not HealthState.ERROR or reading.retry_at is None:
            continue
        seconds = math.ceil((reading.retry_at - now).total_seconds())
        parts.append(f"{reading.source} in {seconds}s" if seconds > 0 else f"{reading.source} now")
    return " retrying " + " · ".join(parts) if parts else ""


class SourceFailures(Vertical):
    """Under the health row, only while a source fails: its address and whole reason,
    and a countdown to its next attempt. The countdown changes every second, so it is a
    line of its own, redrawn without a relayout; the reasons change only when they do."""

    DEFAULT_CSS = """
    SourceFailures { height: auto; display: none; }
    SourceFailures.-failing { display: block; }
    SourceFailures > #source-reasons { height: auto; }
    SourceFailures > #source-retry { height: 1; color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._reasons = ""
        self._retry = ""

    def compose(self) -> ComposeResult:
        yield Static("", id="source-reasons", markup=False)
        yield Static("", id="source-retry", markup=False)

    def show(self, health: tuple[HealthReading, ...], now: datetime) -> None:
        reasons = failure_text(health)
        if reasons.plain != self._reasons:
            self._reasons = reasons.plain
            self.set_class(bool(reasons), "-failing")
            self.query_one("#source-reasons", Static).update(reasons)
        retry = retry_text(health, now)
        if retry != self._retry:
            self._retry = retry
            self.query_one("#source-retry", Static).update(retry, layout=False)
