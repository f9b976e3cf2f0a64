"""Helpers for the tests against real servers: the app on real sources, and waiting."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Static

from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.gates import CheckResult, CheckState
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.build import build_app
from maestro_control_room.tui.configfile import LoadedConfig
from maestro_control_room.widgets.header import HealthRow
from maestro_control_room.widgets.kpi import KpiTile
from tests.conftest import CONFIG, config_document


def real_app(gates: list[dict[str, Any]] | None = None, **sections: Any) -> ControlRoomApp:
    """The app with the simulator off and the given sections (`sources__prometheus=...`);
    `gates` replaces the plan's Go/No-Go matrix."""
    document = config_document(sources__sim={"enabled": False}, ui={"refresh": "200ms"}, **sections)
    if gates is not None:
        document["gates"] = gates
    return build_app(LoadedConfig(Config.model_validate(document), CONFIG), operator="tester")


def gate_check(app: ControlRoomApp, key: str) -> CheckResult | None:
    """The check `gate/id` on the board as last shown, or None before the first view."""
    board = app.view.gates if app.view is not None else None
    if board is None:
        return None
    return next(c for gate in board.gates for c in gate.checks if c.spec.key == key)


def gate_state(app: ControlRoomApp, key: str) -> CheckState | None:
    found = gate_check(app, key)
    return None if found is None else found.state


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
