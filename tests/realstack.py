"""Helpers for the tests against real servers: the app on real sources, and waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from cutover.config import Config
from tests.conftest import CONFIG, config_document
from tui.app import ControlRoomApp
from tui.build import build_app
from tui.configfile import LoadedConfig
from widgets.header import HealthRow
from widgets.kpi import KpiTile


def real_app(**sections: Any) -> ControlRoomApp:
    """The app with the simulator off and the given sections (`sources__prometheus=...`)."""
    document = config_document(sources__sim={"enabled": False}, ui={"refresh": "200ms"}, **sections)
    return build_app(LoadedConfig(Config.model_validate(document), CONFIG), operator="tester")


async def until(
    pilot: Pilot[None], condition: Callable[[], bool], what: str, deadline: float = 20.0
) -> None:
    """Let the app run until `condition` holds; fail naming `what` past the deadline."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        if loop.time() > end:
            raise AssertionError(f"timed out after {deadline:g} s waiting for {what}")
        await pilot.pause(0.05)


def tile_text(app: ControlRoomApp, signal: str) -> str:
    tile = app.query_one(f"#kpi-{signal.replace('_', '-')}", KpiTile)
    return str(tile.query_one(".kpi-value", Static).render())


def limit_text(app: ControlRoomApp, signal: str) -> str:
    tile = app.query_one(f"#kpi-{signal.replace('_', '-')}", KpiTile)
    return str(tile.query_one(".kpi-limit", Static).render())


def health_text(app: ControlRoomApp) -> str:
    return str(app.query_one(HealthRow).render())
