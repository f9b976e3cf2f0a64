"""Acknowledge a firing trigger and silence the alert behind one: through the one action
pipeline, on the simulator, on the fake cluster's ConfigMap and on a real Alertmanager."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from maestro_control_room.cutover.acknowledgements import (
    Acknowledgement,
    Acknowledgements,
    acknowledged_data,
)
from maestro_control_room.cutover.acknowledgements import acknowledgements as read_acknowledgements
from maestro_control_room.cutover.actions import (
    ActionKind,
    ActionPlan,
    ActionUnavailable,
    check_preconditions,
)
from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.silences import parse_silences
from maestro_control_room.cutover.triggers import TriggerSpec, TriggerState, TriggerStatus
from maestro_control_room.cutover.updates import AcknowledgementsUpdate
from maestro_control_room.sources.alertmanager_silences import AlertmanagerSilencer, fetch_silences
from maestro_control_room.sources.rollouts import build_kubernetes
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.build import build_app
from maestro_control_room.tui.configfile import LoadedConfig
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.widgets.table import KeyedTable
from tests.conftest import CONFIG, AppFactory, config_document
from tests.kube_fake import CONFIGMAPS
from tests.kube_harness import FAST, kube_config, running_fake, seed_configmap, watching
from tests.kube_harness import until as until_true
from tests.realstack import until
from tests.servers import ServerProcess, alertmanager
from tests.test_alertmanager_source import post_alert
from tests.test_app import actions_done, started, step

__all__ = ["alertmanager"]

T0 = datetime(2026, 12, 1, 11, 0, tzinfo=timezone.utc)
SPEC = TriggerSpec("t", "Trigger", "x")


def row_text(table: KeyedTable, key: str) -> str:
    return "  ".join(str(cell) for cell in table._rows[key])


def firing(fired_at: datetime) -> TriggerStatus:
    return TriggerStatus(SPEC, TriggerState.FIRING, 1.0, fired_at, fired_at=fired_at)


def test_acknowledgements_round_trip_the_configmap_key() -> None:
    data = acknowledged_data({}, "t", "alice", T0)
    assert json.loads(data["acknowledged"]) == {"t": {"by": "alice", "at": "2026-12-01T11:00:00Z"}}
    acks = read_acknowledgements(data, "7")
    assert acks.records["t"] == Acknowledgement("t", "alice", T0) and acks.version == "7"
    assert read_acknowledgements({"acknowledged": "not json"}, "1").records == {}
    assert read_acknowledgements({"acknowledged": '{"t": {"at": "x"}}'}, "1").records == {}


def test_an_acknowledgement_holds_for_its_firing_only() -> None:
    acks = Acknowledgements({"t": Acknowledgement("t", "alice", T0)})
    assert acks.of(firing(T0 - timedelta(minutes=1))) is not None
    again = firing(T0 + timedelta(minutes=5))  # resolved, then fired again
    assert acks.of(again) is None and acks.of_last_firing(again) is None
    resolved = TriggerStatus(SPEC, TriggerState.RESOLVED, 0.0, T0, fired_at=T0)
    assert acks.of(resolved) is None and acks.of_last_firing(resolved) is not None


def test_silences_parse_keeps_equality_matchers_and_state() -> None:
    document = [
        {
            "id": "abc",
            "matchers": [
                {"name": "alertname", "value": "MaestroCriticalCVE", "isRegex": False},
                {"name": "env", "value": "prod|stage", "isRegex": True},
            ],
            "createdBy": "alice",
            "comment": "on it",
            "startsAt": "2026-12-01T11:00:00.000000001Z",
            "endsAt": "2026-12-01T13:00:00Z",
            "status": {"state": "active"},
        },
        {"matchers": []},
        "junk",
    ]
    (silence,) = parse_silences(document)
    assert silence.matchers == {"alertname": "MaestroCriticalCVE"}
    assert silence.silences("MaestroCriticalCVE") and not silence.silences("Other")
    assert silence.ends == T0 + timedelta(hours=2)
    assert parse_silences({"not": "a list"}) == ()


async def step_until_firing(
    app: ControlRoomApp, pilot: object, trigger: str, *, steps: int = 20
) -> None:
    """Move the brownout on 30 simulated seconds at a time until `trigger` fires."""
    for _ in range(steps):
        await step(app, pilot, 30)  # type: ignore[arg-type]
        assert app.view is not None
        status = next(t for t in app.view.triggers if t.spec.id == trigger)
        if status.state is TriggerState.FIRING:
            return
    raise AssertionError(f"the brownout's {trigger} trigger never fired")


async def firing_success_rate(app: ControlRoomApp, pilot: object) -> None:
    await step_until_firing(app, pilot, "success-rate")


async def test_acknowledge_from_the_keyboard_keeps_it_firing_and_stops_the_bell(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(ui={"notify_interval": "0s"})

    def rung() -> int:
        """Alerts for this trigger: each comes with the bell."""
        said = [n.message for n in app._notifications]
        return sum("Success rate under target is firing" in text for text in said)

    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await firing_success_rate(app, pilot)
        assert rung() == 1, "the firing rang"
        table = app.query_one("#trigger-table", KeyedTable)
        table.focus()
        await pilot.press("A")
        assert isinstance(app.screen, ConfirmScreen)
        assert "Success rate under target" in str(app.screen.query_one("#confirm-plan").render())
        await pilot.press("enter")
        await actions_done(app, pilot)
        assert app.view is not None
        status = next(t for t in app.view.triggers if t.spec.id == "success-rate")
        assert status.state is TriggerState.FIRING
        ack = app.view.acknowledgements.of(status)
        assert ack is not None and ack.by == "tester" and ack.at == app.view.now
        row = row_text(table, "success-rate")
        assert f"ack tester {ack.at:%H:%M}" in row
        lines = (tmp_path / "audit.jsonl").read_text().splitlines()
        intent, result = (json.loads(line) for line in lines[-2:])
        assert intent["action"] == "acknowledge" and intent["target"] == "success-rate"
        assert "still-firing" in json.dumps(intent["preconditions"])
        assert result["result"]["ok"] is True
        # The input goes missing and comes back still breaching: it fires "again" but is
        # the same firing, acknowledged: no bell.
        before = rung()
        simulator = app.sources[0].simulator  # type: ignore[attr-defined]
        simulator.advance(60)
        app.refresh_view()
        assert app.view.triggers[0].state is TriggerState.UNKNOWN
        await step(app, pilot, 5)
        assert app.view.triggers[0].state is TriggerState.FIRING
        assert rung() == before
        await pilot.press("A")  # already acknowledged: nothing to confirm
        assert not isinstance(app.screen, ConfirmScreen)


async def test_acknowledge_refuses_a_trigger_that_stopped_firing(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        assert app.view is not None
        from maestro_control_room.cutover.response_actions import plan_acknowledge

        with pytest.raises(ActionUnavailable):
            plan_acknowledge(app.view, "success-rate", "tester")
        plan = ActionPlan(ActionKind.ACKNOWLEDGE, "success-rate", (), "tester")
        (still,) = [c for c in check_preconditions(plan, app.view) if c.id == "still-firing"]
        assert not still.ok and not still.overridable


async def test_read_only_refuses_acknowledge_and_silence_on_a_firing_trigger(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await firing_success_rate(app, pilot)
        app.query_one("#trigger-table", KeyedTable).focus()
        before = dict(app.sources[0].simulator.versions())  # type: ignore[attr-defined]
        for key in ("A", "S"):
            await pilot.press(key)
            assert not isinstance(app.screen, ConfirmScreen), key
        tried = 2
        for command in app.palette_commands():
            if command.title.startswith(("Acknowledge", "Silence")):
                command.callback()
                tried += 1
                await pilot.pause()
                assert not isinstance(app.screen, ConfirmScreen), command.title
        assert tried >= 2 + len(app.view.triggers)  # type: ignore[union-attr]
        assert app.sources[0].simulator.versions() == before  # type: ignore[attr-defined]
        assert not (tmp_path / "audit.jsonl").exists()
        refused = [n for n in app._notifications if n.title == "Read-only"]
        assert len(refused) == tried and all("read-only" in n.message for n in refused)


async def test_acknowledge_on_the_cluster_writes_the_configmap_key_every_room_reads(
    tmp_path: Path,
) -> None:
    with running_fake() as kube:
        config: Config = kube_config(kube, tmp_path)
        seed_configmap(kube, waves="{}")
        source, effector = build_kubernetes(config, tuning=FAST)
        async with watching(source) as seen:
            plan = ActionPlan(ActionKind.ACKNOWLEDGE, "critical-cve", (), "alice")
            outcome = await effector.apply(plan)
            assert outcome.ok
            data = kube.get(CONFIGMAPS, "maestro-system", "maestro-cutover")["data"]
            recorded = json.loads(data["acknowledged"])
            assert recorded["critical-cve"]["by"] == "alice"
            assert data["waves"] == "{}", "the other keys stand"
            (sent,) = kube.patches("maestro-cutover")
            assert set(sent.body["data"]) == {"acknowledged"}
            assert "resourceVersion" in sent.body["metadata"]

            def acknowledged() -> Acknowledgement | None:
                update = seen.latest(AcknowledgementsUpdate)
                return (
                    None if update is None else update.acknowledgements.records.get("critical-cve")
                )

            ack = await until_true(acknowledged, what="the acknowledgement read back")
            assert ack.by == "alice" and ack.at is not None


# --- silences against the real Alertmanager ------------------------------------------------


async def test_silencer_creates_and_expires_a_silence(alertmanager: ServerProcess) -> None:
    client = httpx.AsyncClient(base_url=alertmanager.url)
    silencer = AlertmanagerSilencer(client, duration=timedelta(minutes=30))
    try:
        plan = ActionPlan(ActionKind.SILENCE, "MaestroAuditFailure", (), "alice", reason="on it")
        outcome = await silencer.apply(plan)
        assert outcome.ok
        (silence,) = await fetch_silences(client, ["MaestroAuditFailure"])
        assert silence.created_by == "alice" and silence.comment == "on it"
        assert silence.ends is not None and silence.starts is not None
        assert timedelta(minutes=29) < silence.ends - silence.starts <= timedelta(minutes=30)
        expire = ActionPlan(ActionKind.EXPIRE_SILENCE, "MaestroAuditFailure", (), "alice")
        assert (await silencer.apply(expire)).ok
        assert await fetch_silences(client, ["MaestroAuditFailure"]) == ()
        assert not (await silencer.apply(expire)).ok, "nothing left to expire"
    finally:
        await client.aclose()


def silencing_app(server: ServerProcess, tmp_path: Path) -> ControlRoomApp:
    """The simulator (for the room's own effector) beside a real Alertmanager."""
    document = config_document(
        sources__sim={"scenario": "calm"},
        sources__alertmanager={"enabled": True, "url": server.url, "refresh": "200ms",
                               "max_age": "3s"},
        ui={"refresh": "200ms"},
        audit={"path": str(tmp_path / "audit.jsonl")},
    )  # fmt: skip
    return build_app(LoadedConfig(Config.model_validate(document), CONFIG), operator="tester")


async def test_silence_an_alert_trigger_from_the_keyboard_and_expire_it(
    alertmanager: ServerProcess, tmp_path: Path
) -> None:
    app = silencing_app(alertmanager, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        post_alert(alertmanager, "MaestroCriticalCVE", timedelta(seconds=60), cve="CVE-2026-2")

        def cve() -> TriggerStatus | None:
            view = app.view
            return (
                next((t for t in view.triggers if t.spec.id == "critical-cve"), None)
                if view
                else None
            )

        await until(pilot, lambda: (s := cve()) is not None and s.state is TriggerState.FIRING,
                    "the CVE trigger to fire")  # fmt: skip
        table = app.query_one("#trigger-table", KeyedTable)
        table.focus()
        while table.selected_key != "critical-cve":
            await pilot.press("down")
        await pilot.press("S")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"MaestroCriticalCVE", "enter")
        await actions_done(app, pilot)
        await until(pilot, lambda: "silenced until" in row_text(table, "critical-cve"),
                    "the row to show the silence")  # fmt: skip
        assert "by tester" in row_text(table, "critical-cve")
        await until(pilot, lambda: (s := cve()) is not None and s.state is TriggerState.RESOLVED,
                    "the silenced alert to stop driving the trigger")  # fmt: skip
        async with httpx.AsyncClient(base_url=alertmanager.url) as client:
            (silence,) = await fetch_silences(client, ["MaestroCriticalCVE"])
        assert (
            silence.created_by == "tester" and "silenced from the control room" in silence.comment
        )
        await pilot.press("S")  # now it expires the silence
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"MaestroCriticalCVE", "enter")
        await actions_done(app, pilot)
        await until(pilot, lambda: "silenced" not in row_text(table, "critical-cve"),
                    "the silence to be gone from the row")  # fmt: skip
        audit = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
        assert {"silence", "expire silence"} <= {e.get("action") for e in audit}
