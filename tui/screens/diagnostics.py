"""Diagnostics: each source's message counters and the latest payloads it rejected."""

from __future__ import annotations

from collections.abc import Mapping

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...cutover.updates import PayloadDiagnostics


def counters_line(diagnostics: PayloadDiagnostics) -> str:
    rejected = ", ".join(f"{n} {reason}" for reason, n in sorted(diagnostics.rejected.items()))
    line = (
        f"{diagnostics.source}: {diagnostics.received} received, {diagnostics.accepted} accepted,"
        f" {diagnostics.rejected_total} rejected"
    )
    if rejected:
        line += f" ({rejected})"
    if diagnostics.duplicates:
        line += f", {diagnostics.duplicates} heard twice (not counted again)"
    if diagnostics.dropped_for_display:
        line += f", {diagnostics.dropped_for_display} not shown (burst)"
    return line


class DiagnosticsScreen(ModalScreen[None]):
    """Lists, per source, what arrived and what broke the contract, newest first."""

    BINDINGS = [Binding("escape,q,d", "dismiss", "Close", id="close-diagnostics")]

    DEFAULT_CSS = """
    DiagnosticsScreen { align: center middle; }
    DiagnosticsScreen > VerticalScroll {
        width: 90%; height: auto; max-height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, diagnostics: Mapping[str, PayloadDiagnostics]) -> None:
        super().__init__()
        self.diagnostics = dict(diagnostics)

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Diagnostics: payloads that broke the contract", classes="panel-title")
            if not self.diagnostics:
                yield Static("No source reports message counters (MQTT is not enabled).")
            for source in sorted(self.diagnostics):
                diagnostics = self.diagnostics[source]
                yield Static(counters_line(diagnostics), id=f"counters-{source}", markup=False)
                table = Table(box=None, padding=(0, 1), show_edge=False, expand=True)
                table.add_column("at", style="dim", no_wrap=True)
                table.add_column("topic", no_wrap=True)
                table.add_column("reason", style="bold")
                table.add_column("detail")
                table.add_column("payload", style="dim", overflow="ellipsis", no_wrap=True)
                for rejected in reversed(diagnostics.recent):
                    # Text, not str: a payload's brackets are never read as Rich markup.
                    table.add_row(
                        f"{rejected.at:%H:%M:%S}",
                        Text(rejected.topic),
                        Text(rejected.reason),
                        Text(rejected.detail),
                        Text(rejected.excerpt),
                    )
                if diagnostics.recent:
                    yield Static(table, id=f"rejected-{source}")
            yield Static("Esc closes", classes="dim")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
