"""Presence against a real Mosquitto: heartbeats renew a watcher, a silent one expires, and
two control rooms configured with one client id settle who keeps it and say so."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from maestro_control_room.cutover.config import MqttSection
from maestro_control_room.cutover.presence import HEARTBEAT, Presence
from maestro_control_room.cutover.updates import PresenceUpdate, Update
from maestro_control_room.sources.mqtt import MqttSource
from maestro_control_room.widgets.header import HealthRow
from tests.conftest import AppFactory
from tests.servers import ServerProcess, mosquitto
from tests.test_mqtt_source import publish

__all__ = ["mosquitto"]  # the fixture, imported for pytest


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


def watcher(
    server: ServerProcess, name: str, client_id: str, heartbeat: timedelta = HEARTBEAT
) -> MqttSource:
    section = MqttSection(
        port=server.port,
        client_id=client_id,
        persistent_session=True,
        refresh=timedelta(milliseconds=50),
        keepalive=timedelta(seconds=5),
    )
    source = MqttSource(section, heartbeat=heartbeat)
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


def test_the_default_client_id_is_one_per_running_control_room() -> None:
    source = MqttSource.from_config(MqttSection(enabled=True, persistent_session=True))
    assert source.client_id.endswith(f"-{os.getpid()}")
    configured = MqttSection(enabled=True, persistent_session=True, client_id="cr-alice")
    assert MqttSource.from_config(configured).client_id == "cr-alice"


async def test_a_session_takeover_is_a_warning_on_the_health_row(make_app: AppFactory) -> None:
    app = make_app()
    now = datetime.now(timezone.utc)
    bob = Presence("bob-1", "bob", "bastion", now, "operator", seen=now, client_id="cr")
    warning = "MQTT session taken over: bob@bastion connects with this room's client id cr"
    async with app.run_test(size=(200, 48)) as pilot:
        app.ingest([PresenceUpdate("mqtt", (bob,), now, warning=warning)])
        app.refresh_view()
        await pilot.pause()
        assert warning in str(app.query_one(HealthRow).render())
        app.ingest([PresenceUpdate("mqtt", (bob,), now)])
        app.refresh_view()
        await pilot.pause()
        assert "taken over" not in str(app.query_one(HealthRow).render())
