"""The audit screen: the journal's recent entries, newest first, under the chain's state."""

from __future__ import annotations

from pathlib import Path

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from ...cutover.audit import entry_changes, entry_operator, entry_outcome
from ...sources.journal import JournalError, JournalReport, read_journal

#: Entries shown; `audit show` prints them all.
RECENT = 200
COLUMNS = ("#", "time", "operator", "kind", "action", "target", "changes", "result")


class AuditScreen(ModalScreen[None]):
    """The journal as this control room reads it: whether its chain is intact, and what was
    done by whom, newest first. `r` reads it again."""

    BINDINGS = [
        Binding("escape,q,a", "dismiss", "Close", id="close-audit"),
        Binding("r", "reload", "Reload", id="reload-audit"),
    ]

    DEFAULT_CSS = """
    AuditScreen { align: center middle; }
    AuditScreen > #audit-dialog {
        width: 95%; height: 90%; border: thick $primary; background: $surface; padding: 0 1;
    }
    AuditScreen #audit-status { text-style: bold; height: auto; }
    AuditScreen #audit-status.-broken { color: $error; }
    AuditScreen #audit-status.-intact { color: $success; }
    AuditScreen #audit-path, AuditScreen #audit-hint { color: $text-muted; height: auto; }
    AuditScreen DataTable { height: 1fr; }
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self.report: JournalReport | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="audit-dialog"):
            # What the journal holds is text, never markup: a note or a damaged line may
            # carry square brackets.
            yield Static("", id="audit-status", markup=False)
            yield Static(str(self.path), id="audit-path", markup=False)
            table: DataTable[Text] = DataTable(id="audit-table", cursor_type="row")
            table.add_columns(*COLUMNS)
            yield table
            yield Static("Esc closes · r reloads", id="audit-hint")

    def on_mount(self) -> None:
        self.action_reload()
        self.query_one(DataTable).focus()

    def action_reload(self) -> None:
        """Read the journal again and show its state."""
        status = self.query_one("#audit-status", Static)
        table: DataTable[Text] = self.query_one("#audit-table", DataTable)
        table.clear()
        if not self.path.exists():
            self.report = None
            status.set_classes("-intact")
            status.update("no journal yet: nothing has been done from a control room here")
            return
        try:
            report = read_journal(self.path)
        except JournalError as error:
            self.report = None
            status.set_classes("-broken")
            status.update(f"unreadable: {error}")
            return
        self.report = report
        status.set_classes("-intact" if report.result.ok else "-broken")
        if not report.entries:
            status.update("no entries yet: nothing has been done from a control room here")
        else:
            status.update(str(report.result))
        for number, entry in list(reversed(report.entries))[:RECENT]:
            if isinstance(entry, str):
                blank = [Text("")] * 6
                table.add_row(Text(str(number)), *blank, Text(f"line {number}: {entry}"))
                continue
            cells = (
                str(entry.get("seq", "")),
                str(entry.get("ts", "")),
                entry_operator(entry),
                str(entry.get("kind", "")),
                str(entry.get("action", "")),
                str(entry.get("target", "")),
                entry_changes(entry),
                entry_outcome(entry),
            )
            table.add_row(*(Text(cell) for cell in cells))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
