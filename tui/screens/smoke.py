"""The smoke screen: the plan's smoke suite, the drills and the CD deploys, live.

Enter on a test opens its recent runs. `r` dispatches the smoke suite and `n` the CD
workflow's dry run (`no_op=true`), both through the app's action pipeline; prod deploys are
shown here, never started.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from ...cutover.durations import format_duration
from ...cutover.smoke import SmokeRow, VerificationView
from ...widgets.smoke import DeployBoard, DrillBoard, RunBoard, SmokeBoard, smoke_row


class SmokeScreen(Screen[None]):
    """The smoke suite, drills and deploys; Enter opens a test's recent runs."""

    BINDINGS = [
        Binding("escape,q,t", "dismiss", "Close", id="close-smoke"),
        Binding("enter", "open_test", "Recent runs", id="open_test",
                tooltip="The selected test's recent runs"),
        Binding("tab", "next_board", "Next board", id="smoke_next_board", show=False,
                priority=True),
    ]  # fmt: skip
    # r and n are the app's own keys (run_smoke, cd_dry_run), on here as on the dashboard.

    DEFAULT_CSS = """
    SmokeScreen { layout: vertical; }
    SmokeScreen > VerticalScroll { height: 1fr; }
    SmokeScreen KeyedTable { height: auto; }
    SmokeScreen > #smoke-hint { height: 1; color: $text-muted; padding: 0 1; }
    """

    class OpenTest(Message):
        def __init__(self, row: SmokeRow) -> None:
            super().__init__()
            self.row = row

    def __init__(
        self,
        view: VerificationView | None,
        run_key: str = "r",
        dry_run_key: str = "n",
        next_key: str = "Tab",
    ) -> None:
        """`run_key`, `dry_run_key`, `next_key`: the app's run_smoke, cd_dry_run and
        next_board keys as mapped, for the hint to name."""
        super().__init__()
        self._first = view
        self._keys = run_key, dry_run_key, next_key
        self.view: VerificationView | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("Smoke suite", id="smoke-title", classes="panel-title", markup=False)
            yield SmokeBoard(id="smoke-board")
            yield Static("Drills", id="drills-title", classes="panel-title", markup=False)
            yield DrillBoard(id="drill-board")
            yield Static(
                "Deploys (cd.yml, auto-pin-and-deploy.yml): shown here, started by CD",
                classes="panel-title",
            )
            yield DeployBoard(id="deploy-board")
        yield Static(
            f"↑↓ select · Enter recent runs · {self._keys[0]} run the suite"
            f" · {self._keys[1]} CD dry run · {self._keys[2]} next board · Esc closes",
            id="smoke-hint",
            markup=False,
        )

    def on_mount(self) -> None:
        self.show(self._first)
        self.query_one(SmokeBoard).focus()

    def show(self, view: VerificationView | None) -> None:
        if view is None:
            return
        self.view = view
        age = format_duration(view.max_age)
        drill_age = format_duration(view.drill_max_age)
        self.query_one("#smoke-title", Static).update(
            f"Smoke suite {view.suite} · stale after {age} · {view.line}"
        )
        self.query_one("#drills-title", Static).update(f"Drills · stale after {drill_age}")
        self.query_one(SmokeBoard).show(view)
        self.query_one(DrillBoard).show(view)
        self.query_one(DeployBoard).show(view)
        for screen in self.app.screen_stack:
            if isinstance(screen, RecentRunsScreen):
                row = view.test(screen.test_id)
                if row is not None:
                    screen.show(row)

    def action_next_board(self) -> None:
        boards = [self.query_one(SmokeBoard), self.query_one(DrillBoard),
                  self.query_one(DeployBoard)]  # fmt: skip
        focused = next((i for i, b in enumerate(boards) if b.has_focus), -1)
        boards[(focused + 1) % len(boards)].focus()

    def action_open_test(self) -> None:
        board = self.query_one(SmokeBoard)
        if not board.has_focus or self.view is None:
            return
        key = board.selected_key
        row = self.view.test(key) if key else None
        if row is not None:
            self.app.push_screen(RecentRunsScreen(row))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


class RecentRunsScreen(Screen[None]):
    """One test's recent runs, newest first."""

    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="close-runs")]

    DEFAULT_CSS = """
    RecentRunsScreen { layout: vertical; }
    RecentRunsScreen > #runs-hint { height: 1; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, row: SmokeRow) -> None:
        super().__init__()
        self.test_id = row.test.id
        self._first = row

    def compose(self) -> ComposeResult:
        yield Static("", id="runs-title", classes="panel-title", markup=False)
        yield RunBoard(id="run-board")
        yield Static("Esc closes", id="runs-hint")

    def on_mount(self) -> None:
        self.show(self._first)
        self.query_one(RunBoard).focus()

    def show(self, row: SmokeRow) -> None:
        cells = smoke_row(row)
        title = f"{row.test.title}: {cells[1]} {row.when_text} · streak {row.streak_text}"
        self.query_one("#runs-title", Static).update(title)
        self.query_one(RunBoard).show(row.runs)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
