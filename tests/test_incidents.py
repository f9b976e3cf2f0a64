"""Incidents: the record each firing opens, MTTD / MTTA / MTTR, the log that survives a
restart, and the brownout worked from the keyboard showing up in the handover, `check
--json` and `maestro-control-room incidents`."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from maestro_control_room.cutover.acknowledgements import Acknowledgement, Acknowledgements
from maestro_control_room.cutover.clock import read_clock
from maestro_control_room.cutover.freeze import UNFROZEN, FreezeState
from maestro_control_room.cutover.incidents import (
    IncidentEvent,
    IncidentTracker,
    figures,
    fold,
    in_period,
)
from maestro_control_room.cutover.room import RoomView
from maestro_control_room.cutover.triggers import TriggerSpec, TriggerState, TriggerStatus
from maestro_control_room.sources.incident_log import IncidentLog
from maestro_control_room.tui.check import incident_figures
from maestro_control_room.tui.cli import main
from maestro_control_room.tui.configfile import load_config
from maestro_control_room.tui.handover import ShiftRecord, render
from maestro_control_room.widgets.header import HealthRow
from maestro_control_room.widgets.table import KeyedTable
from tests.conftest import AppFactory
from tests.test_app import actions_done, started, step
from tests.test_handover import sim_config
from tests.test_response import firing_success_rate

T0 = datetime(2026, 12, 1, 11, 0, tzinfo=timezone.utc)
SPEC = TriggerSpec("sr", "Success rate", "success_rate")


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def view(
    minutes: float,
    state: TriggerState,
    since: float,
    fired: float | None = None,
    *,
    acks: Acknowledgements | None = None,
    freeze: FreezeState = UNFROZEN,
) -> RoomView:
    status = TriggerStatus(
        SPEC, state, 0.9, at(since), fired_at=None if fired is None else at(fired)
    )
    return RoomView(
        now=at(minutes), clock=read_clock(at(minutes), T0), kpis=(), triggers=(status,),
        waves=(), rollouts=(), freeze=freeze, health=(), alerts=(), green_since=None,
        green_period=timedelta(hours=48), acknowledgements=acks or Acknowledgements(),
    )  # fmt: skip


def test_a_firing_is_recorded_from_onset_to_resolution_with_who() -> None:
    tracker = IncidentTracker()
    assert tracker.observe(view(0, TriggerState.INACTIVE, 0)) == []
    assert tracker.observe(view(1, TriggerState.PENDING, 1)) == []
    fired = tracker.observe(view(6, TriggerState.FIRING, 6, 6))
    assert [(e.kind, e.at) for e in fired] == [("onset", at(1)), ("fired", at(6))]
    assert tracker.observe(view(7, TriggerState.FIRING, 6, 6)) == []
    acks = Acknowledgements({"sr": Acknowledgement("sr", "alice", at(8))})
    acked = tracker.observe(view(8, TriggerState.FIRING, 6, 6, acks=acks))
    assert [(e.kind, e.by) for e in acked] == [("acknowledged", "alice")]
    frozen = FreezeState(True, "bob", "trigger firing", at(9))
    mitigated = tracker.observe(view(9, TriggerState.FIRING, 6, 6, acks=acks, freeze=frozen))
    assert [(e.kind, e.by, e.detail) for e in mitigated] == [("mitigated", "bob", "freeze")]
    resolved = tracker.observe(view(20, TriggerState.RESOLVED, 18, 6, acks=acks, freeze=frozen))
    assert [(e.kind, e.at) for e in resolved] == [("resolved", at(18))]
    (incident,) = fold([*fired, *acked, *mitigated, *resolved])
    assert incident.time_to_detect == timedelta(minutes=5)
    assert incident.time_to_acknowledge == timedelta(minutes=2)
    assert incident.time_to_resolve == timedelta(minutes=12)
    assert not incident.open and incident.mitigated is not None
    # An acknowledgement of an earlier firing does not acknowledge the next one.
    again = tracker.observe(view(30, TriggerState.FIRING, 30, 30, acks=acks, freeze=UNFROZEN))
    assert [e.kind for e in again] == ["onset", "fired"]


def test_an_open_incident_carries_on_after_a_restart_and_resolves_once() -> None:
    first = IncidentTracker()
    first.observe(view(1, TriggerState.PENDING, 1))
    recorded = first.observe(view(6, TriggerState.FIRING, 6, 6))
    restarted = IncidentTracker(recorded)
    # After the restart the trigger fires again at a new time: the same incident.
    assert restarted.observe(view(10, TriggerState.FIRING, 9, 9)) == []
    (resolved,) = restarted.observe(view(12, TriggerState.INACTIVE, 12))
    assert resolved.kind == "resolved" and resolved.incident == recorded[0].incident
    assert IncidentTracker([*recorded, resolved]).open == {}


def test_figures_are_means_over_what_each_incident_measures() -> None:
    events = [
        IncidentEvent("a", "onset", "sr", "S", at(0)),
        IncidentEvent("a", "fired", "sr", "S", at(2)),
        IncidentEvent("a", "fired", "sr", "S", at(3)),  # a second room's copy: the first counts
        IncidentEvent("a", "acknowledged", "sr", "S", at(6), "alice"),
        IncidentEvent("a", "resolved", "sr", "S", at(12)),
        IncidentEvent("b", "onset", "q", "Q", at(20)),
        IncidentEvent("b", "fired", "q", "Q", at(24)),
    ]
    incidents = fold(events)
    result = figures(incidents)
    assert (result.count, result.open) == (2, 1)
    assert result.mttd == timedelta(minutes=3)
    assert result.mtta == timedelta(minutes=4)
    assert result.mttr == timedelta(minutes=10)
    assert result.line() == "incidents 2 (1 open) · MTTD 3m · MTTA 4m · MTTR 10m"
    assert [i.id for i in in_period(incidents, at(15), at(30))] == ["b"]
    assert figures(()).line() == "incidents 0 · MTTD — · MTTA — · MTTR —"


def test_the_log_appends_and_reads_back_skipping_a_cut_line(tmp_path: Path) -> None:
    log = IncidentLog(tmp_path / "state" / "incidents.jsonl")
    assert log.read() == []
    event = IncidentEvent("a", "acknowledged", "sr", "S", at(1), "alice")
    log.append([event])
    with log.path.open("a") as file:
        file.write('{"incident": "a", "kind": "res')  # a crash mid-line
    log.append([IncidentEvent("a", "resolved", "sr", "S", at(2))])
    assert log.read()[0] == event
    assert len(log.read()) == 1, "the line after the cut one is joined to it"


async def test_the_brownout_worked_from_the_keyboard_is_an_incident_everywhere(
    make_app: AppFactory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await firing_success_rate(app, pilot)
        app.query_one("#trigger-table", KeyedTable).focus()
        await pilot.press("A", "enter")  # acknowledge
        await actions_done(app, pilot)
        await step(app, pilot, 30)
        await pilot.press("f", "enter")  # freeze
        await actions_done(app, pilot)
        for _ in range(60):
            await step(app, pilot, 60)
            status = next(t for t in app.view.triggers if t.spec.id == "success-rate")  # type: ignore[union-attr]
            if status.state is TriggerState.RESOLVED:
                break
        assert status.state is TriggerState.RESOLVED
        incidents = fold(IncidentLog(tmp_path / "incidents.jsonl").read())
        (incident,) = [i for i in incidents if i.trigger == "success-rate"]
        assert incident.onset and incident.fired and incident.onset < incident.fired
        assert incident.acknowledged is not None and incident.acknowledged.by == "tester"
        assert incident.mitigated is not None and incident.mitigated.by == "tester"
        assert incident.resolved is not None
        assert "shift incidents" in str(app.query_one(HealthRow).render())
        assert "MTTR" in str(app.query_one(HealthRow).render())
        # A handover from a room that saw none of it (a restart): the firing is listed.
        fresh = ShiftRecord(
            view=app.view,  # type: ignore[arg-type]
            trigger_log=(),
            trigger_log_from=app.view.now,  # type: ignore[union-attr]
            name="x",
            operator="tester",
            journal=tmp_path / "audit.jsonl",
        )
        now = app.view.now  # type: ignore[union-attr]  # one clock: the room's
        text = render(fresh, now - timedelta(hours=12), now)
        assert "No rollback trigger fired" not in text
        assert "| Success rate under target | fired |" in text.replace("  ", " ")
        assert "## Incidents (MTTD, MTTA, MTTR)" in text and "freeze" in text
    config = sim_config(tmp_path, tmp_path / "audit.jsonl")
    # The command runs its own event loop: off this test's.
    assert await asyncio.to_thread(main, ["handover", "--config", str(config)]) == 0
    handover = capsys.readouterr().out
    assert "No rollback trigger fired in the period." not in handover
    fired = handover.split("## Rollback triggers fired")[1].split("\n## ")[0]
    assert "Success rate under target" in fired and "resolved" in fired
    loaded = load_config(config)
    figures_now = incident_figures(loaded, incident.resolved + timedelta(minutes=1))
    assert figures_now["shift"]["count"] >= 1  # type: ignore[index]
    assert figures_now["cutover"]["mtta_seconds"] is not None  # type: ignore[index]
    assert main(["incidents", "--config", str(config), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    (listed,) = [i for i in document["incidents"] if i["trigger"] == "success-rate"]
    assert listed["acknowledged"]["by"] == "tester" and listed["mitigated"]["how"] == "freeze"
    assert listed["time_to_detect_seconds"] > 0 and listed["time_to_resolve_seconds"] > 0
    assert document["cutover"]["mttr_seconds"] is not None
    assert main(["incidents", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "Success rate under target fired" in out and "MTTA" in out
    assert main(["incidents", "--config", str(config), "--since", "T+400d"]) == 0
    assert "No incident recorded in the period." in capsys.readouterr().out
    assert main(["incidents", "--config", str(config), "--since", "someday"]) == 2
