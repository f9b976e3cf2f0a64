"""Two control rooms on one real Mosquitto: each sees the other, and what the other did."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

from maestro_control_room.cutover.config import Config
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.build import build_app
from maestro_control_room.tui.configfile import LoadedConfig
from maestro_control_room.widgets.header import FreezeBanner, HealthRow
from tests.conftest import CONFIG, config_document
from tests.realstack import until
from tests.servers import ServerProcess, mosquitto  # noqa: F401 (a fixture)


def room(server: ServerProcess, operator: str, tmp_path: Path, *, sim: bool) -> ControlRoomApp:
    """A control room with the broker, its own journal, and the simulator if `sim`."""
    document = config_document(
        sources__sim={"enabled": sim, "time_scale": 0},
        sources__mqtt={
            "enabled": True,
            "port": server.port,
            "client_id": f"{operator}-{uuid.uuid4()}",
            "refresh": "100ms",
            "keepalive": "5s",
        },
        audit={"path": str(tmp_path / f"{operator}.jsonl")},
        ui={"refresh": "200ms"},
    )
    return build_app(LoadedConfig(Config.model_validate(document), CONFIG), operator=operator)


def health(app: ControlRoomApp) -> str:
    return str(app.query_one(HealthRow).render())


async def test_each_sees_the_other_and_a_freeze_reaches_the_watcher(
    mosquitto: ServerProcess,  # noqa: F811
    tmp_path: Path,
) -> None:
    alice = room(mosquitto, "alice", tmp_path, sim=True)
    bob = room(mosquitto, "bob", tmp_path, sim=False)  # no effector: a read-only watcher
    async with (
        alice.run_test(size=(160, 48)) as alice_pilot,
        bob.run_test(size=(160, 48)) as bob_pilot,
    ):
        await until(alice_pilot, lambda: "bob@" in health(alice), "alice to see bob")
        await until(bob_pilot, lambda: "alice@" in health(bob), "bob to see alice")
        assert "(read-only)" in health(alice) and "(operator)" in health(bob)

        await alice_pilot.press("f", "enter")
        await until(alice_pilot, lambda: alice.room.freeze.frozen, "alice's freeze")
        banner = bob.query_one(FreezeBanner)
        await until(
            bob_pilot,
            lambda: "FROZEN by alice" in str(banner.render()),
            "the freeze on bob's screen",
            deadline=2,
        )
        texts = [n.message for n in bob._notifications]
        assert any("alice@" in text and "freeze" in text for text in texts), texts


async def test_a_killed_control_room_is_cleared_by_its_will(
    mosquitto: ServerProcess,  # noqa: F811
    tmp_path: Path,
) -> None:
    watcher = room(mosquitto, "watcher", tmp_path, sim=False)
    script = f"""
import asyncio
from datetime import datetime, timezone
from maestro_control_room.cutover.config import MqttSection
from maestro_control_room.cutover.presence import Presence
from maestro_control_room.sources.mqtt import MqttSource
source = MqttSource.from_config(MqttSection(enabled=True, port={mosquitto.port}, keepalive="1s"))
me = Presence("carol-elsewhere-1", "carol", "elsewhere", datetime.now(timezone.utc), "operator")
source.present_as(me, ("carol", "elsewhere"))
asyncio.run(source.run(lambda updates: None))
"""
    root = str(CONFIG.parent)
    carol = subprocess.Popen(
        [sys.executable, "-c", script], cwd=root, env={**os.environ, "PYTHONPATH": root}
    )
    try:
        async with watcher.run_test(size=(160, 48)) as pilot:
            await until(pilot, lambda: "carol@elsewhere" in health(watcher), "carol's presence")
            os.kill(carol.pid, signal.SIGKILL)  # no goodbye: only the will can clear it
            await until(
                pilot,
                lambda: "carol@elsewhere" not in health(watcher),
                "the will to clear carol's presence",
                deadline=15,
            )
    finally:
        carol.kill()
        carol.wait()
