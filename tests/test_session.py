"""The one runtime without Textual: a session fed batches and ticked into views, the same
object under the App, `check`, `handover` and `replay`."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime, timedelta

from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.freeze import FreezeState
from maestro_control_room.cutover.session import Delivery, Session
from maestro_control_room.cutover.updates import (
    EventsUpdate,
    FreezeUpdate,
    HealthState,
    HistoryBackfill,
    SourceHealth,
)
from maestro_control_room.tui.composition import room_parts
from maestro_control_room.tui.configfile import LoadedConfig
from maestro_control_room.tui.headless import every_source_answered, feed_until
from tests.conftest import CONFIG, config_document
from tests.test_actions import NOW, calm_room


class Heard:
    """A listener that writes down what it hears, in order."""

    def __init__(self) -> None:
        self.said: list[tuple[str, object]] = []

    def heard(self, batch: Delivery) -> None:
        self.said.append(("batch", batch.source))

    def ticked(self, now: datetime) -> None:
        self.said.append(("tick", now))


def test_a_batch_goes_into_the_room_and_then_to_every_listener_in_order() -> None:
    room = calm_room()
    session = Session(room.settings)
    session.restart(room)
    first, second = Heard(), Heard()
    session.listen(first)
    session.listen(second)
    frozen = FreezeUpdate(
        "kubernetes", FreezeState(True, by="alice", reason="drill", version="11"), NOW
    )
    session.deliver(Delivery("kubernetes", NOW, (frozen,)))
    assert session.room.freeze.frozen  # in the room before anyone hears of it
    view = session.tick(NOW)
    assert view.freeze.frozen and session.view is view
    expected = [("batch", "kubernetes"), ("tick", NOW)]
    assert first.said == expected and second.said == expected


def test_only_a_sources_first_answer_says_so() -> None:
    session = Session(calm_room().settings)
    session.register(["mqtt", "sim"], NOW)
    assert [h.state for h in session.tick(NOW).health if h.source == "mqtt"] == [
        HealthState.CONNECTING
    ]
    # History alone, or an empty batch of events, is not the source's answer yet.
    history = HistoryBackfill("success_rate", ((NOW, 0.99),))
    assert session.deliver(Delivery("sim", NOW, (history,))) is False
    assert session.deliver(Delivery("mqtt", NOW, (EventsUpdate("mqtt", ()),))) is False
    answer = Delivery("mqtt", NOW, (SourceHealth("mqtt", HealthState.CONNECTED, NOW),))
    assert session.deliver(answer) is True
    assert session.deliver(answer) is False
    failed = SourceHealth("sim", HealthState.ERROR, NOW, "refused")
    assert session.deliver(Delivery("sim", NOW, (failed,))) is True  # an error answers too
    # A batch from a source the session was never told of (a test, an action's effect).
    assert session.deliver(Delivery("", NOW, ())) is False


def test_a_connecting_sources_first_state_is_shown_at_once_and_its_answer_too() -> None:
    """A warming simulator knows its rollouts and waves before its KPIs: the first frame
    shows them, not the tick after it; its answer, when the warm-up ends, shows at once too."""
    session = Session(calm_room().settings)
    session.register(["sim"], NOW)
    warming = SourceHealth("sim", HealthState.CONNECTING, NOW, "warming up (10%)")
    state = Delivery("sim", NOW, (FreezeUpdate("sim", FreezeState(frozen=False), NOW), warming))
    assert session.deliver(state) is True
    assert session.deliver(state) is False  # the warm-up's progress waits for the tick
    answer = Delivery("sim", NOW, (SourceHealth("sim", HealthState.CONNECTED, NOW),))
    assert session.deliver(answer) is True
    assert session.deliver(answer) is False


def test_advancing_moves_the_triggers_without_a_view() -> None:
    session = Session(calm_room().settings)
    heard = Heard()
    session.listen(heard)
    session.advance(NOW)
    assert session.view is None and heard.said == [("tick", NOW)]
    later = NOW + timedelta(minutes=1)
    assert session.tick(later).now == later


def test_the_simulator_feeds_a_session_with_no_screen() -> None:
    config = Config.model_validate(config_document(sources__sim={"time_scale": 0}))
    parts = room_parts(LoadedConfig(config, CONFIG))
    session = Session(parts.settings)
    session.register((source.name for source in parts.sources), parts.clock.now())
    asyncio.run(feed_until(session, parts.sources, parts.clock, every_source_answered, 30))
    view = session.tick(parts.clock.now())
    assert {h.source: h.state for h in view.health} == {"sim": HealthState.CONNECTED}
    assert view.waves and view.kpis and view.triggers


def test_a_source_that_fails_outright_is_an_answer_in_error() -> None:
    class Broken:
        name = "broken"

        async def run(self, deliver: object) -> None:
            raise RuntimeError("no such server")

    config = Config.model_validate(config_document(sources__sim={"time_scale": 0}))
    parts = room_parts(LoadedConfig(config, CONFIG))
    session = Session(parts.settings)
    session.register(["broken"], parts.clock.now())
    asyncio.run(feed_until(session, [Broken()], parts.clock, every_source_answered, 30))
    health = session.room.health["broken"]
    assert health.state is HealthState.ERROR and "no such server" in health.reason
    assert isinstance(health, SourceHealth)


def test_the_runtime_and_the_headless_commands_load_without_textual() -> None:
    modules = (
        "maestro_control_room.cutover.session",
        "maestro_control_room.tui.composition",
        "maestro_control_room.tui.headless",
        "maestro_control_room.tui.check",
        "maestro_control_room.tui.handover_command",
    )
    code = (
        "import sys\n"
        + "".join(f"import {module}\n" for module in modules)
        + "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
        + "print(loaded)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
