"""Boards: small tables whose rows are kept in step with the data by key, and redrawn one
line at a time.

Textual's DataTable renders every row again when any cell changes; on a board whose
values change every second that was most of the control room's CPU and of the bytes sent
over the link. Here each row is a cached strip, a change redraws that row's line only, and
a column widens (redrawing everything) only when a value no longer fits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

Cell = str | Text

#: Cells between two columns.
GAP = 2
#: Leads the cursor row of the board that has the keyboard.
FOCUS_MARKER = "▶"


def cell_width(cell: Cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


class KeyedTable(ScrollView, can_focus=True):
    """Rows keyed by a stable id, a header line, and a cursor that selects a row."""

    BINDINGS = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("home", "cursor_to(0)", "First", show=False),
        Binding("end", "cursor_to(-1)", "Last", show=False),
    ]

    COMPONENT_CLASSES = {"board--header", "board--cursor", "board--cursor-blurred"}

    DEFAULT_CSS = """
    KeyedTable { height: auto; max-height: 100%; overflow-x: hidden; }
    KeyedTable > .board--header { text-style: bold; background: $panel; }
    KeyedTable > .board--cursor { background: $accent 40%; }
    KeyedTable > .board--cursor-blurred { background: $boost; text-style: underline; }
    """

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        id: str | None = None,
        noun: str = "rows",
        count_hidden: bool = False,
    ) -> None:
        super().__init__(id=id)
        #: A board capped in height (50 waves, 200 rollouts) keeps its header in place and
        #: gives its last line to how many rows are out of view, above and below.
        self.count_hidden = count_hidden
        self.noun = noun
        self._columns = tuple(columns)
        self._widths = [cell_len(label) for _, label in self._columns]
        self._rows: dict[str, tuple[Cell, ...]] = {}
        self._order: list[str] = []
        self._strips: dict[str, Strip] = {}
        self._header: Strip | None = None
        self.cursor_row = 0

    # The data ---------------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return len(self._order)

    @property
    def selected_key(self) -> str | None:
        """The row key under the cursor, if any."""
        return self._order[self.cursor_row] if self._order else None

    def sync(self, rows: Mapping[str, tuple[Cell, ...]]) -> None:
        """Show `rows` in their order, redrawing only the lines that changed."""
        widened = False
        for cells in rows.values():
            for index, cell in enumerate(cells):
                width = cell_width(cell)
                if width > self._widths[index]:
                    self._widths[index] = width
                    widened = True
        order = list(rows)
        if widened or order != self._order:
            self._rows = dict(rows)
            self._order = order
            self._strips.clear()
            self._header = None
            self.cursor_row = min(self.cursor_row, max(0, len(order) - 1))
            self._resize_virtual()
            self.refresh()
            return
        for line, key in enumerate(order, start=1):
            if self._rows.get(key) != rows[key]:
                self._rows[key] = rows[key]
                self._strips.pop(key, None)
                self.refresh_line(line)

    def _resize_virtual(self) -> None:
        width = 1 + sum(self._widths) + GAP * len(self._widths)
        # The count's line takes one line of the view: one more to scroll so the last row
        # can come into view above it.
        self.virtual_size = Size(width, len(self._order) + 1 + (1 if self.overflows else 0))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        height = len(self._order) + 1  # the header and every row...
        cap = self.styles.max_height
        if self.count_hidden and cap is not None and not cap.is_auto:
            # ...up to the board's max-height, which an auto-height panel around it would
            # otherwise not see: it would grow by every row hidden below the count.
            height = min(height, int(cap.resolve(container, viewport)))
        return height

    def on_resize(self) -> None:
        if self.count_hidden:
            self._resize_virtual()

    @property
    def overflows(self) -> bool:
        """True when rows are out of view and the count's line shows how many."""
        height = self.size.height
        return self.count_hidden and height > 1 and len(self._order) + 1 > height

    @property
    def out_of_view(self) -> tuple[int, int]:
        """How many rows are above and below the view."""
        if not self.overflows:
            return 0, 0
        above = min(self.scroll_offset.y, len(self._order))
        shown = self.size.height - 2
        return above, max(0, len(self._order) - above - shown)

    # Selection --------------------------------------------------------------------------------

    def move_cursor(self, *, row: int) -> None:
        """Put the cursor on row `row` (0 is the first data row)."""
        if not self._order:
            return
        before = self.cursor_row
        self.cursor_row = max(0, min(row, len(self._order) - 1))
        for index in {before, self.cursor_row}:
            if index < len(self._order):
                self._strips.pop(self._order[index], None)
                self.refresh_line(index + 1)
        self.scroll_to_region_of(self.cursor_row + 1)

    def scroll_to_region_of(self, line: int) -> None:
        if self.overflows:
            # The header stays on the first line, the count on the last: rows between.
            row, top, shown = line - 1, self.scroll_offset.y, self.size.height - 2
            # Forced: the board hides its scrollbar (overflow-y: hidden), not its rows.
            if row >= top + shown:
                self.scroll_to(y=row - shown + 1, animate=False, force=True)
            elif row < top:
                self.scroll_to(y=row, animate=False, force=True)
            return
        if line - self.scroll_offset.y >= self.size.height:
            self.scroll_to(y=line - self.size.height + 1, animate=False)
        elif line - 1 < self.scroll_offset.y:
            self.scroll_to(y=max(0, line - 1), animate=False)

    def action_cursor(self, step: int) -> None:
        self.move_cursor(row=self.cursor_row + step)

    def action_cursor_to(self, row: int) -> None:
        self.move_cursor(row=row if row >= 0 else len(self._order) - 1)

    def on_focus(self) -> None:
        self._cursor_style_changed()

    def on_blur(self) -> None:
        self._cursor_style_changed()

    def _cursor_style_changed(self) -> None:
        if self._order:
            self._strips.pop(self._order[self.cursor_row], None)
            self.refresh_line(self.cursor_row + 1)

    # Drawing ----------------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        line = y + self.scroll_offset.y
        width = self.size.width
        if self.overflows:
            if y == self.size.height - 1:
                return self._count_strip(width)
            line = 0 if y == 0 else line  # the header stays in place
        if line == 0:
            if self._header is None:
                labels = [label for _, label in self._columns]
                style = self.get_component_rich_style("board--header")
                self._header = self._strip(labels, style)
            strip = self._header
            last = cell_width(self._columns[-1][1])
        elif line - 1 < len(self._order):
            key = self._order[line - 1]
            strip = self._strips.get(key) or self._row_strip(key, line - 1)
            last = cell_width(self._rows[key][-1])
        else:
            return Strip.blank(width, self.rich_style)
        shown = strip.crop_extend(self.scroll_offset.x, self.scroll_offset.x + width, None)
        used = 1 + sum(self._widths[:-1]) + GAP * (len(self._widths) - 1) + last
        if used > self.scroll_offset.x + width and width > 1:
            # A row wider than the board says so, rather than ending mid-word unmarked.
            cut = list(shown.crop(0, width - 1))
            return Strip([*cut, Segment("…", cut[-1].style if cut else None)], width)
        return shown

    def _count_strip(self, width: int) -> Strip:
        above, below = self.out_of_view
        parts = [f"{above + below} of {len(self._order)} {self.noun} out of view"]
        if above:
            parts.append(f"↑ {above}")
        if below:
            parts.append(f"↓ {below}")
        style = self.rich_style + Style(dim=True)
        text = Text(" " + " · ".join(parts), style=style, end="", no_wrap=True)
        segments = list(text.render(self.app.console))
        return Strip(segments).adjust_cell_length(width, style)

    def _row_strip(self, key: str, index: int) -> Strip:
        style = self.rich_style
        if index == self.cursor_row:
            name = "board--cursor" if self.has_focus else "board--cursor-blurred"
            style = style + self.get_component_rich_style(name)
        # The focused board's cursor row carries a marker: focus reads without colour too.
        marker = FOCUS_MARKER if index == self.cursor_row and self.has_focus else " "
        strip = self._strip(self._rows[key], style, marker)
        self._strips[key] = strip
        return strip

    def _strip(self, cells: Sequence[Cell], style: Style, marker: str = " ") -> Strip:
        line = Text(marker, style=style, end="", no_wrap=True)  # in line with the panel titles
        for cell, width in zip(cells, self._widths, strict=True):
            text = cell if isinstance(cell, Text) else Text(cell)
            line.append_text(text)
            line.append(" " * (width - text.cell_len + GAP))
        segments = list(line.render(self.app.console))
        total = max(self.size.width, 1 + sum(self._widths) + GAP * len(self._widths))
        return Strip(Segment.apply_style(segments, style)).adjust_cell_length(total, style)
