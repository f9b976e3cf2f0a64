"""Hostile messages at QoS 1 on a real Mosquitto: each is acknowledged and counted, the good
ones after them arrive, nothing comes back after a reconnect, and nothing counts twice."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from textual.widgets import Static

from cutover.updates import PresenceUpdate, Update
from sources.mqtt import MqttSettings, MqttSource
from tests.realstack import health_text, real_app, until
from tests.servers import ServerProcess, mosquitto
from tests.test_mqtt_source import build_event, mqtt_section, publish, shown_ids
from tui.screens.diagnostics import DiagnosticsScreen
from widgets.events import EventStream

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


async def running(source: MqttSource, updates: list[Update]) -> asyncio.Task[None]:
    task = asyncio.create_task(source.run(updates.extend))
    await wait_for(lambda: source.client is not None, "the source to connect")
    return task


async def wait_for(condition: Callable[[], bool], what: str, deadline: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        if loop.time() > end:
            raise AssertionError(f"timed out after {deadline:g} s waiting for {what}")
        await asyncio.sleep(0.02)


def watcher(server: ServerProcess, name: str, client_id: str, **extra: object) -> MqttSource:
    from cutover.presence import Presence

    settings = MqttSettings(
        "127.0.0.1",
        server.port,
        client_id=client_id,
        persistent_session=True,
        refresh=timedelta(milliseconds=50),
        keepalive=timedelta(seconds=5),
        **extra,  # type: ignore[arg-type]
    )
    source = MqttSource(settings)
    since = datetime.now(timezone.utc)
    source.present_as(Presence(f"{name}-{uuid.uuid4()}", name, "bastion", since, "operator"),
                      (name, "bastion"))  # fmt: skip
    return source


async def test_a_watcher_that_stops_beating_is_no_longer_shown(mosquitto: ServerProcess) -> None:
    """A room killed with its will lost leaves its presence retained: unrenewed, it expires."""
    heartbeat = timedelta(milliseconds=300)
    alice = watcher(mosquitto, "alice", f"a-{uuid.uuid4()}", heartbeat=heartbeat)
    carol = f"maestro/cutover/operators/carol-{uuid.uuid4()}"
    now = datetime.now(timezone.utc).isoformat()
    await publish(
        mosquitto,
        (carol, {"operator": "carol", "host": "h", "since": now, "seen": now, "mode": "operator"}),
        retain=True,
    )
    heard: list[Update] = []
    task = await running(alice, heard)
    try:
        await wait_for(lambda: any(p.operator == "carol" for p in alice.others.values()), "carol")
        await wait_for(
            lambda: not any(p.operator == "carol" for p in alice.others.values()),
            "carol to expire after three missed heartbeats",
            deadline=5,
        )
        latest = [u for u in heard if isinstance(u, PresenceUpdate)][-1]
        assert not any(p.operator == "carol" for p in latest.operators)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await publish(mosquitto, (carol, b""), retain=True)


async def test_a_live_watcher_is_renewed_by_its_heartbeats(mosquitto: ServerProcess) -> None:
    heartbeat = timedelta(milliseconds=200)
    alice = watcher(mosquitto, "alice", f"a-{uuid.uuid4()}", heartbeat=heartbeat)
    bob = watcher(mosquitto, "bob", f"b-{uuid.uuid4()}", heartbeat=heartbeat)
    tasks = [await running(alice, []), await running(bob, [])]
    try:
        await wait_for(lambda: any(p.operator == "bob" for p in alice.others.values()), "bob")
        first = next(p for p in alice.others.values() if p.operator == "bob").seen
        assert first is not None
        # Five intervals on, bob is still there, seen more recently.
        await asyncio.sleep(heartbeat.total_seconds() * 5)
        renewed = next(p for p in alice.others.values() if p.operator == "bob").seen
        assert renewed is not None and renewed > first
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_two_rooms_with_one_client_id_settle_it_and_warn(mosquitto: ServerProcess) -> None:
    shared = f"shared-{uuid.uuid4()}"
    first = watcher(mosquitto, "alice", shared)
    first_task = await running(first, [])
    second = watcher(mosquitto, "bob", shared)
    second_updates: list[Update] = []
    second_task = await running(second, second_updates)
    try:
        # The newcomer moves to an id of its own; the first keeps the shared one.
        await wait_for(lambda: second._client_id != shared, "the newcomer to move")
        assert first._client_id == shared
        await wait_for(lambda: second.client is not None, "the newcomer to reconnect")
        await wait_for(
            lambda: any(
                p.operator == "bob" and p.client_id == second._client_id
                for p in first.others.values()
            ),
            "the newcomer's presence under its new id",
        )
        await wait_for(lambda: first.client is not None, "the first to be connected")
        # Settled: both stay connected, no more taking the session in turns.
        connections = first.connections, second.connections
        await asyncio.sleep(1.5)
        assert (first.connections, second.connections) == connections
        assert first.client is not None and second.client is not None
        warnings = [u.warning for u in second_updates if isinstance(u, PresenceUpdate)]
        assert any("alice@bastion" in w and "now connects as" in w for w in warnings), warnings
    finally:
        for task in (first_task, second_task):
            task.cancel()
        await asyncio.gather(first_task, second_task, return_exceptions=True)
