"""A bounded log of event lines that follows its end, redrawn once per batch.

Textual's RichLog repaints once for a write and again for the scroll to its end that
follows, and every write grows its virtual size, which lays the whole screen out again.
Here the virtual height is fixed at the log's capacity with the lines at its bottom, so a
write is one refresh of this widget and nothing else; each line is rendered once into a
cached strip.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from rich.text import Text
from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


class EventLog(ScrollView, can_focus=True):
    """The last `capacity` lines; new lines keep the view at the end unless scrolled up."""

    DEFAULT_CSS = """
    EventLog { height: 1fr; overflow-x: hidden; scrollbar-size-vertical: 1; }
    """

    def __init__(self, capacity: int, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.capacity = capacity
        self.lines: deque[Text] = deque(maxlen=capacity)
        #: Rendered strips by absolute line number; dropped as lines leave the log.
        self._strips: dict[int, Strip] = {}
        self._first = 0  # absolute number of lines[0]
        #: At the end, showing new lines as they come; off while scrolled back to read.
        self.following = True

    def on_mount(self) -> None:
        self.virtual_size = Size(self.size.width, self.capacity)

    def on_resize(self) -> None:
        self._strips.clear()
        self.virtual_size = Size(self.size.width, self.capacity)
        if self.following:
            self.call_after_refresh(self.scroll_end, animate=False, immediate=True)

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)  # moves the scrollbar and repaints
        self.following = new >= self.max_scroll_y

    def write_lines(self, texts: Iterable[Text]) -> None:
        """Append lines in one go; the view follows the end if it was there."""
        batch = list(texts)
        if not batch:
            return
        overflow = max(0, len(self.lines) + len(batch) - self.capacity)
        for number in range(self._first, self._first + overflow):
            self._strips.pop(number, None)
        self._first += overflow
        self.lines.extend(batch)
        if not self.following:
            # Scrolled back to read: keep the same lines in view as the rest moves up.
            self.scroll_to(y=max(0, self.scroll_offset.y - len(batch)), animate=False)
        # The lines only, left of the scrollbar: it does not change with a write (a scroll
        # repaints it itself), and sent again with every line of every batch it was a tenth
        # of the bytes a batch cost on the link.
        size = self.size
        if not size.height:
            # No rows on screen (a short terminal, full boards): a refresh would draw
            # nothing and make the screen lay every widget out again at the next look
            # up of a widget's size. Shown again, the log is drawn whole anyway.
            return
        width = max(0, size.width - self.scrollbar_size_vertical)
        moved = self._rows_moved_up(len(batch)) if self.following else None
        self.refresh(Region(0, 0, width, size.height))
        if moved is not None:
            # Each row now shows what the row `len(batch)` below it showed, drawn already:
            # only the new rows at the bottom are drawn again (the terminal still gets
            # every row; only its drawing is saved).
            cache = self._styles_cache
            cache._cache, cache._dirty_lines = moved

    def _rows_moved_up(self, count: int) -> tuple[dict[int, Strip], set[int]] | None:
        """The rows Textual has drawn for this widget, each `count` rows higher, and the
        rows still to draw; None where a row's drawing depends on its place (a top or
        bottom border or padding) and everything is drawn again."""
        top, _, bottom, _ = self.styles.gutter
        if top or bottom:
            return None
        cache = self._styles_cache
        height = self.size.height
        stale = cache._dirty_lines
        drawn = {
            y - count: strip
            for y, strip in cache._cache.items()
            if count <= y < height and y not in stale
        }
        return drawn, set(range(max(0, height - count), height))

    def clear(self) -> None:
        self._first += len(self.lines)
        self.lines.clear()
        self._strips.clear()
        self.following = True
        self.scroll_end(animate=False)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        # Lines sit at the bottom of a virtual height of `capacity` rows.
        index = self.scroll_offset.y + y - (self.capacity - len(self.lines))
        width = self.size.width
        if not 0 <= index < len(self.lines):
            return Strip.blank(width, self.rich_style)
        number = self._first + index
        strip = self._strips.get(number)
        if strip is None:
            segments = self.lines[index].render(self.app.console)
            # On the widget's own style: a segment with no style at all is more than
            # Textual's monochrome filter (NO_COLOR) can take. (Made once: a refresh
            # forgets it, and making it walks every ancestor's styles.)
            style = self.rich_style
            strip = Strip(list(segments)).apply_style(style).adjust_cell_length(width, style)
            self._strips[number] = strip
        return strip
