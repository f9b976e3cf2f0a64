"""Enter on a wave, a rollout or a gate check: the row in full, driven as an operator
drives it, on the simulator with a held clock."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Static

from maestro_control_room.cutover.waves import RepoState
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.screens.check_detail import CheckDetailScreen
from maestro_control_room.tui.screens.gates import GateScreen
from maestro_control_room.tui.screens.rollout_detail import RolloutDetailScreen
from maestro_control_room.tui.screens.wave_detail import RepoTable, WaveDetailScreen
from maestro_control_room.widgets.rollouts import RolloutBoard
from maestro_control_room.widgets.table import KeyedTable
from maestro_control_room.widgets.waves import WaveBoard
from tests.conftest import CONFIG, AppFactory
from tests.test_app import actions_done, started, step

WORKBOOK = CONFIG.parent / "sources/sim/data/workbook.csv"


def shown(widget: Static) -> str:
    """What a Static shows, line by line, as plain text."""
    return "\n".join(strip.text for strip in widget.render_lines(widget.region.reset_offset))


def table_text(table: KeyedTable) -> str:
    return "\n".join(table.render_line(y).text for y in range(table.size.height))


async def select(pilot: Pilot[None], board: KeyedTable, key: str) -> None:
    board.focus()
    board.move_cursor(row=0)
    await pilot.pause()
    for _ in range(board.row_count):
        if board.selected_key == key:
            return
        await pilot.press("down")
    assert board.selected_key == key, f"no row {key} on {pilot.app.screen}"


async def open_wave(app: ControlRoomApp, pilot: Pilot[None], wave: str) -> WaveDetailScreen:
    await select(pilot, app.query_one(WaveBoard), wave)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, WaveDetailScreen)
    return app.screen


async def test_enter_on_a_wave_lists_every_repo_with_state_shadow_owner_tier_and_blockers(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        screen = await open_wave(app, pilot, "Wave-1")
        table = screen.query_one(RepoTable)
        rows = app.settings.workbook.repos("Wave-1")
        assert table.row_count == len(rows) > 0
        # Blocked repositories come first, and the line below gives the blockers in full.
        first = next(row for row in rows if row.repo == table.selected_key)
        assert first.blockers
        below = shown(screen.query_one("#wave-selected", Static))
        assert first.repo in below and first.owner in below and f"Tier-{first.tier}" in below
        assert all(blocker in below for blocker in first.blockers)
        listing = table_text(table)
        assert "Repository" in listing and "Shadow" in listing and "Owner" in listing
        # The filter narrows the list; Esc leaves the filter, then closes.
        await pilot.press("slash", *"blocked")
        blocked = [row for row in rows if row.blockers]
        assert table.row_count == len(blocked) < len(rows)
        await pilot.press("escape")
        assert table.has_focus and isinstance(app.screen, WaveDetailScreen)
        assert screen.query_one(Input).value == "blocked"
        await pilot.press("end")
        assert table.selected_key == sorted(blocked, key=lambda r: (r.tier, r.repo))[-1].repo
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, WaveDetailScreen)


async def test_the_wave_detail_follows_the_room_while_it_is_open(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        wave = next(w for w in app.view.waves if w.state.value == "canary")  # type: ignore[union-attr]
        screen = await open_wave(app, pilot, wave.wave)
        before = screen.detail.count_by_state()
        assert before[RepoState.CANARY] > 0
        # Another control room rolls the wave back: its repositories go back to legacy.
        simulator = app.sources[0].simulator  # type: ignore[attr-defined]
        simulator.do_roll_back_wave(wave.wave, "alice")
        await step(app, pilot, 1)
        after = screen.detail.count_by_state()
        assert after[RepoState.CANARY] == 0 and after[RepoState.LEGACY] > before[RepoState.LEGACY]
        assert screen.detail.wave.state.value == "rolled-back"
        head = shown(screen.query_one("#wave-headline", Static))
        counts = screen.detail.count_by_state()
        assert all(f"{state.value} {n}" in head for state, n in counts.items())


async def test_square_brackets_in_a_repo_owner_or_blocker_show_as_text(
    make_app: AppFactory, tmp_path: Path
) -> None:
    text = WORKBOOK.read_text()
    header, first, *rest = text.splitlines()
    cells = first.split(",")
    cells[0], cells[2], cells[8] = "[bold]pay/[/]svc", "[red]a.rivera", "needs [/] fix; [blink]x"
    workbook = tmp_path / "workbook.csv"
    workbook.write_text("\n".join([header, ",".join(cells), *rest]) + "\n")
    app = make_app(waves={"workbook": str(workbook)})
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        screen = await open_wave(app, pilot, cells[9])
        table = screen.query_one(RepoTable)
        await select(pilot, table, "[bold]pay/[/]svc")
        await pilot.pause()
        below = shown(screen.query_one("#wave-selected", Static))
        assert "[bold]pay/[/]svc" in below and "[red]a.rivera" in below
        assert "needs [/] fix; [blink]x" in below
        assert "[bold]pay/[/]svc" in table_text(table)


async def open_rollout(app: ControlRoomApp, pilot: Pilot[None], key: str) -> RolloutDetailScreen:
    await select(pilot, app.query_one(RolloutBoard), key)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, RolloutDetailScreen)
    return app.screen


async def test_enter_on_a_rollout_shows_steps_runs_revision_and_the_journalled_actions(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        key = "maestro-system/maestro-api"
        await select(pilot, app.query_one(RolloutBoard), key)
        await pilot.press("p", *"maestro-api", "enter")  # promote past the indefinite pause
        await actions_done(app, pilot)
        await step(app, pilot, 60)  # the analysis step starts its run
        screen = await open_rollout(app, pilot, key)
        steps = shown(screen.query_one("#rollout-steps", Static))
        assert "pause until promoted" in steps and "pause 2m" in steps
        assert "▶  4  analysis (success-rate)" in steps and "← current (analysis Running)" in steps
        assert "✓  3  pause until promoted" in steps
        assert "weight  25%" in steps
        runs = shown(screen.query_one("#rollout-runs", Static))
        assert "Running" in runs and "maestro-api-2-4" in runs and "step  4" in runs
        head = shown(screen.query_one("#rollout-headline", Static))
        assert "revision 2" in head and "ghcr.io/intelgraph/maestro-api:2.14.0" in head
        actions = shown(screen.query_one("#rollout-actions", Static))
        assert "promote rollout" in actions and "by tester@" in actions and "ok:" in actions
        # While open it follows the rollout: an abort shows with its run failed.
        await pilot.press("escape")
        await pilot.press("x", *"maestro-api", "enter")
        await actions_done(app, pilot)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, RolloutDetailScreen)
        runs = shown(app.screen.query_one("#rollout-runs", Static))
        assert "Failed" in runs and "the rollout was aborted" in runs
        steps = shown(app.screen.query_one("#rollout-steps", Static))
        assert "▶  4  analysis (success-rate)" in steps and "(aborted here)" in steps
        actions = shown(app.screen.query_one("#rollout-actions", Static))
        assert "abort rollout" in actions


async def test_the_freeze_that_paused_a_rollout_is_among_its_actions(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await pilot.press("f", "enter")
        await actions_done(app, pilot)
        screen = await open_rollout(app, pilot, "maestro-runners/executor-controller")
        actions = shown(screen.query_one("#rollout-actions", Static))
        assert "freeze" in actions and "by tester@" in actions


async def open_check(app: ControlRoomApp, pilot: Pilot[None], key: str) -> CheckDetailScreen:
    await pilot.press("g")
    await pilot.pause()
    assert isinstance(app.screen, GateScreen)
    await select(pilot, app.screen.query_one(KeyedTable), key)
    await pilot.press("enter")
    await pilot.pause()
    assert isinstance(app.screen, CheckDetailScreen)
    return app.screen


async def test_enter_on_a_gate_check_shows_value_criterion_source_and_age(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await step(app, pilot, 30)  # the simulator's probes have answered
        board = app.view.gates  # type: ignore[union-attr]
        assert board is not None
        check = next(c for g in board.gates for c in g.checks if c.spec.kind.value == "promql")
        screen = await open_check(app, pilot, check.spec.key)
        text = shown(screen.query_one("#check-fields", Static))
        assert f"Value        {check.value}" in text
        assert f"Passes when  {check.spec.criterion}" in text
        assert "Source       sim" in text, text
        assert f"Measured     {app.view.now:%Y-%m-%d %H:%M:%S}" in text  # type: ignore[union-attr]
        assert "Age          just now" in text and check.spec.expr[:40] in text
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, GateScreen)


async def test_a_check_gone_stale_says_why_it_is_unknown(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await step(app, pilot, 30)
        board = app.view.gates  # type: ignore[union-attr]
        assert board is not None
        check = next(c for g in board.gates for c in g.checks if c.spec.kind.value == "promql")
        screen = await open_check(app, pilot, check.spec.key)
        # The simulated clock moves on, and nothing it measured reaches the room.
        app.sources[0].simulator.advance(120)  # type: ignore[attr-defined]
        app.refresh_view()
        await pilot.pause()
        text = shown(screen.query_one("#check-fields", Static))
        assert "unknown" in shown(screen.query_one("#check-headline", Static))
        assert "Why unknown  stale" in text and "never passed" in text
        assert "2m" in text  # its age, on the room's clock


async def test_a_refresh_right_after_enter_waits_for_the_detail_to_be_drawn(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        board = app.query_one(WaveBoard)
        board.focus()
        await pilot.pause()
        app.dashboard.action_detail()  # pushed: composed at the next turn of the loop
        app.refresh_view()  # a source's delivery before that turn
        await pilot.pause()
        assert isinstance(app.screen, WaveDetailScreen)
        assert app.screen.query_one(RepoTable).row_count > 0


@pytest.mark.parametrize(
    ("action", "screen_name"),
    [
        ("detail", "TriggerDetailScreen"),
        ("gates", "GateScreen"),
        ("smoke", "SmokeScreen"),
        ("done", "DoneScreen"),
    ],
)
async def test_a_refresh_right_after_a_screen_opens_waits_for_it_to_be_drawn(
    make_app: AppFactory, action: str, screen_name: str
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        app.query_one("#trigger-table", KeyedTable).focus()
        await pilot.pause()
        getattr(app.dashboard, f"action_{action}")()
        app.refresh_view()  # before the screen's first turn: it has no widgets yet
        await pilot.pause()
        assert type(app.screen).__name__ == screen_name
