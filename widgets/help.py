"""Help: every key and what it does, as currently mapped, drawn over the dashboard.

An overlay on the dashboard rather than a screen of its own: switching screens re-lays out
and repaints the whole dashboard when help closes, which made `?` slow to answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static


class HelpOverlay(VerticalScroll, can_focus=False):
    """Lists each binding: its keys, its id (for the keymap) and its description.

    It never takes focus: moving focus restyles the whole dashboard. `?`, `q` and Esc close
    it through the app's own keys."""

    DEFAULT_CSS = """
    HelpOverlay {
        layer: overlay; dock: top; visibility: hidden;
        width: 100%; max-width: 96; height: auto; max-height: 100%;
        margin: 1 2 0 2; padding: 0 1;
        border: round $primary; background: $surface;
    }
    HelpOverlay.-open { visibility: visible; }
    HelpOverlay > .help-note { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.rows: tuple[tuple[str, str, str], ...] = ()
        self.notes: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static("", id="help-keys")
        yield Static("", id="help-notes", classes="help-note")

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    def open(self, rows: Sequence[tuple[str, str, str]], notes: Sequence[str]) -> None:
        """Show the keys as they are mapped now, with notes on the mode and the config.

        Hidden, not removed from the layout, when closed: showing it again then needs no
        relayout, and its content is rendered again only when it changed."""
        if (tuple(rows), tuple(notes)) != (self.rows, self.notes):
            self._fill(rows, notes)
        self.add_class("-open")

    def _fill(self, rows: Sequence[tuple[str, str, str]], notes: Sequence[str]) -> None:
        self.rows, self.notes = tuple(rows), tuple(notes)
        table = Table(title="Keys", box=None, padding=(0, 2), show_edge=False, expand=False)
        table.add_column("key", style="bold")
        table.add_column("action")
        table.add_column("keymap id", style="dim")
        for keys, description, binding_id in self.rows:
            table.add_row(keys, description, binding_id)
        self.query_one("#help-keys", Static).update(table)
        footer = [*notes, "?, q or Esc closes · remap keys in [ui.keymap] of config.toml"]
        self.query_one("#help-notes", Static).update("\n".join(footer))

    def close(self) -> None:
        self.remove_class("-open")
