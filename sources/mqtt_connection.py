"""One connection to an MQTT broker on the asyncio loop, with paho as its protocol engine.

aiomqtt handed each message to the loop on its own: a wake-up to read it, a task to await
it, another wake-up to write its PUBACK. At twenty build events a second that was most of
the control room's CPU while it only watched. Here the socket is read in gulps: whatever is
waiting is read at once, the PUBACKs go out in one write, and then the socket rests for
`pace` seconds, so a steady stream costs a few wake-ups a second.

A rest must not slow a busy stream, nor one that a broker holds back until we acknowledge
what it sent (mosquitto keeps 20 messages in flight per client, and 1 for in-order
delivery: a rest after each such window would cap the stream at 4 windows a second). So
the socket is read on without rests while `BUSY` packets or more come within `pace`
seconds, and every `PROBE` seconds a rest starts with a `LINGER`: if more comes that soon
after our acknowledgements, the broker was holding it back, and the socket is read on for
as long as that goes on.

paho reads through a read-ahead buffer (`sources.mqtt_readahead`): a gulp takes whole
PUBLISH packets off it directly, and their PUBACKs go out together after paho's own writes.

Everything but `connect`'s blocking socket set-up runs on the loop's thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import ssl
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.reasoncodes import ReasonCode

from ..cutover.config import MqttSection
from .mqtt_readahead import Publish, ReadAhead, puback

#: Packets within `pace` seconds from which the stream counts as busy, read without rests;
#: under the 20 that brokers commonly keep in flight (mosquitto, VerneMQ; EMQX keeps 32).
BUSY = 16
#: Seconds between two probes for a broker that holds messages back, and how long a probe
#: waits for more after the acknowledgements: a round trip on a LAN, well under the gap
#: between two events of a steady stream.
PROBE = 2.0
LINGER = 0.005
#: Packets read in one gulp at most, so a flood never holds the loop for long.
MAX_GULP = 2_000
#: A busy stream is read on at once: a broker holding back all but a window of messages
#: until they are acknowledged would be slowed by any rest. Every `FLOOD_PROBE` seconds it
#: rests `FLOOD_REST` once instead; if more than `FLOOD` packets (over any broker's window)
#: came meanwhile, nothing holds it back, and it is read once a `FLOOD_REST` while that
#: lasts: a few reads of many packets, not a wake-up (and a write of PUBACKs) for every few.
FLOOD = 40
FLOOD_REST = 0.02
FLOOD_PROBE = 0.5


class MqttError(Exception):
    """The connection failed, was refused, timed out or was lost."""


@dataclass(frozen=True)
class Will:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True)
class Endpoint:
    """Where and as whom to connect, in paho's terms; made from `[sources.mqtt]` by `of`,
    which holds the one set of defaults."""

    host: str
    port: int
    client_id: str
    clean_session: bool
    username: str | None
    password: str | None
    tls: bool
    ca_bundle: str | None
    #: Whole seconds, as MQTT counts them.
    keepalive: int
    #: Seconds allowed for connecting, and for each acknowledgement awaited.
    timeout: float
    will: Will | None = None

    @classmethod
    def of(
        cls,
        section: MqttSection,
        *,
        client_id: str | None = None,
        password: str | None = None,
        will: Will | None = None,
    ) -> Endpoint:
        """The connection `section` describes; `client_id` instead of the configured one
        (which may be empty: the broker then names a clean session), `password` as read from
        the section's file or variable."""
        keepalive = max(1, int(section.keepalive.total_seconds()))
        return cls(
            host=section.host,
            port=section.port,
            client_id=section.client_id if client_id is None else client_id,
            clean_session=not section.persistent_session,
            username=section.username,
            password=password,
            tls=section.tls,
            ca_bundle=section.ca_bundle,
            keepalive=keepalive,
            # A broker that answers within a keepalive is alive; never less than 5 s.
            timeout=max(5.0, float(keepalive)),
            will=will,
        )


class MqttConnection:
    """`async with MqttConnection(...)` connects; `on_message(topic, payload)` is called for
    every message, `on_gulp(busy)` after each read of the socket (`busy`: read on without a
    rest, so reads no longer pace themselves); `lost()` waits for the end."""

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        on_message: Callable[[str, bytes], None],
        on_gulp: Callable[[bool], None] = lambda busy: None,
        on_message_failed: Callable[[str, bytes, Exception], None] = lambda t, p, e: None,
        pace: float = 0.0,
    ) -> None:
        self.endpoint = endpoint
        self.on_message = on_message
        self.on_gulp = on_gulp
        self.on_message_failed = on_message_failed
        self.pace = pace
        self._loop = asyncio.get_running_loop()
        self._client = self._paho()
        self._sock: Any = None
        self._reader: ReadAhead | None = None
        #: PUBACKs of the PUBLISH packets read past paho, written together after a gulp.
        self._puback_out = bytearray()
        self._connected: asyncio.Future[None] = self._loop.create_future()
        self._lost: asyncio.Future[None] = self._loop.create_future()
        for future in (self._connected, self._lost):
            future.add_done_callback(_retrieved)
        self._acks: dict[int, asyncio.Future[Sequence[ReasonCode]]] = {}
        self._in_gulp = False
        self._resume: asyncio.TimerHandle | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._reading = False  # the reader is registered with the loop
        self._writing = False  # the writer is
        self._probed_at = float("-inf")
        self._flood_probed_at = float("-inf")
        self._flooding = False
        self._after_flood_rest = False
        #: Recent gulps, (loop time, packets), over the last `pace` seconds.
        self._recent: deque[tuple[float, int]] = deque()
        self._recent_packets = 0
        self._housekeeping: asyncio.Task[None] | None = None
        self._leaving = False

    def _paho(self) -> mqtt.Client:
        e = self.endpoint
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=e.client_id,
            clean_session=e.clean_session,
            protocol=MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,
        )
        client.connect_timeout = e.timeout
        if e.username is not None:
            client.username_pw_set(e.username, e.password)
        if e.tls:
            client.tls_set(ca_certs=e.ca_bundle)
        if e.will is not None:
            w = e.will
            client.will_set(w.topic, w.payload, qos=w.qos, retain=w.retain)
        return client

    # --- connecting and leaving ------------------------------------------------------------

    async def __aenter__(self) -> MqttConnection:
        await self.connect()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.disconnect()

    async def connect(self) -> None:
        client, e = self._client, self.endpoint
        try:
            # The socket's connect and the TLS handshake block: not on the loop. With no
            # write callback set yet, paho writes the CONNECT packet there too.
            await self._loop.run_in_executor(None, client.connect, e.host, e.port, e.keepalive)
        except (OSError, ValueError) as error:
            raise MqttError(str(error) or type(error).__name__) from None
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_acknowledged
        client.on_publish = self._on_published
        client.on_message = self._on_message
        client.on_socket_close = self._on_socket_close
        client.on_socket_register_write = self._on_register_write
        client.on_socket_unregister_write = self._on_unregister_write
        # paho reads through the read-ahead from here on (sources/mqtt_readahead.py).
        self._reader = client._sock = ReadAhead(client.socket())
        self._sock = client.socket()
        self._read_on(self._sock)
        self._flush()
        self._housekeeping = self._loop.create_task(self._keep_alive())
        try:
            await self._wait(self._connected, "the broker's CONNACK")
        except BaseException:
            self._close()
            raise

    async def disconnect(self) -> None:
        """Say goodbye (DISCONNECT) if still connected, and let go of the socket."""
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        if self._sock is not None and not self._lost.done():
            self._leaving = True
            self._client.disconnect()
            self._flush()
            with contextlib.suppress(MqttError, asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._lost), 1.0)
        self._close()

    def _close(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
        sock = self._sock
        if sock is not None:
            self._forget(sock)
            sock.close()
        if not self._lost.done():
            self._lost.set_result(None)

    async def lost(self) -> None:
        """Wait until the connection ends; MqttError unless we ended it."""
        await asyncio.shield(self._lost)

    async def _keep_alive(self) -> None:
        """PINGREQ when the keepalive is due, and the end of a broker that stopped answering.
        Checked four times a keepalive: the broker allows one and a half before it gives up
        on us, and a check once a second would be a wake-up a second of its own."""
        every = max(0.5, self.endpoint.keepalive / 4)
        while self._client.loop_misc() == MQTTErrorCode.MQTT_ERR_SUCCESS:
            self._flush()
            await asyncio.sleep(every)

    # --- subscribing and publishing --------------------------------------------------------

    async def subscribe(self, topics: Sequence[str], qos: int) -> None:
        """Subscribe to every topic in one SUBSCRIBE; MqttError if the broker refuses one."""
        rc, mid = self._client.subscribe([(topic, qos) for topic in topics])
        self._check(rc, "subscribe")
        if mid is None:
            raise MqttError("could not subscribe: no message id")
        self._flush()
        granted = await self._wait(self._ack(mid), "the broker's SUBACK")
        refused = [t for t, code in zip(topics, granted, strict=False) if code.is_failure]
        if refused:
            raise MqttError(f"the broker refused the subscription to {', '.join(refused)}")

    async def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool) -> None:
        """Publish; at QoS 1 wait for the broker's PUBACK."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        self._check(info.rc, "publish")
        self._flush()
        if qos > 0:
            await self._wait(self._ack(info.mid), "the broker's PUBACK")

    def _ack(self, mid: int) -> asyncio.Future[Sequence[ReasonCode]]:
        future: asyncio.Future[Sequence[ReasonCode]] = self._loop.create_future()
        self._acks[mid] = future
        if self._resume is not None and self._sock is not None:
            self._read_on(self._sock)  # resting: wake up for the acknowledgement, not after
        return future

    def _check(self, rc: MQTTErrorCode, what: str) -> None:
        if rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_QUEUE_SIZE):
            raise MqttError(f"could not {what}: {mqtt.error_string(rc)}")

    async def _wait(self, future: asyncio.Future[Any], what: str) -> Any:
        """The future's result, or MqttError on a timeout or the connection's end."""
        try:
            done, _ = await asyncio.wait(
                (future, self._lost),
                timeout=self.endpoint.timeout,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            if not future.done():  # given up on: no longer awaited by its message id
                future.cancel()
                self._acks = {m: f for m, f in self._acks.items() if f is not future}
        if future in done:
            return future.result()
        if self._lost in done:
            self._lost.result()  # raises why it ended
            raise MqttError("disconnected")
        raise MqttError(f"timed out waiting for {what}")

    # --- the socket --------------------------------------------------------------------------

    def _readable(self) -> None:
        """The socket has something: read it all, then rest or read on."""
        sock = self._sock
        if sock is None:
            return
        # Come while lingering after our acknowledgements: the broker was holding it back.
        held_back = self._linger is not None
        self._stop_timers()
        self._next(sock, self._gulp(sock), held_back)

    def wake(self) -> None:
        """End a rest now: the room's tick is awake anyway, and what came meanwhile shows in
        its frame. The reads after it keep their pace from here, so one read in each tick's
        period shares the tick's wake-up."""
        if self._resume is not None and self._sock is not None:
            self._resume.cancel()
            self._read_again(self._sock)

    def _read_again(self, sock: Any) -> None:
        """After a rest: read what came meanwhile in this same wake-up, or wait for more."""
        self._resume = None
        if self._sock is not sock:
            return
        if self._waiting(sock):
            self._next(sock, self._gulp(sock), held_back=False)
        else:
            if self._after_flood_rest:  # nothing came during a flood's rest: no flood
                self._after_flood_rest = self._flooding = False
            self._read_on(sock)

    def _next(self, sock: Any, packets: int, held_back: bool) -> None:
        """After a gulp: read on, linger to probe, or rest; then tell `on_gulp`."""
        if self._sock is not sock:
            return
        now = self._loop.time()
        busy = True
        if not self._quiet(packets, now):
            if self._flood(packets, now):
                self._after_flood_rest = True
                self._rest(sock, FLOOD_REST)
            else:
                self._read_on(sock)
        elif held_back or now - self._probed_at >= PROBE:
            busy = held_back
            self._probed_at = now
            self._read_on(sock)
            self._linger = self._loop.call_later(LINGER, self._rest, sock)
        else:
            busy = False
            self._rest(sock)
        try:
            self.on_gulp(busy)
        except Exception as error:
            self._fail(error)

    def _flood(self, packets: int, now: float) -> bool:
        """Whether a busy stream rests `FLOOD_REST` now (see `FLOOD`)."""
        if not self.pace or self._acks or not self._connected.done():
            return False  # unpaced; or an acknowledgement awaited: no rest to delay it
        if self._after_flood_rest:
            self._after_flood_rest = False
            self._flooding = packets > FLOOD
        elif now - self._flood_probed_at >= FLOOD_PROBE:
            self._flood_probed_at = now
            return True
        return self._flooding

    def _quiet(self, packets: int, now: float) -> bool:
        """Whether the stream is quiet enough to rest, counting a gulp of `packets` now."""
        recent = self._recent
        recent.append((now, packets))
        self._recent_packets += packets
        while recent[0][0] < now - self.pace:
            self._recent_packets -= recent.popleft()[1]
        # An acknowledgement awaited (CONNACK, SUBACK, PUBACK): no rest to delay it.
        awaited = bool(self._acks) or not self._connected.done()
        return bool(self.pace) and not awaited and self._recent_packets < BUSY

    def _read_on(self, sock: Any) -> None:
        self._stop_timers()
        if not self._reading:
            self._reading = True
            self._loop.add_reader(sock, self._readable)

    def _rest(self, sock: Any, seconds: float | None = None) -> None:
        self._stop_timers()
        if self._sock is not sock:
            return
        if self._reading:
            self._reading = False
            self._loop.remove_reader(sock)
        rest = self.pace if seconds is None else seconds
        self._resume = self._loop.call_later(rest, self._read_again, sock)

    def _stop_timers(self) -> None:
        for timer in (self._resume, self._linger):
            if timer is not None:
                timer.cancel()
        self._resume = self._linger = None

    def _gulp(self, sock: Any) -> int:
        """Read every packet waiting, write their PUBACKs together; the number of packets
        read. A failure here ends the connection, as a lost one."""
        client = self._client
        reader = self._reader
        packets = past_paho = 0
        self._in_gulp = True
        try:
            while packets < MAX_GULP:
                # While paho is between packets, a whole PUBLISH is taken here; paho gets
                # the rest, a packet it has begun, and the end of the stream.
                if reader is not None and not reader.ended and client._in_packet["command"] == 0:
                    if not reader.has_whole_packet():
                        reader.fill()
                    message = reader.take_publish()
                    if message is not None:
                        packets += 1
                        past_paho += 1
                        self._published_to_us(message)
                        continue
                    if not reader.buffered and not reader.ended:
                        break  # nothing waiting
                if client.loop_read() != MQTTErrorCode.MQTT_ERR_SUCCESS or self._sock is None:
                    break  # lost: paho has called on_disconnect
                packets += 1
                if not self._waiting(sock):
                    break
            if past_paho:
                # paho's keepalive counts what came as a sign of life, and waits for a
                # PINGRESP only while nothing does: behind a backlog, it may come late.
                client._last_bytes_received = time.monotonic()
            self._in_gulp = False
            self._flush()
        except Exception as error:
            self._fail(error)
        finally:
            self._in_gulp = False
        return packets

    def _published_to_us(self, message: Publish) -> None:
        """A PUBLISH read past paho: handed on as paho would, then acknowledged."""
        try:
            topic = message.topic.decode("utf-8")
        except UnicodeDecodeError:  # a topic name that is not UTF-8
            topic = message.topic.decode("utf-8", "replace")
        self._hand_over(topic, message.payload)
        if message.qos:
            self._puback_out += puback(message.mid)

    def _fail(self, error: Exception) -> None:
        if not self._lost.done():
            self._lost.set_exception(MqttError(f"{type(error).__name__}: {error}"))
        self._close()

    @staticmethod
    def _waiting(sock: Any) -> bool:
        """More to read now: bytes in the kernel's buffer, or decrypted in TLS's own."""
        pending = getattr(sock, "pending", None)
        if pending is not None and pending() > 0:
            return True
        readable, _, _ = select.select([sock], [], [], 0)
        return bool(readable)

    def _flush(self) -> None:
        """Write what paho has queued, then our PUBACKs; what the socket does not take
        waits for writable."""
        client = self._client
        if self._sock is None:
            return
        if client.want_write():
            client.loop_write()
            if client.want_write():
                self._write_on()  # paho's packet goes out whole before our PUBACKs
                return
        if self._puback_out:
            self._write_pubacks()

    def _write_pubacks(self) -> None:
        reader = self._reader
        if reader is None:
            return
        try:
            sent = reader.sock.send(self._puback_out)
        except (BlockingIOError, InterruptedError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
            sent = 0
        except OSError:  # the connection is going: its read says so, and ends it
            self._puback_out.clear()
            return
        del self._puback_out[:sent]
        if self._puback_out:
            self._write_on()

    def _writable(self) -> None:
        try:
            self._flush()
        except Exception as error:
            self._fail(error)
            return
        if not self._client.want_write() and not self._puback_out:
            self._write_off()

    # The loop's registrations are tracked here: removing one that is not there costs asyncio
    # a KeyError with the socket's repr formatted into it.

    def _write_on(self) -> None:
        if self._sock is not None and not self._writing:
            self._writing = True
            self._loop.add_writer(self._sock, self._writable)

    def _write_off(self) -> None:
        if self._sock is not None and self._writing:
            self._writing = False
            self._loop.remove_writer(self._sock)

    def _forget(self, sock: Any) -> None:
        self._sock = None
        self._puback_out.clear()
        self._stop_timers()
        if self._reading:
            self._loop.remove_reader(sock)
        if self._writing:
            self._loop.remove_writer(sock)
        self._reading = self._writing = False

    # --- paho's callbacks (on the loop's thread) ---------------------------------------------

    def _on_register_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        # During a gulp the PUBACKs pile up and go out together when it ends.
        if not self._in_gulp:
            self._write_on()

    def _on_unregister_write(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        if not self._puback_out:
            self._write_off()

    def _on_socket_close(self, client: mqtt.Client, userdata: Any, sock: Any) -> None:
        self._forget(sock)

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if self._connected.done():
            return
        if reason.is_failure:
            self._connected.set_exception(MqttError(f"the broker refused us: {reason}"))
        else:
            self._connected.set_result(None)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        if self._lost.done():
            return
        if self._leaving:
            self._lost.set_result(None)
        else:
            self._lost.set_exception(MqttError("connection lost"))

    def _on_acknowledged(
        self, client: mqtt.Client, userdata: Any, mid: int, codes: Any, props: Any
    ) -> None:
        future = self._acks.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(codes)

    def _on_published(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any
    ) -> None:
        self._on_acknowledged(client, userdata, mid, [reason], props)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # paho sends the PUBACK only after this returns: an exception out of here would end
        # the connection unacknowledged, and the broker would redeliver the same message on
        # every reconnect. So whatever a message does to its reader, it is acknowledged.
        try:
            topic = message.topic
        except UnicodeDecodeError:  # a topic name that is not UTF-8
            topic = message._topic.decode("utf-8", "replace")
        payload = message.payload  # bytes, as paho decodes a PUBLISH
        self._hand_over(topic, payload if isinstance(payload, bytes) else bytes(payload))

    def _hand_over(self, topic: str, body: bytes) -> None:
        try:
            self.on_message(topic, body)
        except Exception as error:
            with contextlib.suppress(Exception):
                self.on_message_failed(topic, body, error)


def _retrieved(future: asyncio.Future[None]) -> None:
    """Mark an ending's exception as seen: whoever cares awaits it, nobody else need."""
    if not future.cancelled():
        future.exception()
