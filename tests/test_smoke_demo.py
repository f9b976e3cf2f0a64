"""The demo on the simulator: the smoke suite red during the registry brownout and green after,
the Definition of Done's green streak restarting at the breach, the gate board blocking, the
smoke and Definition of Done screens, and the handover carrying them."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from maestro_control_room.cutover.gates import CheckState
from maestro_control_room.cutover.smoke import RunState
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.tui.screens.done import DoneScreen
from maestro_control_room.tui.screens.smoke import RecentRunsScreen, SmokeScreen
from maestro_control_room.widgets.smoke import RunBoard, SmokeBoard
from tests.conftest import AppFactory
from tests.realstack import gate_state, until
from tests.test_app import started, step


def smoke_line(app: ControlRoomApp) -> str:
    return str(app.query_one("#smoke-line", Static).render())


def done_line(app: ControlRoomApp) -> str:
    return str(app.query_one("#done-line", Static).render())


def state_of(app: ControlRoomApp, test: str) -> RunState | None:
    view = app.view.verification if app.view is not None else None
    row = view.test(test) if view is not None else None
    return None if row is None else row.state


async def test_the_suite_goes_red_in_the_brownout_and_green_after(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        assert smoke_line(app).startswith("Smoke 12/12 passed")
        assert "SLOs green 1d 2h/14d" in done_line(app)
        assert gate_state(app, "A/smoke-suite") is CheckState.PASS
        # Three minutes in, the registry has been browning out for a minute.
        await step(app, pilot, 200)
        assert state_of(app, "artifact-publish") is RunState.FAILED
        assert state_of(app, "staging-deploy") is RunState.FAILED
        # The registry-outage negative test passes: the platform degrades as it should.
        assert state_of(app, "registry-outage") is RunState.PASSED
        assert "FAILED artifact-publish, staging-deploy" in smoke_line(app)
        assert gate_state(app, "A/smoke-suite") is CheckState.FAIL
        assert gate_state(app, "D/staging-deploy") is CheckState.FAIL
        assert gate_state(app, "D/promotion-gate") is CheckState.PASS
        # The hotfix went out without its evidence: gate C blocks on it.
        assert gate_state(app, "C/deploy-evidence") is CheckState.FAIL
        assert "NO EVIDENCE" in smoke_line(app)
        # The brownout's breach restarted a KPI's green streak.
        await step(app, pilot, 120)
        done = app.view.done if app.view is not None else None
        assert done is not None
        breached = [s for s in done.streaks if s.last_breach is not None]
        assert breached, "no KPI breached during the brownout"
        assert "SLOs green 1d 2h/14d" not in done_line(app)
        # After the brownout (six minutes long), the suite is green again.
        await step(app, pilot, 360)
        assert state_of(app, "artifact-publish") is RunState.PASSED
        assert smoke_line(app).startswith("Smoke 12/12 passed")
        assert gate_state(app, "A/smoke-suite") is CheckState.PASS
        # The streaks that broke run again from after the breach, far from 14 days.
        done = app.view.done if app.view is not None else None
        assert done is not None
        for streak in done.streaks:
            if streak.last_breach is not None and streak.since is not None:
                assert streak.since > streak.last_breach


async def test_t_opens_the_board_and_enter_a_tests_recent_runs(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await step(app, pilot, 180)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, SmokeScreen), "the smoke screen")
        board = app.screen.query_one(SmokeBoard)
        assert board.row_count == 12 and board.has_focus
        # The dispatch keys work here too; Esc cancels.
        await pilot.press("n")
        await until(
            pilot, lambda: isinstance(app.screen, ConfirmScreen), "the dry run's confirmation"
        )
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, SmokeScreen), "back to the board")
        await pilot.press("down", "down")  # artifact publish, the third test
        assert board.selected_key == "artifact-publish"
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RecentRunsScreen), "the test's runs")
        runs = app.screen.query_one(RunBoard)
        assert runs.row_count >= 3
        title = str(app.screen.query_one("#runs-title", Static).render())
        assert title.startswith("Artifact publish + SBOM attach: FAILED")
        await pilot.press("escape", "escape")
        await until(pilot, lambda: len(app.screen_stack) == 1, "back to the dashboard")
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, DoneScreen), "the Definition of Done")
        title = str(app.screen.query_one("#done-title", Static).render())
        assert title.startswith("DoD not yet:")


async def test_r_on_the_simulator_runs_the_suite_now_after_its_intent(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        view = app.view.verification if app.view is not None else None
        assert view is not None
        before = len(view.test("e2e").runs)  # type: ignore[union-attr]
        await pilot.press("r")
        await pilot.press("enter")
        journal = tmp_path / "audit.jsonl"
        await until(pilot, lambda: journal.exists() and len(journal.read_text().splitlines()) == 2,
                    "the intent and result")  # fmt: skip
        await until(
            pilot,
            lambda: len(app.view.verification.test("e2e").runs) == before + 1,  # type: ignore[union-attr]
            "a run of the suite",
        )
        assert '"action":"dispatch workflow"' in journal.read_text().splitlines()[0]


async def test_the_handover_carries_the_definition_of_done_and_the_suite(
    make_app: AppFactory,
) -> None:
    from maestro_control_room.tui.handover import ShiftRecord, render

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        assert app.view is not None
        record = ShiftRecord(view=app.view, trigger_log=(), trigger_log_from=None, name="m",
                             operator="tester", journal=None)  # fmt: skip
        text = render(record, app.view.now, app.view.now)
        assert "## Definition of Done" in text and "## Smoke suite, drills and deploys" in text
        assert "Tier-0/1 services build on Maestro by default: **fail**" in text
        assert "| Artifact publish + SBOM attach | passed |" in text
        assert "| Rollback to legacy | passed | witness-rollback-" in text
