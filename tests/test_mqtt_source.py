"""The MQTT source against a real Mosquitto: events, garbage, the freeze, and the broker away."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from textual.widgets import Static

from maestro_control_room.cutover.config import MqttSection
from maestro_control_room.cutover.payloads import (
    MAX_PAYLOAD_BYTES,
    PayloadRejected,
    parse_build_event,
)
from maestro_control_room.cutover.updates import EventsUpdate
from maestro_control_room.sources.mqtt import MqttSource
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.screens.diagnostics import DiagnosticsScreen
from maestro_control_room.widgets.events import EventStream
from maestro_control_room.widgets.header import FreezeBanner
from tests.realstack import health_text, real_app, until
from tests.servers import ServerProcess, mosquitto, sim_exporter

__all__ = ["mosquitto"]  # the fixture, imported for pytest


def mqtt_section(server: ServerProcess, client_id: str, **extra: object) -> dict[str, object]:
    return {
        "enabled": True,
        "port": server.port,
        "client_id": client_id,
        "persistent_session": True,
        "refresh": "100ms",
        "max_age": "60s",
        "keepalive": "5s",
        **extra,
    }


def build_event(job: str, **extra: Any) -> dict[str, Any]:
    return {
        "event": "job.finished",
        "id": job,
        "repo": "payments/svc-api",
        "wave": "Wave-2",
        "status": "success",
        "queue_wait_s": 12.5,
        "duration_s": 431.0,
        "runner": "linux-large-7",
        "ts": datetime.now(timezone.utc).isoformat(),
        **extra,
    }


async def publish(
    server: ServerProcess, *messages: tuple[str, bytes | dict[str, Any]], retain: bool = False
) -> None:
    """Publish as Maestro would, at QoS 1 (each publish awaits the broker's PUBACK)."""
    async with aiomqtt.Client("127.0.0.1", server.port, identifier=f"test-{uuid.uuid4()}") as c:
        for topic, payload in messages:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            await c.publish(topic, body, qos=1, retain=retain)


def shown_ids(app: ControlRoomApp) -> set[str]:
    return {getattr(e, "id", "") for e in app.query_one(EventStream).events}


def mqtt_source(app: ControlRoomApp) -> MqttSource:
    return next(s for s in app.sources if isinstance(s, MqttSource))


async def test_events_appear_and_garbage_is_counted_never_stopping_the_stream(
    mosquitto: ServerProcess,
) -> None:
    app = real_app(sources__mqtt=mqtt_section(mosquitto, f"cr-{uuid.uuid4()}"))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "mqtt ok" in health_text(app), "the MQTT source to connect")
        cve = {"event": "cve.detected", "severity": "critical", "message": "openssl in base image",
               "cve": "CVE-2026-0001", "ts": "2026-12-02T11:00:00Z"}  # fmt: skip
        await publish(
            mosquitto,
            ("maestro/events/payments/svc-api", build_event("j-1")),
            ("maestro/platform", cve),
            ("maestro/events/web", b"{not json"),
            ("maestro/events/web", b"[1, 2, 3]"),
            ("maestro/events/web", {"event": "job.finished", "id": "j-x"}),
            ("maestro/events/web", build_event("j-y", duration_s="long")),
            ("maestro/events/web", b'{"pad": "' + b"x" * MAX_PAYLOAD_BYTES + b'"}'),
            ("maestro/events/payments/svc-api", build_event("j-2")),
        )
        await until(pilot, lambda: {"j-1", "j-2"} <= shown_ids(app), "both good events")
        stream = app.query_one(EventStream)
        assert any(getattr(e, "cve", "") == "CVE-2026-0001" for e in stream.events)
        diagnostics = app.room.diagnostics["mqtt"]
        assert diagnostics.received == 8 and diagnostics.accepted == 3
        assert diagnostics.rejected == {
            "not JSON": 1,
            "not an object": 1,
            "missing field": 1,
            "wrong field": 1,
            "too large": 1,
        }
        assert [r.reason for r in diagnostics.recent][-1] == "too large"
        assert "mqtt ok" in health_text(app)
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DiagnosticsScreen), "diagnostics")
        counters = str(app.screen.query_one("#counters-mqtt", Static).render())
        assert "8 received, 3 accepted, 5 rejected" in counters and "1 too large" in counters
        await pilot.press("escape")
        await until(pilot, lambda: not app.screen.is_modal, "diagnostics to close")


async def test_the_retained_freeze_state_is_read(mosquitto: ServerProcess) -> None:
    frozen = {"frozen": True, "by": "alice", "reason": "registry brownout",
              "at": "2026-12-02T11:00:00Z"}  # fmt: skip
    await publish(mosquitto, ("maestro/cutover/freeze", frozen), retain=True)
    try:
        app = real_app(sources__mqtt=mqtt_section(mosquitto, f"cr-{uuid.uuid4()}"))
        async with app.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: app.room.freeze.frozen, "the retained freeze")
            assert app.room.freeze.by == "alice"
            # The banner follows at the next refresh of the view.
            banner = app.query_one(FreezeBanner)
            await until(pilot, lambda: "alice" in str(banner.render()), "the freeze banner")
    finally:
        await publish(mosquitto, ("maestro/cutover/freeze", b""), retain=True)


async def test_broker_away_turns_error_then_reconnects_losing_nothing(
    mosquitto: ServerProcess,
) -> None:
    client_id = f"cr-{uuid.uuid4()}"
    app = real_app(sources__mqtt=mqtt_section(mosquitto, client_id))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "mqtt ok" in health_text(app), "the MQTT source to connect")
        source = mqtt_source(app)
        mosquitto.stop()
        try:
            await until(pilot, lambda: "mqtt error" in health_text(app), "mqtt error", deadline=5)
        finally:
            mosquitto.start()
        # Published the moment the broker is back, most likely before we reconnect: the
        # persistent session keeps them for us either way.
        before = source.connections
        await publish(mosquitto, *[
            ("maestro/events/payments/svc-api", build_event(f"away-{i}")) for i in range(5)
        ])  # fmt: skip
        await until(
            pilot,
            lambda: {f"away-{i}" for i in range(5)} <= shown_ids(app),
            "the messages published meanwhile",
            deadline=40,
        )
        assert source.connections >= before and source.connections >= 2
        await until(pilot, lambda: "mqtt ok" in health_text(app), "mqtt ok again", deadline=5)

    # The control room itself away: what was published meanwhile is there when it is back.
    await publish(mosquitto, *[
        ("maestro/events/payments/svc-api", build_event(f"closed-{i}")) for i in range(3)
    ])  # fmt: skip
    again = real_app(sources__mqtt=mqtt_section(mosquitto, client_id))
    async with again.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: {f"closed-{i}" for i in range(3)} <= shown_ids(again),
            "the messages published while the control room was closed",
        )


async def test_publish_for_the_effectors(mosquitto: ServerProcess) -> None:
    app = real_app(sources__mqtt=mqtt_section(mosquitto, f"cr-{uuid.uuid4()}"))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "mqtt ok" in health_text(app), "the MQTT source to connect")
        await mqtt_source(app).publish("maestro/events/self", build_event("from-effector"))
        await until(pilot, lambda: "from-effector" in shown_ids(app), "our own message back")


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"null", "not an object"),
        (json.dumps(build_event("a", ts="yesterday")).encode(), "wrong field"),
        (json.dumps(build_event("a", ts="2026-12-02T11:00:00")).encode(), "wrong field"),
        (json.dumps(build_event("a", status="great")).encode(), "wrong field"),
        (json.dumps(build_event("a", queue_wait_s=True)).encode(), "wrong field"),
        (json.dumps({k: v for k, v in build_event("a").items() if k != "wave"}).encode(),
         "missing field"),
    ],
)  # fmt: skip
def test_payload_rules(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadRejected) as rejected:
        parse_build_event(payload, now=datetime.now(timezone.utc))
    assert rejected.value.reason == reason


def test_a_burst_beyond_the_buffer_keeps_exact_counts() -> None:
    burst = MqttSource(MqttSection(), buffer=10)
    for i in range(25):
        burst.receive("maestro/events/x", json.dumps(build_event(f"b-{i}")).encode())
    burst.receive("maestro/events/x", b"oops")
    updates = burst.drain()
    events = next(u for u in updates if isinstance(u, EventsUpdate))
    assert [getattr(e, "id", "") for e in events.events] == [f"b-{i}" for i in range(15, 25)]
    diagnostics = burst.diagnostics()
    assert (diagnostics.received, diagnostics.accepted) == (26, 25)
    assert diagnostics.dropped_for_display == 15 and diagnostics.rejected == {"not JSON": 1}


async def test_the_simulator_exporter_publishes_the_contracts_events(
    mosquitto: ServerProcess, tmp_path: Path
) -> None:
    app = real_app(sources__mqtt=mqtt_section(mosquitto, f"cr-{uuid.uuid4()}"))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "mqtt ok" in health_text(app), "the MQTT source to connect")
        sim = sim_exporter(tmp_path, mqtt_port=mosquitto.port, time_scale=20).start()
        try:
            await until(
                pilot,
                lambda: any(
                    getattr(e, "event", "") == "job.finished"
                    for e in app.query_one(EventStream).events
                ),
                "finished jobs from the simulator",
            )
        finally:
            sim.stop()
        diagnostics = app.room.diagnostics["mqtt"]
        assert diagnostics.rejected_total == 0, diagnostics.recent
        event = app.query_one(EventStream).events[-1]
        # Wall-clock timestamps, not the simulated clock's.
        assert abs((event.ts - datetime.now(timezone.utc)).total_seconds()) < 60
