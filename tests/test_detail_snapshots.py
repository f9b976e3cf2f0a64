"""Snapshots of the trigger detail (Enter on a trigger row) at 80x24 and 120x36: the
acknowledged CVE trigger of the brownout, the success-rate trigger's chart, and the rollback
playbook part-way through its run.

Regenerate after an intended change of the screen with
`pytest tests/test_detail_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.widgets.table import KeyedTable
from tests.conftest import AppFactory
from tests.test_app import actions_done, started, step

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
