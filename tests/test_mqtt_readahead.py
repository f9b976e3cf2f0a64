"""The socket read ahead: PUBLISH packets taken off the buffer whole and exact, every other
packet (or a partial one) left for paho to read through it, byte for byte; and against a
real Mosquitto, a burst at QoS 1 arrives once each, in order, and is acknowledged."""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Iterator

import aiomqtt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt._packet import decode_publish
from paho.mqtt.enums import MQTTProtocolVersion

from maestro_control_room.sources.mqtt_readahead import Publish, ReadAhead, puback
from tests.servers import ServerProcess
from tests.test_mqtt_connection import Received, connection, windowed_mosquitto

__all__ = ["windowed_mosquitto"]  # the fixture, imported for pytest

PINGRESP = b"\xd0\x00"


def remaining_length(length: int) -> bytes:
    out = bytearray()
    while True:
        byte, length = length % 128, length // 128
        out.append(byte | (128 if length else 0))
        if not length:
            return bytes(out)


def publish_packet(topic: bytes, payload: bytes, qos: int, mid: int = 0) -> bytes:
    body = len(topic).to_bytes(2, "big") + topic + (mid.to_bytes(2, "big") if qos else b"")
    body += payload
    return bytes([0x30 | qos << 1]) + remaining_length(len(body)) + body


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, ReadAhead]]:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    try:
        yield theirs, ReadAhead(ours)
    finally:
        ours.close()
        theirs.close()


def read_one_as_paho(reader: ReadAhead) -> bytes:
    """One packet read the way paho reads it: a byte, the length a byte at a time, the rest."""
    packet = bytearray(reader.recv(1))
    length, multiplier = 0, 1
    while True:
        byte = reader.recv(1)[0]
        packet.append(byte)
        length += (byte & 127) * multiplier
        multiplier *= 128
        if not byte & 128:
            break
    while length:
        chunk = reader.recv(length)
        packet += chunk
        length -= len(chunk)
    return bytes(packet)


def test_a_publish_is_taken_whole_at_qos_0_and_1(pair: tuple[socket.socket, ReadAhead]) -> None:
    broker, reader = pair
    broker.sendall(publish_packet(b"maestro/events/a", b'{"x": 1}', 1, 513))
    broker.sendall(publish_packet(b"maestro/platform", b"", 0))
    assert reader.fill()
    assert reader.take_publish() == Publish(b"maestro/events/a", b'{"x": 1}', 1, 513)
    assert reader.take_publish() == Publish(b"maestro/platform", b"", 0, 0)
    assert reader.take_publish() is None
    assert reader.buffered == 0
    assert not reader.fill()  # nothing more now, and not the end
    assert not reader.ended


@pytest.mark.parametrize(
    "packet",
    [
        PINGRESP,
        puback(7),
        publish_packet(b"t", b"qos 2", 2, 9),  # paho's: it keeps QoS 2's state
        publish_packet(b"", b"empty topic", 0),  # malformed at MQTT 3.1.1: paho says so
        b"\x30\x05\x00\x09abc",  # a topic longer than its packet
        b"\x30\xff\xff\xff\xff\x01",  # a fifth length byte
        publish_packet(b"maestro/events/a", b"x" * 300, 1, 1)[:-1],  # not all here yet
    ],
    ids=["pingresp", "puback", "qos 2", "empty topic", "long topic", "5 length bytes", "partial"],
)
def test_anything_else_is_left_for_paho_untouched(
    pair: tuple[socket.socket, ReadAhead], packet: bytes
) -> None:
    broker, reader = pair
    broker.sendall(packet)
    assert reader.fill()
    assert reader.take_publish() is None
    assert reader.buffered == len(packet)
    assert reader.recv(len(packet)) == packet  # paho reads it exactly as it came


def test_the_end_of_the_stream_is_left_for_paho_to_find(
    pair: tuple[socket.socket, ReadAhead],
) -> None:
    broker, reader = pair
    broker.sendall(PINGRESP)
    broker.close()
    assert reader.fill()
    reader.fill()
    assert reader.ended
    assert reader.recv(10) == PINGRESP
    assert reader.recv(1) == b""  # the socket's own end, as paho reads it


packets = st.one_of(
    st.builds(
        lambda topic, payload, qos, mid: publish_packet(topic, payload, qos, mid if qos else 0),
        st.binary(min_size=1, max_size=40),
        st.binary(max_size=400),
        st.sampled_from([0, 1]),
        st.integers(1, 65535),
    ),
    st.sampled_from([PINGRESP, puback(1), publish_packet(b"q2", b"x", 2, 5)]),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(packets, min_size=1, max_size=30), st.data())
def test_a_stream_cut_anywhere_reads_back_packet_for_packet(
    stream: list[bytes], data: st.DataObject
) -> None:
    """Whatever the cuts between the socket's reads, each packet comes back once and whole:
    a PUBLISH decoded as paho decodes it, anything else read as paho reads it."""
    wire = b"".join(stream)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    reader = ReadAhead(ours)
    read: list[bytes | Publish] = []
    try:
        for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
            theirs.sendall(wire[start:end])
            while True:
                reader.fill()
                message = reader.take_publish()
                if message is None and reader.has_whole_packet():
                    read.append(read_one_as_paho(reader))
                elif message is not None:
                    read.append(message)
                else:
                    break
        assert reader.buffered == 0
    finally:
        ours.close()
        theirs.close()
    assert len(read) == len(stream)
    for packet, got in zip(stream, read, strict=True):
        if isinstance(got, bytes):
            assert got == packet
            continue
        header_end = packet.index(next(b for b in packet[1:] if not b & 128), 1) + 1
        paho = decode_publish(packet[0], packet[header_end:], MQTTProtocolVersion.MQTTv311)
        assert (got.topic, got.payload, got.qos, got.mid) == (
            paho.topic, paho.payload, paho.qos, paho.mid,
        )  # fmt: skip


async def test_a_burst_arrives_once_each_in_order_and_acknowledged(
    windowed_mosquitto: ServerProcess,
) -> None:
    """Thousands at QoS 1, with our own publish going out in the middle of them: paho's
    packets and our acknowledgements share the socket, and the broker has nothing to hand
    over again afterwards."""
    client_id = f"readahead-{uuid.uuid4()}"
    received = Received()
    count = 2000
    mosquitto = windowed_mosquitto  # room to queue the whole burst
    async with connection(mosquitto, client_id, received) as subscriber:
        await subscriber.subscribe(["burst/#"], 1)
        async with aiomqtt.Client(
            "127.0.0.1", mosquitto.port, max_inflight_messages=1000
        ) as publisher:
            sending = asyncio.gather(
                *(publisher.publish(f"burst/{n % 7}", str(n).encode(), qos=1) for n in range(count))
            )
            await subscriber.publish("burst/ours", b"ours", qos=1, retain=False)
            await sending
        await received.until(count + 1, deadline=60)
        # The broker reads a connection's packets in order: once it acknowledged this, it
        # has read every PUBACK before it (a session taken over at once, below, would
        # otherwise lose those it had not read yet to the old socket's close).
        await subscriber.publish("barrier", b"", qos=1, retain=False)
    theirs = [p for p in received.payloads if p != b"ours"]
    assert theirs == [str(n).encode() for n in range(count)]
    assert received.payloads.count(b"ours") == 1

    again = Received()
    async with connection(mosquitto, client_id, again) as subscriber:
        async with aiomqtt.Client("127.0.0.1", mosquitto.port) as publisher:
            await publisher.publish("burst/end", b"end", qos=1)
        await again.until(1, deadline=10)
    assert again.payloads == [b"end"]
