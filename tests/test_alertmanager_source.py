"""The Alertmanager source against a real Alertmanager: the CVE trigger fires and expires."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from maestro_control_room.cutover.config import Config, gate_alertnames, gate_specs, room_settings
from maestro_control_room.cutover.cutover_configmap import rfc3339
from maestro_control_room.cutover.gates import CheckState, Verdict
from maestro_control_room.cutover.room import ControlRoom
from maestro_control_room.cutover.triggers import TriggerState
from maestro_control_room.cutover.updates import AlertsUpdate
from maestro_control_room.cutover.waves import parse_workbook
from maestro_control_room.sources.alertmanager import AlertmanagerSource
from maestro_control_room.sources.sim import EXAMPLE_WORKBOOK
from maestro_control_room.sources.sim.exporter import ExporterOptions, SimExporter, build_simulator
from maestro_control_room.tui.app import ControlRoomApp
from tests.conftest import config_document
from tests.realstack import gate_check, gate_state, health_text, real_app, until
from tests.servers import ServerProcess, alertmanager, sim_exporter

__all__ = ["alertmanager"]  # the fixture, imported for pytest


def alertmanager_section(server: ServerProcess) -> dict[str, object]:
    return {"enabled": True, "url": server.url, "refresh": "200ms", "max_age": "3s"}


def trigger_state(app: ControlRoomApp, trigger: str) -> TriggerState | None:
    view = app.view
    if view is None:
        return None
    return next(t.state for t in view.triggers if t.spec.id == trigger)


def post_alert(server: ServerProcess, name: str, lasts: timedelta, **labels: str) -> None:
    now = datetime.now(timezone.utc)
    alert = {
        "labels": {"alertname": name, "severity": "critical", **labels},
        "annotations": {"summary": "openssl CVE in the runner base image"},
        "startsAt": now.isoformat(),
        "endsAt": (now + lasts).isoformat(),
    }
    httpx.post(f"{server.url}/api/v2/alerts", json=[alert]).raise_for_status()


async def test_a_posted_alert_fires_the_cve_trigger_and_expires_back(
    alertmanager: ServerProcess,
) -> None:
    app = real_app(sources__alertmanager=alertmanager_section(alertmanager))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: trigger_state(app, "critical-cve") is TriggerState.INACTIVE,
            "the CVE trigger to read inactive",
        )
        assert "alertmanager ok" in health_text(app)
        post_alert(alertmanager, "MaestroCriticalCVE", timedelta(seconds=3), cve="CVE-2026-0001")
        post_alert(alertmanager, "SomethingElse", timedelta(seconds=30))
        await until(
            pilot,
            lambda: trigger_state(app, "critical-cve") is TriggerState.FIRING,
            "the CVE trigger to fire",
            deadline=5,
        )
        assert [a.alertname for a in app.room.alerts] == ["MaestroCriticalCVE"]
        alert = app.room.alerts[0]
        assert alert.summary == "openssl CVE in the runner base image"
        assert alert.labels["cve"] == "CVE-2026-0001" and alert.since is not None
        assert trigger_state(app, "audit-failure") is TriggerState.INACTIVE
        await until(
            pilot,
            lambda: trigger_state(app, "critical-cve") is TriggerState.RESOLVED,
            "the CVE alert to expire",
            deadline=10,
        )


async def test_a_silence_is_created_for_the_operator(alertmanager: ServerProcess) -> None:
    source = AlertmanagerSource(
        httpx.AsyncClient(base_url=alertmanager.url),
        ["MaestroAuditFailure"],
        refresh=timedelta(seconds=1),
    )
    post_alert(alertmanager, "MaestroAuditFailure", timedelta(minutes=1), chain="audit")
    assert [a.alertname for a in await source.alerts()] == ["MaestroAuditFailure"]
    silence_id = await source.silence(
        {"alertname": "MaestroAuditFailure", "chain": "audit"},
        timedelta(minutes=30),
        "known: journal disk full, fixing",
        created_by="alice",
    )
    silence = httpx.get(f"{alertmanager.url}/api/v2/silence/{silence_id}").json()
    assert silence["createdBy"] == "alice" and silence["status"]["state"] == "active"
    assert await source.alerts() == (), "a silenced alert does not drive the trigger"
    await source.client.aclose()


async def test_alertmanager_down_is_an_error_with_a_reason() -> None:
    from tests.servers import free_port

    source = AlertmanagerSource(
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{free_port()}"),
        ["MaestroCriticalCVE"],
        refresh=timedelta(seconds=1),
    )
    (health,) = await source.poll()
    assert getattr(health, "reason", "") == "connection refused"
    await source.client.aclose()


# --- alert gate checks --------------------------------------------------------------------------

#: A paging probe of the test's own, so that no other test's alert decides it.
ALERT_GATES = [
    {"id": "B", "title": "Observability", "checks": [
        {"id": "paging", "kind": "alert_present", "alertname": "GatePagingProbe"},
        {"id": "alerts", "kind": "source_healthy", "source": "alertmanager"},
    ]},
    {"id": "G", "title": "Integrations", "checks": [
        {"id": "integrations", "kind": "alert_absent", "alertname": "MaestroIntegrationDown"},
    ]},
]  # fmt: skip
KEYS = ("B/paging", "B/alerts", "G/integrations")


def states(app: ControlRoomApp) -> tuple[CheckState | None, ...]:
    return tuple(gate_state(app, key) for key in KEYS)


def verdict(app: ControlRoomApp) -> Verdict | None:
    board = app.view.gates if app.view is not None else None
    return None if board is None else board.verdict


async def test_alert_gates_follow_alertmanager_and_are_unknown_while_it_is_down(
    alertmanager: ServerProcess,
) -> None:
    app = real_app(sources__alertmanager=alertmanager_section(alertmanager), gates=ALERT_GATES)
    passed, failed, unknown = CheckState.PASS, CheckState.FAIL, CheckState.UNKNOWN
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: states(app) == (failed, passed, passed), "paging unproven")
        assert verdict(app) is Verdict.NO_GO
        post_alert(alertmanager, "GatePagingProbe", timedelta(minutes=1))
        post_alert(alertmanager, "MaestroIntegrationDown", timedelta(seconds=3), system="jira")
        await until(
            pilot, lambda: states(app) == (passed, passed, failed), "the alerts", deadline=5
        )
        await until(
            pilot, lambda: states(app) == (passed, passed, passed), "Jira back", deadline=10
        )
        assert verdict(app) is Verdict.GO
        alertmanager.stop()
        try:
            await until(
                pilot, lambda: states(app) == (unknown,) * 3, "every check unknown", deadline=5
            )
            assert verdict(app) is Verdict.UNKNOWN
            health = gate_check(app, "B/alerts")
            assert health is not None and health.value == "error: connection refused"
        finally:
            alertmanager.start()
        # Alertmanager keeps no alerts over a restart: the probe fires again, as it would.
        post_alert(alertmanager, "GatePagingProbe", timedelta(minutes=1))
        await until(pilot, lambda: states(app) == (passed, passed, passed), "recovery")
        assert verdict(app) is Verdict.GO


async def test_alert_gates_are_unknown_once_the_alerts_are_stale(
    alertmanager: ServerProcess,
) -> None:
    config = Config.model_validate(
        {**config_document(sources__alertmanager={"enabled": True}), "gates": ALERT_GATES}
    )
    settings = room_settings(config, parse_workbook(EXAMPLE_WORKBOOK.read_text()))
    source = AlertmanagerSource(
        httpx.AsyncClient(base_url=alertmanager.url),
        gate_alertnames(settings.gates),
        refresh=timedelta(seconds=1),
    )
    post_alert(alertmanager, "GatePagingProbe", timedelta(minutes=1))
    room = ControlRoom(settings)
    updates = await source.poll()
    for update in updates:
        room.apply(update)
    at = next(u.at for u in updates if isinstance(u, AlertsUpdate))
    fresh = room.evaluate(at + timedelta(seconds=60)).gates
    assert fresh is not None and fresh.verdict is Verdict.GO
    stale = room.evaluate(at + timedelta(seconds=61)).gates
    assert stale is not None and stale.verdict is Verdict.UNKNOWN
    reasons = {c.spec.key: c.reason for g in stale.gates for c in g.checks}
    assert reasons == {
        "B/paging": "alerts not current",
        "B/alerts": "stale 61s",
        "G/integrations": "alerts not current",
    }
    await source.client.aclose()


async def test_the_simulator_exporter_keeps_its_watchdog_firing_in_alertmanager(
    alertmanager: ServerProcess, tmp_path: Path
) -> None:
    exporter = sim_exporter(tmp_path, alertmanager=alertmanager.url).start()
    source = AlertmanagerSource(
        httpx.AsyncClient(base_url=alertmanager.url),
        gate_alertnames(gate_specs(Config.model_validate(config_document()))),
        refresh=timedelta(seconds=1),
    )
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + 20
        alerts = await source.alerts()
        while not any(a.alertname == "Watchdog" for a in alerts):
            assert loop.time() < end, "no Watchdog from the exporter within 20 s"
            await asyncio.sleep(0.1)
            alerts = await source.alerts()
    finally:
        exporter.stop()
        await source.client.aclose()
    watchdog = next(a for a in alerts if a.alertname == "Watchdog")
    assert watchdog.labels["severity"] == "none" and watchdog.since is not None
    assert watchdog.since < datetime.now(timezone.utc)


async def test_the_exporter_posts_alerts_while_active_and_ends_them_when_they_go(
    alertmanager: ServerProcess,
) -> None:
    options = ExporterOptions("127.0.0.1", 0, alertmanager_url=alertmanager.url)
    simulator = build_simulator(replace(options, scenario="brownout"), datetime.now(timezone.utc))
    exporter = SimExporter(simulator, options)
    source = AlertmanagerSource(
        httpx.AsyncClient(base_url=alertmanager.url),
        ["Watchdog", "MaestroCriticalCVE"],
        refresh=timedelta(seconds=1),
    )

    async def post_and_read() -> list[str]:
        payloads = exporter.alert_payloads(datetime.now(timezone.utc))
        httpx.post(f"{alertmanager.url}/api/v2/alerts", json=payloads).raise_for_status()
        return sorted(a.alertname for a in await source.alerts())

    exporter.step(5 * 60)  # the brownout's CVE is raised at +4m, for five minutes
    assert await post_and_read() == ["MaestroCriticalCVE", "Watchdog"]
    exporter.step(5 * 60)
    now = datetime.now(timezone.utc)
    ended = {p["labels"]["alertname"]: p for p in exporter.alert_payloads(now)}
    assert ended["MaestroCriticalCVE"]["endsAt"] == rfc3339(now)
    assert ended["Watchdog"]["endsAt"] > rfc3339(now + timedelta(seconds=15))
    httpx.post(f"{alertmanager.url}/api/v2/alerts", json=list(ended.values())).raise_for_status()
    assert sorted(a.alertname for a in await source.alerts()) == ["Watchdog"]
    again = exporter.alert_payloads(datetime.now(timezone.utc))
    assert [p["labels"]["alertname"] for p in again] == ["Watchdog"], "an end is posted once"
    await source.client.aclose()
