"""A breach interrupted by a short outage between the control room and Prometheus keeps its
trigger's `for` timer: once Prometheus answers again, the gap is read back with range queries
and the triggers are evaluated over it, so the breach fires on time."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.triggers import TriggerState, TriggerStatus
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.build import build_app
from maestro_control_room.tui.configfile import LoadedConfig
from tests.conftest import CONFIG, config_document
from tests.realstack import until
from tests.servers import ServerProcess, maestro_sim, prometheus

__all__ = ["maestro_sim", "prometheus"]  # the fixtures, imported for pytest

FOR = timedelta(seconds=6)


class CuttableLink:
    """A loopback TCP relay to a server that a test can cut (connections refused, open ones
    dropped) and restore on the same port: a network outage the server itself never sees."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(32)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._open |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def link(prometheus: ServerProcess) -> Iterator[CuttableLink]:
    relay = CuttableLink(prometheus.port)
    relay.restore()
    try:
        yield relay
    finally:
        relay.cut()


def always_breaching_app(link: CuttableLink) -> ControlRoomApp:
    """The app on Prometheus through the link, with one trigger the simulator's success
    rate always breaches (below 200 %), held for six seconds before it fires."""
    document = config_document(
        sources__sim={"enabled": False},
        ui={"refresh": "200ms"},
        sources__prometheus={
            "enabled": True,
            "url": link.url,
            "refresh": "300ms",
            "max_age": "3s",
            "timeout": "2s",
            "backfill": "0s",
        },
    )
    document["triggers"] = [
        {
            "id": "success-rate",
            "title": "Success rate under target",
            "signal": "success_rate",
            "below": 2.0,
            "for": f"{FOR.total_seconds():g}s",
        }
    ]
    return build_app(LoadedConfig(Config.model_validate(document), CONFIG), operator="tester")


def trigger(app: ControlRoomApp) -> TriggerStatus | None:
    return app.view.triggers[0] if app.view is not None and app.view.triggers else None


def state(app: ControlRoomApp) -> TriggerState | None:
    found = trigger(app)
    return None if found is None else found.state


async def test_a_breach_through_a_short_outage_fires_on_time(link: CuttableLink) -> None:
    app = always_breaching_app(link)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: state(app) is TriggerState.PENDING, "the breach pending")
        pending = trigger(app)
        assert pending is not None and pending.since is not None
        began = pending.since
        link.cut()
        await until(pilot, lambda: state(app) is TriggerState.UNKNOWN, "the trigger unknown")
        # The outage outlasts the trigger's `for`: the breach should fire inside it.
        await until(
            pilot,
            lambda: datetime.now(UTC) > began + FOR + timedelta(seconds=1),
            "the outage to outlast `for`",
        )
        assert state(app) is TriggerState.UNKNOWN, "no reading came through the cut link"
        restored = datetime.now(UTC)
        link.restore()
        await until(pilot, lambda: state(app) is TriggerState.FIRING, "the trigger firing")
        fired = trigger(app)
        assert fired is not None and fired.fired_at is not None
        assert fired.fired_at < restored, "fired when the breach was due, inside the gap"
        assert FOR <= fired.fired_at - began <= FOR + timedelta(seconds=2)
        moves = [(t.before, t.after, t.at) for t in app.room.trigger_log]
        assert (TriggerState.PENDING, TriggerState.FIRING, fired.fired_at) in moves
