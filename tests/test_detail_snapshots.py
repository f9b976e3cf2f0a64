"""Snapshots of the detail screens (Enter on a row) at 80x24 and 120x36: the acknowledged
CVE trigger of the brownout and the success-rate trigger's chart; a canary wave's
repositories; a rollout promoted into its analysis step, with the journal's promote; a gate
check gone stale, saying why it is unknown; the rollback playbook part-way through its run.

Regenerate after an intended change of the screen with
`pytest tests/test_detail_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from maestro_control_room.cutover.audit import Operator
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.widgets.rollouts import RolloutBoard
from maestro_control_room.widgets.table import KeyedTable
from tests.conftest import AppFactory
from tests.test_app import actions_done, started, step
from tests.test_details import open_check, open_rollout, open_wave, select

SIZES = [(80, 24), (120, 36)]
IDS = ["80x24", "120x36"]


def _detail_of(trigger: str, *, acknowledge: bool) -> Callable[[Pilot[None]], Any]:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, ControlRoomApp)
        await started(app, pilot)
        await step(app, pilot, 300)  # the brownout: the CVE at 4 minutes
        table = app.query_one("#trigger-table", KeyedTable)
        table.focus()
        while table.selected_key != trigger:
            await pilot.press("down")
        if acknowledge:
            await pilot.press("A", "enter")
            await actions_done(app, pilot)
        await pilot.press("enter")
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_cve_trigger_detail(
    size: tuple[int, int], make_app: AppFactory, snap_compare: Callable[..., Any]
) -> None:
    run_before = _detail_of("critical-cve", acknowledge=True)
    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_threshold_trigger_detail(
    size: tuple[int, int], make_app: AppFactory, snap_compare: Callable[..., Any]
) -> None:
    run_before = _detail_of("success-rate", acknowledge=False)
    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


def _wave_detail(wave: str) -> Callable[[Pilot[None]], Any]:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, ControlRoomApp)
        await started(app, pilot)
        await open_wave(app, pilot, wave)
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()

    return run_before


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_wave_detail(
    size: tuple[int, int], make_app: AppFactory, snap_compare: Callable[..., Any]
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_wave_detail("Wave-2"))


async def _promoted_rollout_detail(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, ControlRoomApp)
    await started(app, pilot)
    await select(pilot, app.query_one(RolloutBoard), "maestro-system/maestro-api")
    await pilot.press("p", *"maestro-api", "enter")
    await actions_done(app, pilot)
    await step(app, pilot, 90)  # the analysis step's run has started
    await open_rollout(app, pilot, "maestro-system/maestro-api")
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def _journalled_as_on_a_bastion(app: ControlRoomApp) -> ControlRoomApp:
    """The journal names who acted and from which host: one host here, whatever runs it."""
    app.pipeline._operator = Operator("tester", host="bastion")
    return app


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_rollout_detail(
    size: tuple[int, int], make_app: AppFactory, snap_compare: Callable[..., Any]
) -> None:
    app = _journalled_as_on_a_bastion(make_app())
    assert snap_compare(app, terminal_size=size, run_before=_promoted_rollout_detail)


async def _unknown_check_detail(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, ControlRoomApp)
    await started(app, pilot)
    await step(app, pilot, 30)
    await open_check(app, pilot, "A/success-7d")
    # The simulated clock moves on and nothing it measured reaches the room: stale.
    app.sources[0].simulator.advance(120)  # type: ignore[attr-defined]
    app.refresh_view()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_gate_check_detail(
    size: tuple[int, int], make_app: AppFactory, snap_compare: Callable[..., Any]
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_unknown_check_detail)


async def _playbook_part_way(pilot: Pilot[None]) -> None:
    """The brownout's CVE firing, the playbook opened from its detail (b), the freeze and
    the re-point taken, the incident skipped: each state a step can be in."""
    app = pilot.app
    assert isinstance(app, ControlRoomApp)
    await started(app, pilot)
    await step(app, pilot, 300)
    table = app.query_one("#trigger-table", KeyedTable)
    table.focus()
    while table.selected_key != "critical-cve":
        await pilot.press("down")
    await pilot.press("enter", "b")
    await pilot.pause()
    steps = app.screen.query_one(KeyedTable)
    await pilot.press("enter", "enter")  # 1 freeze, its reason given
    await actions_done(app, pilot)
    steps.action_cursor_to(1)
    await pilot.press("enter", *"Wave-2", "enter")
    await actions_done(app, pilot)
    steps.action_cursor_to(4)
    await pilot.press("s", *"paged by phone", "enter")
    await actions_done(app, pilot)
    await pilot.press("up", "up")  # to step 3, its words below
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


@pytest.mark.parametrize("size", SIZES, ids=IDS)
def test_playbook_part_way(
    size: tuple[int, int], make_app: AppFactory, snap_compare: Callable[..., Any]
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_playbook_part_way)
