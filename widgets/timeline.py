"""The replay's timeline: one line with play state, position, duration, speed and the room
clock, and a bar on which every recorded action is marked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.widgets import Static

from ..cutover.playback import speed_text

#: How an action is drawn on the bar: this room's audit entries, other operators' actions.
MARK_GLYPH = {"audit": "◆", "peer": "◇"}


@dataclass(frozen=True)
class TimelineState:
    """Everything the timeline line shows."""

    position: float
    duration: float
    speed: float
    paused: bool
    ended: bool
    position_text: str
    duration_text: str
    clock_text: str
    #: (offset in seconds, kind) of each action.
    marks: tuple[tuple[float, str], ...] = ()
    #: While seeking: how far, from 0 to 1.
    seeking: float | None = None


def timeline_bar(
    position: float, duration: float, marks: Sequence[tuple[float, str]], width: int
) -> Text:
    """`━━━━◆━━●────◇──`: played, the playhead, still to play, and the actions on it."""
    width = max(width, 3)

    def cell(offset: float) -> int:
        if duration <= 0:
            return 0
        return min(width - 1, max(0, round(offset / duration * (width - 1))))

    head = cell(position)
    cells = ["━" if index < head else "─" for index in range(width)]
    styles = ["cyan" if index < head else "dim" for index in range(width)]
    for offset, kind in marks:
        index = cell(offset)
        if cells[index] != MARK_GLYPH["audit"]:  # this room's own action wins a shared cell
            cells[index] = MARK_GLYPH.get(kind, "◆")
            styles[index] = "bold yellow" if kind == "audit" else "yellow"
    cells[head], styles[head] = "●", "bold"
    bar = Text()
    for glyph, style in zip(cells, styles, strict=True):
        bar.append(glyph, style=style)
    return bar


class Timeline(Static):
    """The replay's position, drawn again only when its text changes."""

    DEFAULT_CSS = """
    Timeline { height: 1; background: $boost; text-wrap: nowrap; text-overflow: clip; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.state: TimelineState | None = None
        self._shown = ""

    def show(self, state: TimelineState) -> None:
        self.state = state
        self._draw()

    def on_resize(self) -> None:
        self._shown = ""
        self._draw()

    @property
    def text(self) -> str:
        return self._shown

    def _draw(self) -> None:
        state = self.state
        if state is None:
            return
        if state.seeking is not None:
            mode, style = f"» seeking {state.seeking:.0%}", "bold"
        elif state.ended:
            mode, style = "■ end of recording", "bold yellow"
        elif state.paused:
            mode, style = "⏸ paused", "bold yellow"
        else:
            mode, style = "▶ playing", "bold green"
        line = Text(" ")
        line.append(mode, style=style)
        line.append(f"  {speed_text(state.speed)}  ", style="bold")
        line.append(f"{state.position_text} / {state.duration_text}  ")
        line.append(state.clock_text, style="reverse")
        line.append(" ")
        width = (self.size.width or 80) - line.cell_len - 1
        if width >= 10:
            line.append_text(timeline_bar(state.position, state.duration, state.marks, width))
        if line.plain != self._shown:
            self._shown = line.plain
            self.update(line, layout=False)
