"""Help: every key and what it does, as currently mapped."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    """Lists each binding: its keys, its id (for the keymap) and its description."""

    BINDINGS = [
        Binding("escape,q,question_mark", "dismiss", "Close", id="close-help"),
    ]

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 95%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, rows: Sequence[tuple[str, str, str]], notes: Sequence[str] = ()) -> None:
        super().__init__()
        self.rows = tuple(rows)
        self.notes = tuple(notes)

    def compose(self) -> ComposeResult:
        table = Table(title="Keys", box=None, padding=(0, 2), show_edge=False)
        table.add_column("key", style="bold")
        table.add_column("action")
        table.add_column("keymap id", style="dim")
        for keys, description, binding_id in self.rows:
            table.add_row(keys, description, binding_id)
        with VerticalScroll():
            yield Static(table, id="help-keys")
            for note in self.notes:
                yield Static(note)
            yield Static("Esc closes · remap keys in [ui.keymap] of config.toml", classes="dim")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
