"""The broker's socket read ahead, and its PUBLISH packets taken off it without paho.

paho reads a packet in three to four `recv` calls (its first byte, its length a byte at a
time, then the rest) and hands it through several layers of Python before our callback
sees it; in a burst of thousands of events a second that was most of the control room's
CPU. Here the socket is read in large chunks into a buffer that paho reads from as if it
were the socket, and a PUBLISH at QoS 0 or 1 whole in that buffer is decoded here, in one
place, while paho is between packets. Everything else (CONNACK, SUBACK, PUBACK, PINGRESP,
QoS 2, a malformed or a partial packet) is left to paho, which reads it from the buffer.
"""

from __future__ import annotations

import ssl
from typing import Any, NamedTuple

#: Bytes asked of the socket at once: a few hundred events.
READ_AHEAD = 65_536
_PUBLISH = 0x30


class Publish(NamedTuple):
    """A PUBLISH packet decoded: its topic's bytes, its payload and, at QoS 1, its id."""

    topic: bytes
    payload: bytes
    qos: int
    mid: int


class ReadAhead:
    """A socket as paho sees it (`recv`, `send`, `pending`, `fileno`...), whose reads are
    served from what was read ahead of them."""

    def __init__(self, sock: Any) -> None:
        self.sock = sock
        self._data = b""
        self._pos = 0
        #: The socket said its end (or failed) while reading ahead: paho reads it next,
        #: and finds it so itself.
        self.ended = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.sock, name)

    @property
    def buffered(self) -> int:
        return len(self._data) - self._pos

    def fill(self) -> bool:
        """Read what the socket has, up to `READ_AHEAD`; False when it had nothing now.
        The end of the stream or an error is left in the socket for paho to find: it
        reads the socket itself once the buffer is empty."""
        try:
            chunk = self.sock.recv(READ_AHEAD)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return False
        except OSError:  # a reset, say: paho meets it again on its own read
            self.ended = True
            return False
        if not chunk:
            self.ended = True
            return False
        self._data = self._data[self._pos :] + chunk if self._pos < len(self._data) else chunk
        self._pos = 0
        return True

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._data):
            return self.sock.recv(size)  # type: ignore[no-any-return]
        start = self._pos
        self._pos = min(len(self._data), start + size)
        return self._data[start : self._pos]

    def pending(self) -> int:
        """Bytes readable without waiting: ours, and those the TLS layer decrypted."""
        inner = getattr(self.sock, "pending", None)
        return self.buffered + (inner() if inner is not None else 0)

    def take_publish(self) -> Publish | None:
        """The PUBLISH at QoS 0 or 1 at the head of the buffer, taken off it; None (and
        nothing taken) when the head is another packet, a partial or a malformed one."""
        data, pos = self._data, self._pos
        end_of_data = len(data)
        if pos >= end_of_data:
            return None
        header = data[pos]
        qos = (header >> 1) & 3
        if header & 0xF0 != _PUBLISH or qos > 1:
            return None
        found = remaining_length(data, pos + 1)
        if found is None or found[0] < 0:
            return None  # partial, or a fifth length byte
        length, index = found
        end = index + length
        if end > end_of_data or length < 2:
            return None
        topic_end = index + 2 + (data[index] << 8 | data[index + 1])
        body = topic_end + (2 if qos else 0)
        if topic_end == index + 2 or body > end:
            return None  # an empty topic, or one longer than its packet: malformed
        mid = data[topic_end] << 8 | data[topic_end + 1] if qos else 0
        self._pos = end
        return Publish(data[index + 2 : topic_end], data[body:end], qos, mid)

    def has_whole_packet(self) -> bool:
        """Whether the buffer holds a whole packet at its head (of any kind)."""
        data = self._data
        found = remaining_length(data, self._pos + 1)
        if found is None:
            return False
        length, index = found
        return length < 0 or index + length <= len(data)  # malformed: paho will say so


def remaining_length(data: bytes, index: int) -> tuple[int, int] | None:
    """A packet's remaining length, read from `index`, and the index after it; None while
    its bytes are not all in `data`; a length of -1 for a fifth length byte, which paho
    takes as a protocol error."""
    length, multiplier = 0, 1
    for _ in range(4):  # at most four bytes
        if index >= len(data):
            return None
        byte = data[index]
        index += 1
        length += (byte & 127) * multiplier
        multiplier *= 128
        if not byte & 128:
            return length, index
    return -1, index


def puback(mid: int) -> bytes:
    """The acknowledgement of a QoS 1 PUBLISH (MQTT 3.1.1, 3.4)."""
    return bytes((0x40, 0x02, mid >> 8, mid & 0xFF))
