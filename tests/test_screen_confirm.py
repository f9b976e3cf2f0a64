"""Confirmations say what moves: the step and weight of a promote, the repos and the next
wave of a rollback."""

from __future__ import annotations

from textual.widgets import Static

from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.widgets.rollouts import RolloutBoard
from maestro_control_room.widgets.waves import WaveBoard
from tests.conftest import AppFactory
from tests.test_app import started, text_of


async def test_promoting_a_paused_rollout_names_its_step_and_weight(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        board = app.query_one(RolloutBoard)
        board.focus()
        board.move_cursor(row=board._order.index("maestro-system/maestro-api"))
        await pilot.press("p")
        assert isinstance(app.screen, ConfirmScreen)
        plan = text_of(app.screen.query_one("#confirm-plan", Static))
        assert "paused: true → false" in plan
        assert "step: 3/8 → 4/8" in plan
        assert "weight: 25 % → 25 % (unchanged; 50 % at step 6/8)" in plan


async def test_rolling_back_a_wave_names_its_repos_and_the_next_wave(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        board = app.query_one(WaveBoard)
        assert board.has_focus and board.selected_key == "Wave-1"
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        plan = text_of(app.screen.query_one("#confirm-plan", Static))
        assert "state: active → rolled-back" in plan
        assert "repos on Maestro: 10/10 → 0/10 (10 back to legacy)" in plan
        assert "Wave-2  next eligible: T+2d 00:00 → blocked: Wave-1 rolled back" in plan
