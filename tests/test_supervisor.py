"""One supervisor for every source: an unexpected exception, or a wrong-shaped answer from a
real server, is shown as the source's health with its type and message, and the source comes
back by itself once its server answers well again."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from maestro_control_room.cutover.config import MqttSection, PrometheusSection, QueriesSection
from maestro_control_room.cutover.signals import SignalStatus
from maestro_control_room.cutover.updates import (
    AlertsUpdate,
    HealthState,
    SignalUpdate,
    SourceHealth,
    Update,
)
from maestro_control_room.cutover.waves import parse_workbook
from maestro_control_room.sources.alertmanager import AlertmanagerError, AlertmanagerSource
from maestro_control_room.sources.base import Source
from maestro_control_room.sources.mqtt import MqttSource
from maestro_control_room.sources.prometheus import PrometheusSource, connect
from maestro_control_room.sources.rollouts import build_kubernetes
from maestro_control_room.sources.sim import EXAMPLE_WORKBOOK, SimSource
from maestro_control_room.sources.sim.scenario import load_scenario
from maestro_control_room.sources.sim.simulator import Simulator
from maestro_control_room.sources.supervisor import Backoff, failure_reason, supervise
from tests.kube_fake import CONFIGMAPS
from tests.kube_harness import FAST, kube_config, running_fake, seed_configmap
from tests.servers import (
    ServerProcess,
    alertmanager,
    maestro_sim,
    mosquitto,
    prometheus,
)

__all__ = ["alertmanager", "maestro_sim", "mosquitto", "prometheus"]  # fixtures for pytest

#: Restarts within a test's patience.
QUICK = Backoff(first=0.05, most=0.2)
START = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def wall_now() -> datetime:
    return datetime.now(UTC)


class Heard:
    """Every delivery a supervised source made; optionally a fault injected into the first
    delivery that says the source is connected, raised inside the source's own task."""

    def __init__(self, name: str, *, fault: bool = False, on_any: bool = False) -> None:
        self.name = name
        self.updates: list[Update] = []
        self.fault = fault
        self.on_any = on_any
        self.changed = asyncio.Event()

    def __call__(self, updates: Sequence[Update]) -> None:
        self.updates.extend(updates)
        self.changed.set()
        if self.fault and (self.on_any or any(self._connected(u) for u in updates)):
            self.fault = False
            raise RuntimeError("injected fault")

    def _connected(self, update: Update) -> bool:
        return isinstance(update, SourceHealth) and update.state is HealthState.CONNECTED

    def health(self) -> list[SourceHealth]:
        return [u for u in self.updates if isinstance(u, SourceHealth) and u.source == self.name]

    def failures(self) -> list[str]:
        return [h.reason for h in self.health() if h.state is HealthState.ERROR]

    def delivered_after(self, reason: str) -> bool:
        """Whether the source delivered anything of its own after the failure with `reason`."""
        for index, update in enumerate(self.updates):
            if isinstance(update, SourceHealth) and reason in update.reason:
                return any(not isinstance(u, SourceHealth) for u in self.updates[index + 1 :])
        return False

    def connected_after(self, reason: str) -> bool:
        """Whether the source said it was connected after the failure with `reason`."""
        states = [(h.state, h.reason) for h in self.health()]
        failed = [i for i, (s, r) in enumerate(states) if s is HealthState.ERROR and reason in r]
        return bool(failed) and any(s is HealthState.CONNECTED for s, _ in states[failed[0] + 1 :])

    async def until(self, condition: Callable[[], object], what: str, timeout: float = 20) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0:
                last = self.health()[-3:]
                raise AssertionError(f"timed out waiting for {what}; last heard {last}")
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(remaining, 0.5))


@contextlib.asynccontextmanager
async def supervised(source: Source, heard: Heard) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(supervise(source, heard, wall_now, QUICK))
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def injected_fault_recovers(source: Source, name: str) -> Heard:
    """Run `source` supervised with a fault in its first connected delivery; it must show
    the fault and connect again."""
    heard = Heard(name, fault=True)
    async with supervised(source, heard) as task:
        await heard.until(
            lambda: heard.connected_after("RuntimeError: injected fault"),
            "the source to fail with the injected fault and connect again",
        )
        assert not task.done(), "the supervisor never ends by itself"
    (reason, *_) = heard.failures()
    assert reason.startswith("RuntimeError: injected fault; restarting in ")
    return heard


# --- the supervisor itself -------------------------------------------------------------------


def test_failure_reason_names_type_and_message() -> None:
    assert failure_reason(AttributeError("'str' object has no attribute 'items'")) == (
        "AttributeError: 'str' object has no attribute 'items'"
    )
    assert failure_reason(KeyError()) == "KeyError"
    assert len(failure_reason(ValueError("x" * 500))) == 120


def test_backoff_doubles_to_its_ceiling() -> None:
    backoff = Backoff(first=1, most=8)
    ceilings = [backoff.delay(n) / 0.8 for n in range(1, 7)]
    for ceiling, expected in zip(ceilings, [1, 2, 4, 8, 8, 8], strict=True):
        assert expected * 0.8 <= ceiling * 0.8 <= expected


# --- one test per source type: an injected fault ---------------------------------------------


async def test_prometheus_recovers_from_an_unexpected_exception(prometheus: ServerProcess) -> None:
    section = PrometheusSection(url=prometheus.url, refresh=timedelta(milliseconds=200))
    source = PrometheusSource.from_config(section, QueriesSection())
    await injected_fault_recovers(source, "prometheus")


async def test_alertmanager_recovers_from_an_unexpected_exception(
    alertmanager: ServerProcess,
) -> None:
    client = httpx.AsyncClient(base_url=alertmanager.url, timeout=5)
    source = AlertmanagerSource(client, ["Watchdog"], refresh=timedelta(milliseconds=200))
    await injected_fault_recovers(source, "alertmanager")
    assert client.is_closed, "stopping the supervisor closes the source's client"


async def test_mqtt_recovers_from_an_unexpected_exception(mosquitto: ServerProcess) -> None:
    source = MqttSource(MqttSection(port=mosquitto.port))
    await injected_fault_recovers(source, "mqtt")
    assert source.connections == 2, "one connection before the fault, one after the restart"


async def test_kubernetes_recovers_from_an_unexpected_exception(tmp_path: Path) -> None:
    with running_fake() as kube:
        seed_configmap(kube)
        source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
        heard = Heard("kubernetes", fault=True)
        async with supervised(source, heard):
            await heard.until(
                lambda: heard.connected_after("RuntimeError: injected fault"), "recovery"
            )
            # The first run's watch threads end with it: only the second run's remain.
            streams = len(source.streams())
            await heard.until(lambda: kube.open_watches == streams, "one watch per stream")


async def test_simulator_recovers_from_an_unexpected_exception() -> None:
    workbook = parse_workbook(EXAMPLE_WORKBOOK.read_text(encoding="utf-8"))
    sim = Simulator(workbook, load_scenario("calm"), seed=7, start=START, go_live=START)
    source = SimSource(sim, refresh=timedelta(milliseconds=50), time_scale=1)
    heard = Heard("sim", fault=True, on_any=True)
    async with supervised(source, heard):
        await heard.until(
            lambda: heard.delivered_after("RuntimeError: injected fault"),
            "the simulator to fail with the injected fault and deliver again",
        )
    assert heard.failures()[0].startswith("RuntimeError: injected fault; restarting in ")


# --- wrong-shaped answers from a server --------------------------------------------------------


class Answering:
    """A loopback HTTP server answering every GET with `body`, which a test changes."""

    def __init__(self, body: object) -> None:
        self.body = json.dumps(body).encode()
        answering = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = answering.body
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                self.do_GET()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, body: object) -> None:
        self.body = json.dumps(body).encode()


@pytest.fixture
def answering() -> Iterator[Answering]:
    server = Answering([])
    server.thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


async def test_a_wrong_shaped_alertmanager_answer_is_named_and_recovers(
    answering: Answering,
) -> None:
    answering.answer([{"labels": "nope"}])
    client = httpx.AsyncClient(base_url=answering.url, timeout=5)
    source = AlertmanagerSource(client, ["Watchdog"], refresh=timedelta(milliseconds=50))
    heard = Heard("alertmanager")
    wrong = "unexpected answer: alert 0's labels is str, not an object"
    async with supervised(source, heard):
        await heard.until(lambda: wrong in heard.failures(), "the wrong shape named")
        answering.answer([{"labels": {"alertname": "Watchdog"}, "annotations": {}}])
        await heard.until(lambda: heard.connected_after(wrong), "recovery")
    alerts = [u for u in heard.updates if isinstance(u, AlertsUpdate)]
    assert [a.alertname for a in alerts[-1].alerts] == ["Watchdog"]
    assert not any("AttributeError" in reason for reason in heard.failures())


async def test_a_wrong_shaped_silence_answer_is_named(answering: Answering) -> None:
    answering.answer(["nope"])
    client = httpx.AsyncClient(base_url=answering.url, timeout=5)
    source = AlertmanagerSource(client, ["Watchdog"], refresh=timedelta(seconds=1))
    with pytest.raises(AlertmanagerError, match=r"^silence not created: unexpected answer$"):
        await source.silence({"alertname": "Watchdog"}, timedelta(hours=1), "test", "alice")
    await client.aclose()


def vector(metric: object, value: str = "0.99") -> dict[str, object]:
    result = [{"metric": metric, "value": [1.7e9, value]}]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


async def test_a_wrong_shaped_prometheus_answer_is_named_and_recovers(
    answering: Answering,
) -> None:
    answering.answer(vector("nope"))
    section = PrometheusSection(url=answering.url, refresh=timedelta(milliseconds=50))
    source = PrometheusSource(
        connect(section),
        {"success_rate": "success_rate"},
        refresh=section.refresh,
        timeout=section.timeout,
        backfill=timedelta(0),
    )
    heard = Heard("prometheus")

    def signals() -> list[SignalUpdate]:
        return [u for u in heard.updates if isinstance(u, SignalUpdate)]

    async with supervised(source, heard):
        await heard.until(lambda: signals(), "a reading")
        first = signals()[0].signal
        assert first.status is SignalStatus.ERROR
        assert first.reason == "malformed answer: a series' metric is str, not an object"
        answering.answer(vector({}))
        await heard.until(lambda: signals()[-1].signal.status is SignalStatus.OK, "recovery")
    assert signals()[-1].signal.value == 0.99
    assert heard.failures() == [], "a wrong shape is the signal's error, not the source's end"


async def test_a_wrong_shaped_configmap_is_named_and_recovers(tmp_path: Path) -> None:
    with running_fake() as kube:
        seed_configmap(kube)
        source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
        heard = Heard("kubernetes")
        async with supervised(source, heard):
            await heard.until(
                lambda: any(h.state is HealthState.CONNECTED for h in heard.health()),
                "the first listing",
            )
            name = source.section.configmap_name
            namespace = source.section.configmap_namespace

            def number(obj: dict[str, Any]) -> None:
                obj["data"]["frozen"] = 1

            kube.modify(CONFIGMAPS, namespace, name, number)
            wrong = f"ValueError: ConfigMap {namespace}/{name}: data.frozen is int, not a string"
            await heard.until(
                lambda: any(r.startswith(wrong) for r in heard.failures()), "the shape named"
            )

            def text(obj: dict[str, Any]) -> None:
                obj["data"]["frozen"] = "false"

            kube.modify(CONFIGMAPS, namespace, name, text)
            await heard.until(lambda: heard.connected_after(wrong), "recovery")


# --- a hung Prometheus ---------------------------------------------------------------------------


@pytest.fixture
def hung() -> Iterator[str]:
    """A loopback socket that accepts connections and never answers."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError, OSError):
                accepted.append(listener.accept()[0])

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()


def test_a_hung_prometheus_is_a_timeout(hung: str) -> None:
    section = PrometheusSection(url=hung, timeout=timedelta(milliseconds=500))
    result = connect(section).fetch("/api/v1/query", {"query": "up"}, 0.5)
    assert not result.reached
    assert result.error == "timed out after 0.5 s"
