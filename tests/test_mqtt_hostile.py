"""Hostile messages at QoS 1 on a real Mosquitto: each is acknowledged and counted, the good
ones after them arrive, nothing comes back after a reconnect, and nothing counts twice."""

from __future__ import annotations

import json
import uuid

from textual.widgets import Static

from maestro_control_room.sources.mqtt import MqttSource, excerpt
from maestro_control_room.tui.screens.diagnostics import DiagnosticsScreen
from maestro_control_room.widgets.events import EventStream
from tests.realstack import health_text, real_app, until
from tests.servers import ServerProcess, mosquitto
from tests.test_mqtt_source import build_event, mqtt_section, publish, shown_ids

__all__ = ["mosquitto"]  # the fixture, imported for pytest

TOPIC = "maestro/events/payments/svc-api"
HOSTILE: list[tuple[bytes, str]] = [
    (("[" * 5000 + "]" * 5000).encode(), "too deep"),
    (json.dumps(build_event("h-1", duration_s=int("9" * 400))).encode(), "out of range"),
    (json.dumps(build_event("h-2")).replace('"duration_s": 431.0', '"duration_s": NaN').encode(),
     "out of range"),
    (json.dumps(build_event("h-3", duration_s=-500)).encode(), "out of range"),
    (json.dumps(build_event("h-4", ts="9999-12-31T23:59:59Z")).encode(), "out of range"),
    (json.dumps(build_event("h-5", repo="\x1b[2J")).encode(), "wrong field"),
]  # fmt: skip


async def test_hostile_messages_are_acknowledged_and_counted_and_never_come_back(
    mosquitto: ServerProcess,
) -> None:
    client_id = f"cr-{uuid.uuid4()}"
    app = real_app(sources__mqtt=mqtt_section(mosquitto, client_id))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "mqtt ok" in health_text(app), "the MQTT source to connect")
        await publish(
            mosquitto, *[(TOPIC, payload) for payload, _ in HOSTILE], (TOPIC, build_event("good"))
        )
        await until(pilot, lambda: "good" in shown_ids(app), "the good event after the hostile")
        diagnostics = app.room.diagnostics["mqtt"]
        expected: dict[str, int] = {}
        for _, reason in HOSTILE:
            expected[reason] = expected.get(reason, 0) + 1
        assert diagnostics.rejected == expected
        assert (diagnostics.received, diagnostics.accepted) == (len(HOSTILE) + 1, 1)
        source = next(s for s in app.sources if isinstance(s, MqttSource))
        assert source.connections == 1, "a hostile message dropped the connection"
        # Kept, with their reasons, in the diagnostics view.
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DiagnosticsScreen), "diagnostics")
        screen = app.screen
        assert isinstance(screen, DiagnosticsScreen) and screen.query_one("#rejected-mqtt", Static)
        kept = [(r.reason, r.detail) for r in screen.diagnostics["mqtt"].recent]
        assert [reason for reason, _ in kept] == [reason for _, reason in HOSTILE]
        assert "nested deeper than" in kept[0][1] and "400 digits" in kept[1][1]
        await pilot.press("escape")

    # Back with the same persistent session: had any PUBACK been missing, the broker would
    # hand that message over again now.
    again = real_app(sources__mqtt=mqtt_section(mosquitto, client_id))
    async with again.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "mqtt ok" in health_text(again), "the MQTT source again")
        await publish(mosquitto, (TOPIC, build_event("after")))
        await until(pilot, lambda: "after" in shown_ids(again), "the event after reconnecting")
        diagnostics = again.room.diagnostics["mqtt"]
        assert (diagnostics.received, diagnostics.rejected) == (1, {}), diagnostics.recent


async def test_an_event_delivered_twice_is_counted_once(mosquitto: ServerProcess) -> None:
    """What a QoS 1 redelivery looks like to the control room: the same message again."""
    app = real_app(sources__mqtt=mqtt_section(mosquitto, f"cr-{uuid.uuid4()}"))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "mqtt ok" in health_text(app), "the MQTT source to connect")
        failed = build_event("dup-1", status="failure")
        await publish(
            mosquitto, (TOPIC, failed), (TOPIC, failed), (TOPIC, failed), (TOPIC, build_event("x"))
        )
        await until(pilot, lambda: "x" in shown_ids(app), "the last event")
        await until(pilot, lambda: app.room.diagnostics["mqtt"].received == 4, "all four")
        diagnostics = app.room.diagnostics["mqtt"]
        assert (diagnostics.accepted, diagnostics.duplicates) == (2, 2)
        assert app.room.events_by_source["mqtt"] == 2
        shown = [e for e in app.query_one(EventStream).events if getattr(e, "id", "") == "dup-1"]
        assert len(shown) == 1


def test_a_rejected_payload_is_shown_on_one_line_without_its_escapes() -> None:
    shown = excerpt(b"\x1b[2J\nrm\t\xe2\x80\xaeevil\xff")
    assert shown == "\ufffd[2J\ufffdrm\ufffd\ufffdevil\ufffd"
    assert len(excerpt(b"x" * 10_000)) == 120
