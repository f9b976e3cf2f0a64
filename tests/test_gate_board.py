"""The Go/No-Go screen, driven from the keyboard on the simulator."""

from __future__ import annotations

from pathlib import Path

from maestro_control_room.cutover.gates import CheckKind, Verdict
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.tui.screens.gates import GateScreen
from maestro_control_room.widgets.gates import GateBoard
from maestro_control_room.widgets.table import KeyedTable
from tests.conftest import AppFactory
from tests.test_app import started


def board_keys(app: ControlRoomApp) -> list[str]:
    return list(app.screen.query_one(KeyedTable)._order)


def select(app: ControlRoomApp, key: str) -> None:
    table = app.screen.query_one(KeyedTable)
    table.move_cursor(row=board_keys(app).index(key))


async def test_g_shows_the_plans_gate_matrix_and_what_blocks(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("g")
        assert isinstance(app.screen, GateScreen)
        keys = board_keys(app)
        for gate in ("A", "B", "C", "D", "E", "F", "G", "H", "Sign-off"):
            assert f"gate:{gate}" in keys
        assert "A/queue-p95" in keys and "Sign-off/exec-sponsor" in keys
        board = app.screen.query_one(GateBoard).board
        assert board is not None and board.verdict is not Verdict.GO
        verdict = str(app.screen.query_one("#verdict").render())
        assert verdict.strip().startswith(board.verdict.value)
        first = board.blockers[0]
        assert f"{first.spec.gate} {first.spec.title}" in verdict
        await pilot.press("escape")
        assert not isinstance(app.screen, GateScreen)


async def test_the_board_follows_the_room_while_open(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("g")
        screen = app.screen
        assert isinstance(screen, GateScreen)
        board = screen.query_one(GateBoard)
        before = board.board
        app.refresh_view()
        await pilot.pause()
        assert board.board is not before
        assert board.board == app.view.gates  # type: ignore[union-attr]


async def test_read_only_refuses_a_sign_off(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("g")
        select(app, "Sign-off/security")
        await pilot.press("s")
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("read-only" in n.message for n in app._notifications)
        assert not (tmp_path / "audit.jsonl").exists()


async def test_s_off_a_sign_off_row_says_what_to_select(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("g")
        select(app, "A/queue-p95")
        await pilot.press("s")
        assert isinstance(app.screen, GateScreen)
        assert any("sign-off row" in n.message for n in app._notifications)


def test_signoff_checks_name_the_plans_roles(make_app: AppFactory) -> None:
    app = make_app()
    roles = [c.role for g in app.settings.gates for c in g.checks if c.kind is CheckKind.SIGNOFF]
    assert roles == ["Security", "SRE", "Platform", "App Eng", "Compliance/Legal", "Exec Sponsor"]
