"""A DataTable kept in step with its data by row key, changing only cells that changed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import suppress

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, ColumnKey, RowDoesNotExist

Cell = str | Text


def cell_width(cell: Cell) -> int:
    return cell.cell_len if isinstance(cell, Text) else cell_len(cell)


class KeyedTable(DataTable[Cell]):
    """Rows keyed by a stable id; `sync` diffs instead of clearing and refilling."""

    DEFAULT_CSS = """
    KeyedTable { height: auto; max-height: 100%; }
    """

    def __init__(self, columns: Sequence[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._columns = columns
        self._rows: dict[str, tuple[Cell, ...]] = {}

    def on_mount(self) -> None:
        for key, label in self._columns:
            self.add_column(label, key=key)

    @property
    def selected_key(self) -> str | None:
        """The row key under the cursor, if any."""
        if not self._rows:
            return None
        try:
            key = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except CellDoesNotExist:
            return None
        return key

    def sync(self, rows: Mapping[str, tuple[Cell, ...]]) -> None:
        """Make the table show `rows`, in their order, touching only what changed."""
        for gone in [key for key in self._rows if key not in rows]:
            with suppress(RowDoesNotExist):
                self.remove_row(gone)
            del self._rows[gone]
        column_keys = [key for key, _ in self._columns]
        for key, cells in rows.items():
            before = self._rows.get(key)
            if before is None:
                self.add_row(*cells, key=key)
            elif before != cells:
                for column, old, new in zip(column_keys, before, cells, strict=True):
                    if old != new:
                        # Widening a column relayouts the table; most changes fit as they are.
                        wider = cell_width(new) > self.columns[ColumnKey(column)].content_width
                        self.update_cell(key, column, new, update_width=wider)
            self._rows[key] = cells
