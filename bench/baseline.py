"""The naive baseline: six bordered panels of numbers, each repainted once a second.

Run beside the control room so its figures can be read as ratios on a noisy machine.
"""

from __future__ import annotations

import random

from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.screen import ModalScreen
from textual.widgets import Footer, Static


class NaiveHelp(ModalScreen[None]):
    BINDINGS = [("escape,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        yield Static("keys\n\nq quit\n? help\n\nkeymap id")


class NaiveDashboard(App[None]):
    CSS = """
    Grid { grid-size: 3 2; }
    Static { border: round $accent; height: 1fr; }
    """
    BINDINGS = [("q", "quit", "Quit"), ("question_mark", "help", "Help")]

    def compose(self) -> ComposeResult:
        with Grid():
            for index in range(6):
                yield Static(id=f"panel-{index}")
        yield Footer()

    def on_mount(self) -> None:
        self.rng = random.Random(1)
        self.set_interval(1.0, self.tick)
        self.tick()

    def tick(self) -> None:
        for panel in self.query(Static):
            lines = [f"metric {i}: {self.rng.random() * 100:8.2f}" for i in range(8)]
            panel.update("\n".join(lines))

    def action_help(self) -> None:
        self.push_screen(NaiveHelp())


if __name__ == "__main__":
    NaiveDashboard().run(mouse=False)
