"""Focus as a real terminal shows it. The dashboard repaints only what a focus change
touches, not the whole screen, so a widget that forgot to repaint itself would leave the
old focus on screen: after every Tab and every help, exactly one board reads as focused."""

from __future__ import annotations

import sys

from bench.terminal import PtyProgram, ScreenTimeout
from tests.conftest import CONFIG

HELP_OPEN = "keymap id"
TITLES = ("Rollback triggers", "Waves", "Rollouts", "Events ·")
MARKER = "▶"


def _focus_shown(pty: PtyProgram) -> tuple[set[str], list[str]]:
    """The panel titles drawn reversed, and the rows that lead with the cursor marker."""
    screen = pty.screen
    reversed_titles: set[str] = set()
    marked: list[str] = []
    for row in range(screen.lines):
        cells = screen.buffer[row]
        line = "".join(cells[column].data for column in range(screen.columns))
        for title in TITLES:
            if line.strip().startswith(title) and cells[line.index(title)].reverse:
                reversed_titles.add(title)
        if MARKER in line:
            marked.append(line.strip())
    return reversed_titles, marked


def _await_focus(pty: PtyProgram, title: str | None, marked_row: str | None) -> None:
    def shown(_: str) -> bool:
        titles, marked = _focus_shown(pty)
        expected_titles = set() if title is None else {title}
        if marked_row is None:
            return titles == expected_titles and not marked
        return titles == expected_titles and len(marked) == 1 and marked_row in marked[0]

    try:
        pty.wait_for(shown, 15)
    except ScreenTimeout as error:
        raise AssertionError(f"focus on screen: {_focus_shown(pty)}") from error


def test_every_tab_and_every_help_leaves_one_board_shown_focused() -> None:
    argv = [sys.executable, "-m", "maestro_control_room", "--config", str(CONFIG)]
    pty = PtyProgram(argv, columns=120, lines=36, cwd=str(CONFIG.parent))
    try:
        pty.wait_for(lambda screen: "Events ·" in screen and "maestro-system/" in screen, 60)
        _await_focus(pty, "Waves", "Wave-1")
        for title, row in (
            ("Rollouts", "maestro-"),
            ("Events ·", None),
            (None, "Queue p95"),  # the KPI row: no title, its chosen tile marked
            ("Rollback triggers", "Success rate under target"),
            ("Waves", "Wave-1"),
        ):
            pty.press(b"\t")
            _await_focus(pty, title, row)
        for _ in range(2):
            pty.press(b"?")
            pty.wait_for(lambda screen: HELP_OPEN in screen, 10)
            _await_focus(pty, None, None)  # the keyboard is help's filter's
            pty.press(b"?")
            pty.wait_for(lambda screen: HELP_OPEN not in screen, 10)
            _await_focus(pty, "Waves", "Wave-1")
    finally:
        pty.close()
