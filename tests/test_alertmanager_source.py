"""The Alertmanager source against a real Alertmanager: the CVE trigger fires and expires."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from cutover.triggers import TriggerState
from sources.alertmanager import AlertmanagerSource
from tests.realstack import health_text, real_app, until
from tests.servers import ServerProcess, alertmanager
from tui.app import ControlRoomApp

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
