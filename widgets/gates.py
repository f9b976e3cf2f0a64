"""The Go/No-Go board: the verdict, then each gate and its checks with value and reason."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ..cutover.gates import CheckKind, CheckResult, CheckState, GateResult, GoNoGo
from .status import CHECK_MARK, VERDICT_STYLE
from .table import Cell, KeyedTable

GATE_COLUMNS = (
    ("check", "Gate / check"),
    ("state", "State"),
    ("value", "Value"),
    ("why", "Why not"),
    ("criterion", "Passes when"),
)


def gate_row(gate: GateResult) -> tuple[Cell, ...]:
    mark, style = CHECK_MARK[gate.state]
    title = Text(f"{gate.spec.id}  {gate.spec.title}", style="bold")
    return (title, Text(mark, style=style), "", "", "")


def check_row(check: CheckResult) -> tuple[Cell, ...]:
    mark, style = CHECK_MARK[check.state]
    if not check.spec.required:
        mark += " (optional)"
        style = "dim"
    return ("   " + check.spec.title, Text(mark, style=style), check.value, check.reason,
            check.spec.criterion)  # fmt: skip


def board_rows(board: GoNoGo) -> dict[str, tuple[Cell, ...]]:
    """One row per gate, then one per check under it, keyed by gate id and check key."""
    rows: dict[str, tuple[Cell, ...]] = {}
    for gate in board.gates:
        rows[f"gate:{gate.spec.id}"] = gate_row(gate)
        for check in gate.checks:
            rows[check.spec.key] = check_row(check)
    return rows


def verdict_text(board: GoNoGo | None) -> Text:
    if board is None:
        return Text("No gates are configured.", style="dim")
    text = Text()
    text.append(f" {board.verdict.value} ", style=VERDICT_STYLE[board.verdict] + " reverse")
    blockers = board.blockers
    if not blockers:
        text.append("  every required check passes and every role has signed")
        return text
    failing = sum(1 for b in blockers if b.state is CheckState.FAIL)
    unknown = len(blockers) - failing
    parts = [f"{failing} failing"] if failing else []
    parts += [f"{unknown} unknown"] if unknown else []
    text.append(f"  blocked by {' and '.join(parts)}: ")
    text.append("; ".join(board.blocker_lines()[:4]))
    if len(blockers) > 4:
        text.append(f"; {len(blockers) - 4} more")
    return text


class GateBoard(Vertical):
    """The verdict line above the gate table."""

    DEFAULT_CSS = """
    GateBoard { height: 1fr; }
    GateBoard > #verdict { height: auto; padding: 0 1; }
    GateBoard > KeyedTable { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._verdict: Text | None = None
        self.board: GoNoGo | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="verdict", markup=False)
        yield KeyedTable(GATE_COLUMNS, id="gate-table")

    def show(self, board: GoNoGo | None) -> None:
        self.board = board
        verdict = verdict_text(board)
        if verdict != self._verdict:
            self._verdict = verdict
            self.query_one("#verdict", Static).update(verdict)
        self.query_one(KeyedTable).sync(board_rows(board) if board is not None else {})

    @property
    def selected_role(self) -> str | None:
        """The sign-off role under the cursor, if the cursor is on a sign-off."""
        key = self.query_one(KeyedTable).selected_key
        if self.board is None or key is None:
            return None
        for gate in self.board.gates:
            for check in gate.checks:
                if check.spec.key == key and check.spec.kind is CheckKind.SIGNOFF:
                    return check.spec.role
        return None
