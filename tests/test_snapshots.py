"""Snapshots of the main screen with a fixed seed and a held simulator clock, at the sizes an
on-call engineer meets: below the minimum, the minimum, a laptop and a wide monitor; calm,
in an incident, frozen, and read-only. Each also checks its text: the SVG can hold a cut
word as easily as a whole one.

Regenerate after an intended change of the screen with `make snapshots`.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.pilot import Pilot

from maestro_control_room.cutover.triggers import TriggerState
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.widgets.eventlog import EventLog
from maestro_control_room.widgets.kpi import KpiTile
from maestro_control_room.widgets.status import TRIGGER_MARK
from maestro_control_room.widgets.too_small import MIN_HEIGHT, MIN_WIDTH
from tests.conftest import AppFactory
from tests.readme_screen import README, block, shown_in, snapshot_text
from tests.screen_text import screen_text

SIZES = [(60, 20), (80, 24), (120, 36), (160, 48)]
SIZE_IDS = [f"{w}x{h}" for w, h in SIZES]
SITUATIONS = ["normal", "incident", "frozen", "read-only"]


async def _settle(pilot: Pilot[None]) -> None:
    app = pilot.app
    while app.view is None or not app.view.rollouts:  # type: ignore[attr-defined]
        await pilot.pause()
        app.refresh_view()  # type: ignore[attr-defined]
    app.drain_events()  # type: ignore[attr-defined]
    log = app.query_one(EventLog)
    # The log scrolls to its end once it has a size: wait for it (it has none when the
    # terminal is too small and the dashboard is covered).
    if app.size.width >= MIN_WIDTH and app.size.height >= MIN_HEIGHT:
        while not log.lines or log.max_scroll_y == 0 or log.scroll_offset.y != log.max_scroll_y:
            await pilot.pause()
    # Let the refresh that follows the scroll reach the screen.
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def _incident(pilot: Pilot[None]) -> None:
    """Eight minutes into the brownout: queue waits and failures breach, the CVE fires."""
    app = pilot.app
    assert isinstance(app, ControlRoomApp)
    while app.view is None or not app.view.rollouts:
        await pilot.pause()
        app.refresh_view()
    simulator = app.sources[0].simulator  # type: ignore[attr-defined]
    for _ in range(8):
        app.ingest(simulator.advance(60))
        app.refresh_view()
    await _settle(pilot)


async def _frozen(pilot: Pilot[None]) -> None:
    app = pilot.app
    assert isinstance(app, ControlRoomApp)
    await _settle(pilot)
    app.dashboard.action_freeze()
    await pilot.pause()
    await pilot.press("enter")
    while app.view is None or not app.view.freeze.frozen:
        await pilot.pause()
        app.refresh_view()
    await _settle(pilot)


PREPARE: dict[str, Callable[[Pilot[None]], Awaitable[None]]] = {
    "normal": _settle,
    "incident": _incident,
    "frozen": _frozen,
    "read-only": _settle,
}


def status_words_whole(app: ControlRoomApp, text: str) -> None:
    """Every KPI tile's status word and every trigger's state word is on screen whole."""
    lines = text.splitlines()
    for tile in app.query(KpiTile):
        box = tile.region
        inside = "\n".join(line[box.x : box.right] for line in lines[box.y : box.bottom])
        assert tile.verdict is not None
        assert re.search(rf"(^|\s){re.escape(tile.verdict.value)}(\s|$)", inside), (
            tile.signal,
            inside,
        )
    assert app.view is not None
    for trigger in app.view.triggers:
        assert TRIGGER_MARK[trigger.state][0] in text, trigger.spec.id


@pytest.mark.parametrize("situation", SITUATIONS)
@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
def test_main_screen(
    size: tuple[int, int],
    situation: str,
    make_app: AppFactory,
    snap_compare: Callable[..., Any],
) -> None:
    seen: dict[str, str] = {}
    app = make_app(read_only=situation == "read-only")

    async def prepare(pilot: Pilot[None]) -> None:
        await PREPARE[situation](pilot)
        seen["text"] = screen_text(pilot.app)

    assert snap_compare(app, terminal_size=size, run_before=prepare)
    text = seen["text"]
    width, height = size
    if width < MIN_WIDTH or height < MIN_HEIGHT:
        assert f"needs at least {MIN_WIDTH}×{MIN_HEIGHT}" in text
        assert f"This terminal is {width}×{height}" in text
        return
    status_words_whole(app, text)
    header = text.splitlines()[0]
    assert app.view is not None
    # The wall clock is whole wherever the header has room for it.
    if width >= 120:
        assert f"{app.view.now:%H:%M %Z}" in header, header
    if situation == "incident":
        assert any(t.state is not TriggerState.INACTIVE for t in app.view.triggers)
        assert "BREACH" in text
    if situation == "frozen":
        assert "FROZEN by tester" in text
    if situation == "read-only":
        assert "READ-ONLY" in header


async def _gates(pilot: Pilot[None]) -> None:
    await _settle(pilot)
    await pilot.press("g")
    await pilot.pause()


def test_gate_screen(make_app: AppFactory, snap_compare: Callable[..., Any]) -> None:
    assert snap_compare(make_app(), terminal_size=(160, 48), run_before=_gates)


async def test_readme_shows_the_snapshot_screen(make_app: AppFactory) -> None:
    """README's sample is today's 120x36 snapshot; `make snapshots` rewrites it."""
    text = await snapshot_text(make_app())
    assert shown_in(README.read_text()) == block(text), (
        "README.md's screen is stale: run `python -m tests.readme_screen`"
    )
