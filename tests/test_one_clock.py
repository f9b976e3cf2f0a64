"""One clock: triggers, incidents, actions and events on one time line, in scaled time too.

The brownout runs with the simulator in scaled time (its clock far from the wall's); the CVE
trigger fires, is acknowledged and the cutover frozen; the journal's entries, the incident
record, the `h` handover and a headless `handover` right after all name the same moments.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from maestro_control_room.cutover.handover import entry_time, when
from maestro_control_room.cutover.incidents import Incident, fold
from maestro_control_room.cutover.triggers import TriggerState
from maestro_control_room.sources.incident_log import IncidentLog
from maestro_control_room.sources.journal import read_journal
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.cli import main
from maestro_control_room.widgets.events import EventStream
from maestro_control_room.widgets.table import KeyedTable
from tests.conftest import AppFactory
from tests.test_app import actions_done
from tests.test_handover import handover_written, sim_config

#: How long, in wall seconds, the scaled simulation may take to reach the CVE.
PATIENCE = 60.0


async def until(pilot: Pilot[None], condition: Any, what: str) -> None:
    """Let the app run until `condition()` holds; fail, naming `what`, after PATIENCE."""
    deadline = time.monotonic() + PATIENCE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await pilot.pause(0.05)


def cve_firing(app: ControlRoomApp) -> bool:
    view = app.view
    if view is None:
        return False
    return any(
        t.spec.id == "critical-cve" and t.state is TriggerState.FIRING for t in view.triggers
    )


def journalled(path: Path, action: str) -> tuple[datetime, datetime]:
    """When the journal's intent and result of `action` were stamped."""
    entries = [e for _, e in read_journal(path).entries if e.get("action") == action]
    intent = next(e for e in entries if e["kind"] == "intent")
    result = next(e for e in entries if e["kind"] == "result")
    first, last = entry_time(intent), entry_time(result)
    assert first is not None and last is not None
    return first, last


def cve_incident(tmp_path: Path) -> Incident:
    incidents = fold(IncidentLog(tmp_path / "incidents.jsonl").read())
    (incident,) = [i for i in incidents if i.trigger == "critical-cve"]
    return incident


async def test_scaled_time_puts_the_journal_the_incident_and_the_handover_on_one_clock(
    make_app: AppFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "handovers"
    app = make_app(sim={"time_scale": 120, "refresh": "0.2s"}, handover={"dir": str(folder)})
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: cve_firing(app), "the CVE trigger to fire")
        table = app.query_one("#trigger-table", KeyedTable)
        table.focus()
        while table.selected_key != "critical-cve":
            await pilot.press("down")
        await pilot.press("A", "enter")  # acknowledge
        await actions_done(app, pilot)
        await pilot.press("f", "enter")  # freeze
        await actions_done(app, pilot)
        await until(
            pilot,
            lambda: cve_incident(tmp_path).mitigated is not None,
            "the freeze to mitigate the incident",
        )
        # The action's line in the event stream is on the same clock as the journal.
        said = [e for e in app.query_one(EventStream).events if getattr(e, "event", "") == "action"]
        await handover_written(app, pilot)
    incident = cve_incident(tmp_path)
    assert incident.fired and incident.acknowledged and incident.mitigated
    journal = tmp_path / "audit.jsonl"
    acked_from, acked_to = journalled(journal, "acknowledge")
    assert acked_from <= incident.acknowledged.at <= acked_to
    frozen_from, frozen_to = journalled(journal, "freeze")
    assert frozen_from <= incident.mitigated.at <= frozen_to
    assert incident.fired <= acked_from
    assert said and all(acked_from <= e.ts <= frozen_to for e in said)

    def listed(handover: str) -> None:
        fired = handover.split("## Rollback triggers fired")[1].split("\n## ")[0]
        assert f"| {when(incident.fired)} |" in fired and "Critical CVE" in fired
        incidents = handover.split("## Incidents (MTTD, MTTA, MTTR)")[1].split("\n## ")[0]
        row = next(line for line in incidents.splitlines() if line.startswith("| Critical CVE"))
        assert when(incident.fired) in row and when(incident.mitigated.at) in row
        actions = handover.split("## Actions taken")[1].split("\n## ")[0].splitlines()
        for moment, action in ((frozen_from, "freeze"), (acked_from, "acknowledge")):
            assert any(
                line.startswith(f"| {when(moment)} | tester@") and f"| {action} |" in line
                for line in actions
            ), action

    (written,) = folder.glob("handover-*.md")
    listed(written.read_text())
    # Headless, right after: a fresh simulator, behind the room that ran in scaled time.
    config = sim_config(tmp_path, journal)
    assert await asyncio.to_thread(main, ["handover", "--config", str(config)]) == 0
    listed(capsys.readouterr().out)
