"""NO_COLOR=1: the control room renders in monochrome, its event log included, and keeps
running; through a Pilot and in a real pseudo-terminal."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import pytest

from bench.terminal import PtyProgram
from maestro_control_room.cutover.events import BuildEvent, PlatformEvent
from maestro_control_room.widgets.eventlog import EventLog
from maestro_control_room.widgets.events import EventStream
from tests.conftest import CONFIG, AppFactory


async def test_the_event_log_renders_under_no_color(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app()
    at = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)
    async with app.run_test(size=(120, 40)) as pilot:
        assert app.no_color
        stream = app.query_one(EventStream)
        stream.add(
            [
                BuildEvent("job.finished", "j-1", "payments/api", "Wave-1", at, "failure"),
                PlatformEvent("registry.brownout", "critical", "registry slow", at),
            ]
        )
        await pilot.pause()
        await pilot.pause()
        log = app.query_one(EventLog)
        lines = [log.render_line(y).text for y in range(log.size.height)]
        assert any("registry.brownout" in line for line in lines), lines
        screenshot = app.export_screenshot()
        assert "registry.brownout" in screenshot
        assert app.is_running


def test_the_app_keeps_running_under_no_color_in_a_terminal() -> None:
    """The default config's brownout scenario puts failures in the event log within
    seconds; under NO_COLOR the first of them used to end the app."""
    argv = [sys.executable, "-m", "maestro_control_room", "--config", str(CONFIG)]
    pty = PtyProgram(argv, columns=140, lines=45, env={**_environ(), "NO_COLOR": "1"},
                     cwd=str(CONFIG.parent))  # fmt: skip
    try:
        pty.wait_for(lambda screen: "WARN" in screen or "CRIT" in screen, 60)
        pty.wait_for(lambda screen: "Events ·" in screen, 10)
        assert pty.process.poll() is None, pty.text()
    finally:
        pty.close()


def _environ() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
