"""A bounded log of event lines that follows its end, redrawn once per batch.

Textual's RichLog repaints once for a write and again for the scroll to its end that
follows; at a few events a second over SSH those repaints were most of the bytes sent.
Each line here is rendered once into a cached strip; a batch moves the view in the same
refresh that shows it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class EventLog(ScrollView, can_focus=True):
    """The last `capacity` lines; new lines keep the view at the end unless scrolled up."""

    DEFAULT_CSS = """
    EventLog { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    """

    def __init__(self, capacity: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.lines: deque[Text] = deque(maxlen=capacity)
        #: Rendered strips by absolute line number; dropped as lines leave the log.
        self._strips: dict[int, Strip] = {}
        self._first = 0  # absolute number of lines[0]
        self._width = 0

    def write_lines(self, texts: Iterable[Text]) -> None:
        """Append lines in one go; the view follows the end if it was there."""
        batch = list(texts)
        if not batch:
            return
        following = self.scroll_offset.y >= self.max_scroll_y
        overflow = max(0, len(self.lines) + len(batch) - (self.lines.maxlen or 0))
        for number in range(self._first, self._first + overflow):
            self._strips.pop(number, None)
        self._first += overflow
        self.lines.extend(batch)
        self.virtual_size = Size(self.size.width, len(self.lines))
        if following:
            self.scroll_to(y=max(0, len(self.lines) - self.size.height), animate=False)
        self.refresh()

    def clear(self) -> None:
        self._first += len(self.lines)
        self.lines.clear()
        self._strips.clear()
        self.virtual_size = Size(self.size.width, 0)
        self.scroll_to(y=0, animate=False)
        self.refresh()

    def on_resize(self) -> None:
        self._strips.clear()
        self.virtual_size = Size(self.size.width, len(self.lines))

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.size.width
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        number = self._first + index
        strip = self._strips.get(number)
        if strip is None:
            segments = self.lines[index].render(self.app.console)
            strip = Strip(list(segments)).adjust_cell_length(width, self.rich_style)
            self._strips[number] = strip
        return strip
