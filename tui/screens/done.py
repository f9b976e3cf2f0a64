"""The Definition of Done (plan §1) in full: each item, and every KPI's green streak."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from ...cutover.done import DefinitionOfDone
from ...widgets.smoke import DoneBoard


class DoneScreen(Screen[None]):
    """Tier-0/1 on Maestro, the rollback path, two weeks of green SLOs, the sign-offs."""

    BINDINGS = [Binding("escape,q,o", "dismiss", "Close", id="close-done")]

    DEFAULT_CSS = """
    DoneScreen { layout: vertical; }
    DoneScreen > #done-hint { height: 1; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, done: DefinitionOfDone | None) -> None:
        super().__init__()
        self._first = done

    def compose(self) -> ComposeResult:
        yield Static("Definition of Done", id="done-title", classes="panel-title", markup=False)
        yield DoneBoard(id="done-board")
        yield Static("A breach restarts a KPI's green streak · Esc closes", id="done-hint")

    def on_mount(self) -> None:
        self.show(self._first)
        self.query_one(DoneBoard).focus()

    def show(self, done: DefinitionOfDone | None) -> None:
        if done is None:
            return
        self.query_one("#done-title", Static).update(done.line)
        self.query_one(DoneBoard).show(done)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
