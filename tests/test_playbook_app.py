"""The rollback playbook worked from the keyboard: the demo's brownout on the simulator,
every step through the one pipeline, journalled, and the run kept where every room reads it."""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

from textual.widgets import Input, Static

from maestro_control_room.cutover.incidents import describe, fold
from maestro_control_room.cutover.playbook import STEPS, StepState
from maestro_control_room.cutover.routing import Route
from maestro_control_room.cutover.waves import WaveState
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.incidents import incident_json
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.tui.screens.playbook import ExecUpdateScreen, PlaybookScreen
from maestro_control_room.widgets.table import KeyedTable
from tests.conftest import AppFactory
from tests.test_app import actions_done, started
from tests.test_response import step_until_firing


async def cve_firing(app: ControlRoomApp, pilot: object) -> None:
    await step_until_firing(app, pilot, "critical-cve", steps=12)


async def take(
    app: ControlRoomApp, pilot: object, number: int, *typed: str, note: str = ""
) -> None:
    """Select step `number` on the playbook screen, Enter, and confirm."""
    screen = app.screen
    assert isinstance(screen, PlaybookScreen), screen
    table = screen.query_one(KeyedTable)
    table.action_cursor_to(number - 1)
    await pilot.press("enter")  # type: ignore[attr-defined]
    if isinstance(app.screen, ExecUpdateScreen):
        await pilot.press("ctrl+s")  # type: ignore[attr-defined]
    assert isinstance(app.screen, ConfirmScreen), f"step {number}: {app._notifications}"
    if note:
        app.screen.query_one("#confirm-reason", Input).value = note
    await pilot.press(*typed, "enter")  # type: ignore[attr-defined]
    if isinstance(app.screen, ConfirmScreen):
        said = app.screen.query_one("#confirm-error", Static).render()
        raise AssertionError(f"step {number} not confirmed: {said}")
    await actions_done(app, pilot)  # type: ignore[arg-type]
    assert isinstance(app.screen, PlaybookScreen), f"step {number} left {app.screen}"


async def test_the_brownout_is_worked_end_to_end_from_the_keyboard(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(handover={"dir": str(tmp_path / "handover")})
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await cve_firing(app, pilot)
        await pilot.press("b")
        assert isinstance(app.screen, PlaybookScreen)
        assert app.screen.trigger == "critical-cve"
        await take(app, pilot, 1)
        await take(app, pilot, 2, *"Wave-2")
        await take(app, pilot, 3, *"known-good")
        await take(app, pilot, 4)
        await take(app, pilot, 5)
        await take(app, pilot, 6)
        await take(app, pilot, 7, *"Wave-2", note="registry must hold 48h first")
        view = app.view
        assert view is not None
        run = view.playbook
        assert run.finished and run.trigger == "critical-cve" and run.started_by == "tester"
        assert all(run.of(s.id).state is StepState.DONE for s in STEPS)
        assert all(run.of(s.id).by == "tester" for s in STEPS)
        # What each step did, on the simulator.
        assert view.freeze.frozen
        assert view.routing.of("Wave-2") is Route.LEGACY
        assert view.routing.of("Wave-1") is Route.MAESTRO
        assert all(r.aborted for r in view.rollouts if r.key != "maestro-system/maestro-scheduler")
        assert any(a.alertname == "MaestroCutoverIncident" for a in view.alerts)
        incident = next(a for a in view.alerts if a.alertname == "MaestroCutoverIncident")
        assert incident.labels["trigger"] == "critical-cve"
        assert incident.labels["severity"] == "critical"
        assert incident.labels["wave"] == "Wave-2" and incident.labels["operator"] == "tester"
        wave = view.wave("Wave-2")
        assert wave is not None and wave.state is WaveState.ROLLED_BACK
        # The screen shows who did each step.
        table = app.screen.query_one(KeyedTable)
        assert "done by tester" in str(table._rows["known-good"][2])
        # Every step journalled: an intent first, then its result.
        entries = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
        actions = [(e["kind"], e["action"]) for e in entries]
        for action in ("freeze", "re-point builds", "promote known-good", "export logs",
                       "open incident", "exec update", "re-cut plan"):  # fmt: skip
            assert actions.index(("intent", action)) < actions.index(("result", action)), action
        export = next(e for e in entries if e["kind"] == "result" and e["action"] == "export logs")
        path = Path(export["result"]["message"].split("logs exported to ")[1].split(" (")[0])
        assert path.exists() and path.parent == tmp_path / "handover"
        with tarfile.open(path) as bundle:
            members = {m.name.split("/", 1)[1]: bundle.extractfile(m) for m in bundle.getmembers()}
            contents = {name: f.read() for name, f in members.items() if f is not None}
        assert {"audit-journal.jsonl", "handover.md", "events.log", "SHA256SUMS"} <= set(contents)
        for line in contents["SHA256SUMS"].decode().splitlines():
            digest, name = line.split("  ")
            assert hashlib.sha256(contents[name]).hexdigest() == digest
        assert b'"freeze"' in contents["audit-journal.jsonl"]
        recut = next(e for e in entries if e["kind"] == "intent" and e["action"] == "re-cut plan")
        assert recut["reason"] == "registry must hold 48h first"
        # The incident records each step, and the freeze as its mitigation.
        facts = [
            json.loads(line) for line in (tmp_path / "incidents.jsonl").read_text().splitlines()
        ]
        cve = [f for f in facts if f["trigger"] == "critical-cve"]
        kinds = [f["kind"] for f in cve]
        assert [k for k in kinds if k.startswith("playbook ")] == [
            f"playbook {s.id}" for s in STEPS
        ]
        assert kinds.count("mitigated") == 1
        assert next(f for f in cve if f["kind"] == "playbook re-point")["by"] == "tester"
        (folded,) = [i for i in fold(app.room.incident_events) if i.trigger == "critical-cve"]
        assert "playbook steps freeze, re-point, known-good, export-logs" in describe(folded)
        listed = incident_json(folded)["playbook"]
        assert isinstance(listed, list) and listed[2] == {
            "step": "known-good", "at": listed[2]["at"], "by": "tester",
            "how": listed[2]["how"],
        }  # fmt: skip
        # A step taken is taken: Enter again offers nothing to confirm.
        app.screen.query_one(KeyedTable).action_cursor_to(0)
        await pilot.press("enter")
        assert isinstance(app.screen, PlaybookScreen)


async def test_a_step_can_be_skipped_with_a_reason(make_app: AppFactory, tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await cve_firing(app, pilot)
        await pilot.press("b")
        screen = app.screen
        assert isinstance(screen, PlaybookScreen)
        screen.query_one(KeyedTable).action_cursor_to(4)
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")  # no reason: refused
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"paged by phone", "enter")
        await actions_done(app, pilot)
        assert app.view is not None
        record = app.view.playbook.of("incident")
        assert record.state is StepState.SKIPPED and record.reason == "paged by phone"
        assert record.by == "tester"


async def test_a_freeze_from_the_dashboard_while_a_trigger_fires_is_step_one(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await cve_firing(app, pilot)
        await pilot.press("f")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        await actions_done(app, pilot)
        assert app.view is not None and app.view.freeze.frozen
        record = app.view.playbook.of("freeze")
        assert record.state is StepState.DONE and record.by == "tester"
        assert app.view.playbook.trigger == "critical-cve"
        # Beside the board, step 1 now reads as done, not as a key still to press.
        strip = str(app.query_one("#playbook", Static).render())
        assert "✔ 1. Freeze tester" in strip and "· 2. Re-point builds to legacy" in strip
        assert "playbook 1/7" in strip and "(b)" in strip


async def test_on_a_narrow_screen_the_strip_keeps_every_steps_mark(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        await cve_firing(app, pilot)
        await pilot.press("f", "enter")
        await actions_done(app, pilot)
        strip = str(app.query_one("#playbook", Static).render())
        assert strip.startswith("PLAYBOOK 1✔ 2· 3· 4· 5· 6· 7· (b)"), strip
