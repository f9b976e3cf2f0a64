"""Snapshots of the main screen with a fixed seed and a held simulator clock.

Regenerate after an intended change of the screen with `make snapshots`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.conftest import AppFactory
from widgets.eventlog import EventLog


async def _settle(pilot: Pilot[None]) -> None:
    app = pilot.app
    while app.view is None or not app.view.rollouts:  # type: ignore[attr-defined]
        await pilot.pause()
        app.refresh_view()  # type: ignore[attr-defined]
    app.drain_events()  # type: ignore[attr-defined]
    log = app.query_one(EventLog)
    # The log scrolls to its end once it has a size: wait for it.
    while not log.lines or log.max_scroll_y == 0 or log.scroll_offset.y != log.max_scroll_y:
        await pilot.pause()
    # Let the refresh that follows the scroll reach the screen.
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (160, 48)], ids=["80x24", "160x48"])
def test_main_screen(
    size: tuple[int, int], make_app: AppFactory, snap_compare: Callable[..., Any]
) -> None:
    assert snap_compare(make_app(), terminal_size=size, run_before=_settle)


async def _gates(pilot: Pilot[None]) -> None:
    await _settle(pilot)
    await pilot.press("g")
    await pilot.pause()


def test_gate_screen(make_app: AppFactory, snap_compare: Callable[..., Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(160, 48), run_before=_gates)
