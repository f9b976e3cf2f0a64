"""The Go/No-Go screen: the plan's gate matrix, live, with its sign-offs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Static

from ...cutover.gates import GoNoGo
from ...widgets.gates import GateBoard
from ...widgets.table import KeyedTable
from ..bindings import binding


class GateScreen(Screen[None]):
    """Every gate's checks, what blocks GO, and `s` to sign or withdraw the selected role."""

    BINDINGS = [
        Binding("escape,q,g", "dismiss", "Close", id="close-gates"),
        binding("sign_off"),
        Binding("enter", "check_detail", "Detail", id="check-detail",
                tooltip="The selected check in full: value, criterion, source and age"),
    ]  # fmt: skip

    class SignOff(Message):
        """The operator asks to sign, or withdraw, `role`'s sign-off."""

        def __init__(self, role: str) -> None:
            super().__init__()
            self.role = role

    class CheckDetailWanted(Message):
        """The operator asks for gate check `check` (`A/success-7d`) in full."""

        def __init__(self, check: str) -> None:
            super().__init__()
            self.check = check

    DEFAULT_CSS = """
    GateScreen { layout: vertical; }
    GateScreen > #gate-hint { height: 1; color: $text-muted; padding: 0 1; }
    """

    def __init__(self, board: GoNoGo | None, sign_key: str = "s") -> None:
        """`sign_key` is the sign-off key as mapped now, for the hint to name."""
        super().__init__()
        self._first = board
        self._sign_key = sign_key

    def compose(self) -> ComposeResult:
        yield Static("Go/No-Go gates", classes="panel-title")
        yield GateBoard(id="gates")
        yield Static(
            f"↑↓ select · Enter the check in full · {self._sign_key} sign off / withdraw the"
            " selected role · Esc closes",
            id="gate-hint",
            markup=False,
        )

    def on_mount(self) -> None:
        self.show(self._first)
        self.query_one(KeyedTable).focus()

    def show(self, board: GoNoGo | None) -> None:
        self.query_one(GateBoard).show(board)

    def action_sign_off(self) -> None:
        role = self.query_one(GateBoard).selected_role
        if role is None:
            self.notify("select a sign-off row (Go/No-Go sign-off) first", severity="warning")
            return
        self.post_message(self.SignOff(role))

    def action_check_detail(self) -> None:
        key = self.query_one(KeyedTable).selected_key
        if key is None or key.startswith("gate:"):
            self.notify("select a check (a row under a gate) first", severity="warning")
            return
        self.post_message(self.CheckDetailWanted(key))

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
