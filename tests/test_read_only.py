"""Read-only is airtight: every way to act is refused, and nothing reaches an effector."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding

from maestro_control_room.cutover.actions import plan_freeze
from maestro_control_room.cutover.pipeline import ReadOnly
from maestro_control_room.tui.app import ACTIONS, ControlRoomApp
from maestro_control_room.tui.bindings import CONTROL_ROOM_BINDINGS
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.widgets.rollouts import RolloutBoard
from maestro_control_room.widgets.waves import WaveBoard
from tests.conftest import AppFactory
from tests.test_app import started

ACTING_WORDS = ("Freeze", "Unfreeze", "Promote", "Abort", "Roll back", "Sign off", "Withdraw",
                "Acknowledge", "Silence")  # fmt: skip


def state_of(app: ControlRoomApp) -> dict[str, str]:
    """Every version the simulator holds: any effect on it changes one."""
    return dict(app.sources[0].simulator.versions())  # type: ignore[attr-defined]


@pytest.mark.parametrize("board", ["#wave-board", "#rollout-board"])
async def test_every_key_palette_entry_and_the_pipeline_refuse(
    make_app: AppFactory, tmp_path: Path, board: str
) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        before = state_of(app)
        selected = app.query_one(board, WaveBoard if board == "#wave-board" else RolloutBoard)
        selected.focus()
        selected.move_cursor(row=1)
        keys = [b for b in CONTROL_ROOM_BINDINGS if isinstance(b, Binding) and b.action in ACTIONS]
        assert {b.action for b in keys} == set(ACTIONS)
        for binding in keys:
            await pilot.press(binding.key)
            assert not isinstance(app.screen, ConfirmScreen), binding.action
        commands = [c for c in app.palette_commands() if c.title.startswith(ACTING_WORDS)]
        assert len(commands) >= 4 + 2 * (len(app.view.waves) + len(app.view.rollouts))  # type: ignore[union-attr]
        for command in commands:
            command.callback()
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen), command.title
        assert app.view is not None
        with pytest.raises(ReadOnly):
            await app.pipeline.execute(plan_freeze(app.view, "tester", "why"), app.view)
        app.ingest(app.sources[0].simulator.advance(0))  # type: ignore[attr-defined]
        assert state_of(app) == before
        assert not (tmp_path / "audit.jsonl").exists(), "nothing was even journalled"
        texts = [n.message for n in app._notifications]
        assert texts and all("read-only" in t for t in texts)


async def test_read_only_shows_the_playbook_and_refuses_every_step(
    make_app: AppFactory, tmp_path: Path
) -> None:
    """The playbook opens read-only (to watch the run), and every step's key, its skip and
    every palette entry is refused before any plan, journal entry or effector."""
    from maestro_control_room.cutover.playbook import STEPS
    from maestro_control_room.cutover.playbook_plans import plan_step
    from maestro_control_room.tui.screens.playbook import ExecUpdateScreen, PlaybookScreen
    from maestro_control_room.widgets.table import KeyedTable
    from tests.test_app import step

    app = make_app(read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await step(app, pilot, 300)  # the brownout's CVE fires
        assert app.view is not None and app.view.firing
        before = state_of(app)
        await pilot.press("b")
        screen = app.screen
        assert isinstance(screen, PlaybookScreen)
        table = screen.query_one(KeyedTable)
        tried = 0
        for row in range(len(STEPS)):
            table.action_cursor_to(row)
            for key in ("enter", "s"):
                await pilot.press(key)
                tried += 1
                assert app.screen is screen, (row, key)
                assert not isinstance(app.screen, ConfirmScreen | ExecUpdateScreen)
        await pilot.press("escape")
        commands = [
            c
            for c in app.palette_commands()
            if c.title.startswith(("Playbook step", "Skip playbook step"))
        ]
        assert len(commands) == 2 * len(STEPS)
        for command in commands:
            command.callback()
            tried += 1
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen | ExecUpdateScreen), command.title
        view = app.view
        with pytest.raises(ReadOnly):
            await app.pipeline.execute(plan_step(view, "export-logs", "tester"), view)
        app.ingest(app.sources[0].simulator.advance(0))  # type: ignore[attr-defined]
        assert state_of(app) == before
        assert not (tmp_path / "audit.jsonl").exists(), "nothing was even journalled"
        refused = [n for n in app._notifications if n.title == "Read-only"]
        assert len(refused) == tried and all("read-only" in n.message for n in refused)


async def test_the_detail_screens_keys_reach_no_effector_and_no_journal(
    make_app: AppFactory, tmp_path: Path
) -> None:
    from maestro_control_room.tui.screens.check_detail import CheckDetailScreen
    from maestro_control_room.tui.screens.detail import DetailScreen
    from maestro_control_room.tui.screens.gates import GateScreen
    from maestro_control_room.tui.screens.rollout_detail import RolloutDetailScreen
    from maestro_control_room.tui.screens.wave_detail import WaveDetailScreen
    from maestro_control_room.widgets.table import KeyedTable

    app = make_app(read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        before = state_of(app)
        acting = [
            b for b in CONTROL_ROOM_BINDINGS if isinstance(b, Binding) and b.action in ACTIONS
        ]

        async def drive(screen: DetailScreen[object]) -> None:
            """Every key of the detail screen and every acting key, then Esc out."""
            own = [b for b in screen.BINDINGS if isinstance(b, Binding) and b.key != "escape"]
            for binding in [*acting, *own]:
                for key in binding.key.split(","):
                    await pilot.press(key)
                    assert not isinstance(app.screen, ConfirmScreen), binding.action
            while isinstance(app.screen, DetailScreen):
                await pilot.press("escape")

        for board, kind in ((WaveBoard, WaveDetailScreen), (RolloutBoard, RolloutDetailScreen)):
            app.query_one(board).focus()
            await pilot.pause()
            await pilot.press("enter")
            await pilot.pause()
            assert isinstance(app.screen, kind)
            await drive(app.screen)
        await pilot.press("g")
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)
        app.screen.query_one(KeyedTable).move_cursor(row=1)  # the first gate's first check
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, CheckDetailScreen)
        await drive(app.screen)
        app.ingest(app.sources[0].simulator.advance(0))  # type: ignore[attr-defined]
        assert state_of(app) == before
        assert not (tmp_path / "audit.jsonl").exists(), "nothing was even journalled"
