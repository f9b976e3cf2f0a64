"""The MQTT connection against a real Mosquitto: read in gulps, every message acknowledged,
a busy stream never slowed by the rests, a refused connection reported."""

from __future__ import annotations

import asyncio
import getpass
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import MISSING, fields
from pathlib import Path

import aiomqtt
import pytest

from maestro_control_room.cutover.config import MqttSection
from maestro_control_room.sources.mqtt_connection import (
    FLOOD,
    PROBE,
    Endpoint,
    MqttConnection,
    MqttError,
    Will,
)
from tests.servers import (
    ServerProcess,
    _running,
    find_binary,
    free_port,
    mosquitto,
    port_open,
)

__all__ = ["mosquitto"]  # the fixture, imported for pytest

PACE = 0.25
BURST = 800


@pytest.fixture(scope="module", params=[20, 1], ids=["20 in flight", "1 in flight"])
def windowed_mosquitto(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """Mosquitto keeps 20 unacknowledged messages in flight per client as shipped, 1 when
    configured for in-order delivery; here with room to queue a whole burst behind them."""
    yield from _running(_mosquitto_in_flight(tmp_path_factory, "windowed", request.param))


def _mosquitto_in_flight(
    tmp_path_factory: pytest.TempPathFactory, name: str, in_flight: int
) -> ServerProcess:
    """Mosquitto keeping `in_flight` unacknowledged messages per client (0: no limit), with
    room to queue a whole burst behind them."""
    binary = find_binary("mosquitto", "/usr/sbin/mosquitto")
    workdir: Path = tmp_path_factory.mktemp(f"{name}-mosquitto")
    port = free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nuser {getpass.getuser()}\n"
        f"max_inflight_messages {in_flight}\nmax_queued_messages 100000\n"
        f"log_dest file {workdir / 'mosquitto.log'}\n"
    )
    return ServerProcess("mosquitto", [binary, "-c", str(config)], port, port_open(port), workdir)


class Received:
    """What a connection handed over: the payloads, and how many reads of the socket."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []
        self.gulps = 0

    def message(self, topic: str, payload: bytes) -> None:
        self.payloads.append(payload)

    def gulp(self, busy: bool) -> None:
        self.gulps += 1

    async def until(self, count: int, deadline: float) -> float:
        """Wait until `count` payloads are in; the seconds it took."""
        start = time.monotonic()
        while len(self.payloads) < count:
            if time.monotonic() - start > deadline:
                raise AssertionError(f"{len(self.payloads)} of {count} after {deadline} s")
            await asyncio.sleep(0.02)
        return time.monotonic() - start


def connection(server: ServerProcess, client_id: str, received: Received) -> MqttConnection:
    endpoint = Endpoint.of(
        MqttSection(port=server.port, client_id=client_id, persistent_session=True)
    )
    return MqttConnection(endpoint, on_message=received.message, on_gulp=received.gulp, pace=PACE)


async def test_a_trickle_is_read_in_a_few_gulps_and_every_message_acknowledged(
    mosquitto: ServerProcess,
) -> None:
    client_id = f"trickle-{uuid.uuid4()}"
    received = Received()
    async with connection(mosquitto, client_id, received) as subscriber:
        await subscriber.subscribe(["trickle/#"], 1)
        before = received.gulps
        start = time.monotonic()
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as publisher:
            for n in range(40):
                await publisher.publish(f"trickle/{n % 3}", str(n).encode(), qos=1)
                await asyncio.sleep(0.025)  # a trickle: forty messages over a second or more
        await received.until(40, deadline=10)
        elapsed = time.monotonic() - start
    assert received.payloads == [str(n).encode() for n in range(40)]
    # One read per rest, not one per message.
    assert received.gulps - before <= elapsed / PACE + 3 < 40

    # Every message was acknowledged: the persistent session has nothing to hand over again.
    again = Received()
    async with connection(mosquitto, client_id, again) as subscriber:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as publisher:
            await publisher.publish("trickle/end", b"end", qos=1)
        await again.until(1, deadline=10)
    assert again.payloads == [b"end"]


async def test_a_busy_stream_is_read_without_rests(windowed_mosquitto: ServerProcess) -> None:
    """The broker sends the next messages only as the last are acknowledged: resting a
    quarter of a second after each window would cap us at four windows a second."""
    received = Received()
    server = windowed_mosquitto
    async with connection(server, f"busy-{uuid.uuid4()}", received) as subscriber:
        await subscriber.subscribe(["busy/#"], 1)
        async with aiomqtt.Client(
            "127.0.0.1", server.port, max_inflight_messages=1000
        ) as publisher:
            await asyncio.gather(
                *(publisher.publish("busy/x", str(n).encode(), qos=1) for n in range(BURST))
            )
        took = await received.until(BURST, deadline=30)
    assert sorted(received.payloads, key=int) == [str(n).encode() for n in range(BURST)]
    # A probe every PROBE seconds finds a broker holding messages back; then no more rests.
    assert took < PROBE + 5, f"{BURST} messages took {took:.1f} s to read"


async def test_publish_waits_for_the_brokers_acknowledgement(mosquitto: ServerProcess) -> None:
    received = Received()
    async with connection(mosquitto, f"self-{uuid.uuid4()}", received) as own:
        await own.subscribe(["self/#"], 1)
        await own.publish("self/a", b"hello", qos=1, retain=False)
        await received.until(1, deadline=10)
    assert received.payloads == [b"hello"]


async def test_nobody_listening_is_an_mqtt_error() -> None:
    endpoint = Endpoint.of(MqttSection(port=free_port()))
    with pytest.raises(MqttError, match="refused"):
        async with MqttConnection(endpoint, on_message=lambda topic, payload: None):
            pass


@pytest.fixture(scope="module")
def tls_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Mosquitto behind TLS, with a certificate of a CA made for the test."""
    openssl = find_binary("openssl", "/usr/bin/openssl")
    binary = find_binary("mosquitto", "/usr/sbin/mosquitto")
    workdir: Path = tmp_path_factory.mktemp("tls-mosquitto")

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], cwd=workdir, check=True, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=test CA",
        "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (workdir / "san.ext").write_text("subjectAltName = IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "1", "-extfile", "san.ext", "-out", "server.pem")  # fmt: skip
    port = free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nuser {getpass.getuser()}\n"
        f"cafile {workdir / 'ca.pem'}\ncertfile {workdir / 'server.pem'}\n"
        f"keyfile {workdir / 'server.key'}\nlog_dest file {workdir / 'mosquitto.log'}\n"
    )
    server = ServerProcess("mosquitto", [binary, "-c", str(config)], port, port_open(port), workdir)
    yield from _running(server)


async def test_over_tls_every_message_arrives(tls_mosquitto: ServerProcess) -> None:
    """TLS keeps decrypted bytes of its own: a gulp reads those too, not only the socket's."""
    received = Received()
    ca = str(tls_mosquitto.workdir / "ca.pem")
    endpoint = Endpoint.of(MqttSection(port=tls_mosquitto.port, tls=True, ca_bundle=ca))
    connection = MqttConnection(
        endpoint, on_message=received.message, on_gulp=received.gulp, pace=PACE
    )
    async with connection:
        await connection.subscribe(["tls/#"], 1)
        for n in range(50):
            await connection.publish("tls/x", str(n).encode() * 400, qos=1, retain=False)
        await received.until(50, deadline=20)
    assert received.payloads == [str(n).encode() * 400 for n in range(50)]


async def test_a_message_its_reader_fails_on_is_acknowledged_and_the_connection_stays(
    mosquitto: ServerProcess,
) -> None:
    """Whatever the reader raises, paho's PUBACK still goes out: the broker does not hand
    the message over again, and the messages after it arrive on the same connection."""
    client_id = f"failing-reader-{uuid.uuid4()}"
    received = Received()
    failures: list[tuple[bytes, str]] = []

    def reader(topic: str, payload: bytes) -> None:
        if payload == b"poison":
            raise RecursionError("maximum recursion depth exceeded")
        received.message(topic, payload)

    endpoint = Endpoint.of(
        MqttSection(port=mosquitto.port, client_id=client_id, persistent_session=True)
    )
    subscriber = MqttConnection(
        endpoint,
        on_message=reader,
        on_message_failed=lambda t, p, e: failures.append((p, type(e).__name__)),
        pace=PACE,
    )
    async with subscriber:
        await subscriber.subscribe(["poison/#"], 1)
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as publisher:
            for payload in (b"poison", b"after"):
                await publisher.publish("poison/x", payload, qos=1)
        await received.until(1, deadline=10)
        assert not subscriber._lost.done(), "the connection ended on a reader's failure"
    assert received.payloads == [b"after"]
    assert failures == [(b"poison", "RecursionError")]

    again = Received()
    async with connection(mosquitto, client_id, again) as subscriber:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as publisher:
            await publisher.publish("poison/end", b"end", qos=1)
        await again.until(1, deadline=10)
    assert again.payloads == [b"end"], "the poison message was handed over again"


def test_a_connection_is_the_configured_section_and_nothing_else() -> None:
    """`[sources.mqtt]` holds the one set of defaults: the endpoint has none of its own, and
    every setting of the section that concerns the connection reaches it."""
    assert all(f.default is MISSING for f in fields(Endpoint) if f.name != "will")
    section = MqttSection(
        host="broker.example",
        port=8883,
        client_id="cr-alice",
        persistent_session=True,
        username="alice",
        tls=True,
        ca_bundle="/etc/ssl/broker-ca.pem",
        keepalive="40s",
    )
    will = Will("maestro/cutover/operators/alice", b"")
    endpoint = Endpoint.of(section, password="s3cret", will=will)
    assert endpoint == Endpoint(
        "broker.example", 8883, "cr-alice", False, "alice", "s3cret", True,
        "/etc/ssl/broker-ca.pem", 40, 40.0, will,
    )  # fmt: skip
    assert Endpoint.of(section, client_id="cr-alice-2").client_id == "cr-alice-2"
    default = Endpoint.of(MqttSection())
    assert (default.host, default.port, default.keepalive, default.clean_session) == (
        "127.0.0.1", 1883, 15, True,
    )  # fmt: skip


@pytest.fixture(scope="module")
def open_mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Mosquitto with no window at all: it sends whatever it has, acknowledged or not."""
    yield from _running(_mosquitto_in_flight(tmp_path_factory, "open", 0))


async def test_a_flood_is_read_in_a_few_large_gulps(open_mosquitto: ServerProcess) -> None:
    """Thousands a second that no window holds back: read once a FLOOD_REST, many packets
    a read, not a wake-up (and a write of PUBACKs) for every few that came."""
    from bench.load import EventLoad

    received = Received()
    server = open_mosquitto
    async with connection(server, f"flood-{uuid.uuid4()}", received) as subscriber:
        await subscriber.subscribe(["maestro/#"], 1)
        before = received.gulps
        load = EventLoad("127.0.0.1", server.port, marker_every=0)
        try:
            load.run(5000, 3.0)
            await asyncio.to_thread(load.wait)
            published = load.report.published
        finally:
            load.close()
        await received.until(published, deadline=60)
    gulps = received.gulps - before
    # The load publishes every 2 ms or so: read as it came, that was a gulp for every ten
    # (about 1,400 for these 15,000); once a FLOOD_REST, a hundred a gulp or more.
    assert gulps < published / (FLOOD / 2), f"{published} messages in {gulps} gulps"


async def test_a_wake_ends_the_rest_and_reads_what_came_meanwhile(
    mosquitto: ServerProcess,
) -> None:
    """The room's tick wakes a resting socket: what came during the rest is read then, in
    the tick's own wake-up, not when the rest would have ended."""
    received = Received()
    endpoint = Endpoint.of(MqttSection(port=mosquitto.port, client_id=f"wake-{uuid.uuid4()}"))
    long_rest = 60.0
    async with MqttConnection(
        endpoint, on_message=received.message, on_gulp=received.gulp, pace=long_rest
    ) as subscriber:
        await subscriber.subscribe(["wake/#"], 1)
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as publisher:
            await publisher.publish("wake/1", b"first", qos=1)
            # A quiet socket rests for its pace after the subscription's acknowledgement:
            # nothing is read however long the message waits.
            await asyncio.sleep(0.5)
            assert received.payloads == []
            gulps = received.gulps
            subscriber.wake()
            # Read within the call itself: no turn of the loop, no wait.
            assert received.payloads == [b"first"]
            assert received.gulps == gulps + 1
            # A wake with nothing waiting reads nothing.
            subscriber.wake()
            assert received.payloads == [b"first"]
