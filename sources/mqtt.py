"""Build and platform events and the retained freeze state, over MQTT (`aiomqtt`).

Subscribes to the contract's topics at QoS 1. With a persistent session (a fixed client id
and `clean_session = false`) the broker keeps what is published while we are away and hands
it over when we come back, so no QoS 1 message is lost across a reconnect. After the broker
goes away we reconnect with exponential backoff and jitter, capped at 30 s, and subscribe
again.

Every payload is validated against the contract (`cutover.payloads`). A bad one is counted
by reason and dropped, the latest few kept for the diagnostics view; it never stops the
stream. Bursts go into a bounded buffer that is drained into the app every `refresh`; the
counters are exact even when the buffer lets go of the oldest events.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import random
import socket
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import aiomqtt

from cutover.config import MqttSection
from cutover.events import StreamEvent
from cutover.payloads import (
    PayloadRejected,
    parse_build_event,
    parse_freeze,
    parse_platform_event,
    parse_presence,
    rfc3339,
)
from cutover.presence import PeerAction, Presence
from cutover.updates import (
    EventsUpdate,
    FreezeUpdate,
    HealthState,
    PayloadDiagnostics,
    PeerActionUpdate,
    PresenceUpdate,
    RejectedPayload,
    SourceHealth,
    Update,
)
from sources.base import Deliver
from sources.secrets import SecretError, read_secret

SOURCE = "mqtt"
QOS = 1
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 30.0
#: Events held between two drains; a burst beyond this drops the oldest from the display.
BUFFER = 5_000
#: Rejected payloads kept for the diagnostics view.
RECENT_REJECTED = 20
EXCERPT = 120


def wall_now() -> datetime:
    return datetime.now(timezone.utc)


class MqttUnavailable(RuntimeError):
    """Publishing while no broker connection is up."""


@dataclass(frozen=True)
class MqttSettings:
    """Where and how to connect, resolved from `[sources.mqtt]` (secrets read)."""

    host: str
    port: int = 1883
    client_id: str = ""
    persistent_session: bool = False
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_bundle: str | None = None
    refresh: timedelta = timedelta(milliseconds=250)
    keepalive: timedelta = timedelta(seconds=15)
    events_topic: str = "maestro/events/#"
    platform_topic: str = "maestro/platform"
    freeze_topic: str = "maestro/cutover/freeze"
    operators_topic: str = "maestro/cutover/operators"
    audit_topic: str = "maestro/cutover/audit"

    @classmethod
    def from_config(
        cls, section: MqttSection, environ: Mapping[str, str] | None = None
    ) -> MqttSettings:
        password = read_secret(
            "sources.mqtt.password",
            file=section.password_file,
            env=section.password_env,
            environ=environ,
        )
        if password and not section.username:
            raise SecretError("sources.mqtt.username: a password is configured but no username")
        client_id = section.client_id
        if section.persistent_session and not client_id:
            # A persistent session is found again by its client id: it must not change.
            client_id = f"maestro-control-room-{socket.gethostname()}-{getpass.getuser()}"
        return cls(
            host=section.host,
            port=section.port,
            client_id=client_id,
            persistent_session=section.persistent_session,
            username=section.username,
            password=password,
            tls=section.tls,
            ca_bundle=section.ca_bundle,
            refresh=section.refresh,
            keepalive=section.keepalive,
            events_topic=section.events_topic,
            platform_topic=section.platform_topic,
            freeze_topic=section.freeze_topic,
            operators_topic=section.operators_topic,
            audit_topic=section.audit_topic,
        )


def _payload_bytes(payload: Any) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if payload is None:
        return b""
    return str(payload).encode()


def _short(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if "Connection refused" in text:
        return "connection refused"
    return text[:80]


class MqttSource:
    """Watches the contract's topics; also the connection the effectors publish on."""

    name = SOURCE

    def __init__(
        self,
        settings: MqttSettings,
        *,
        now: Callable[[], datetime] = wall_now,
        buffer: int = BUFFER,
    ) -> None:
        self.settings = settings
        self.now = now
        self.client: aiomqtt.Client | None = None
        self.connections = 0
        self.attempts = 0
        self.received = 0
        self.accepted = 0
        self.dropped_for_display = 0
        self.rejected: Counter[str] = Counter()
        self.recent: deque[RejectedPayload] = deque(maxlen=RECENT_REJECTED)
        self._events: deque[StreamEvent] = deque(maxlen=buffer)
        self._freeze: FreezeUpdate | None = None
        self._reported: tuple[int, int] = (-1, -1)
        self._dropped_since_drain = 0
        self._arrived = asyncio.Event()
        #: This control room, announced retained while connected, cleared by the last will.
        self.me: Presence | None = None
        self.others: dict[str, Presence] = {}
        self._others_changed = False
        self._peer_actions: deque[PeerAction] = deque(maxlen=RECENT_REJECTED)
        self.me_as_audited: tuple[str, str] | None = None

    def present_as(self, me: Presence, audited_as: tuple[str, str]) -> None:
        """Announce this control room on the operators topic from the next connection on;
        `audited_as` is (user, host) as this room's audit entries name it, so its own
        actions heard back on the audit topic are not reported as another's."""
        self.me = me
        self.me_as_audited = audited_as

    @property
    def presence_topic(self) -> str | None:
        return None if self.me is None else f"{self.settings.operators_topic}/{self.me.operator_id}"

    @classmethod
    def from_config(
        cls, section: MqttSection, environ: Mapping[str, str] | None = None
    ) -> MqttSource:
        return cls(MqttSettings.from_config(section, environ))

    # --- receiving --------------------------------------------------------------------------

    def receive(self, topic: str, payload: bytes) -> None:
        """Validate one message and keep what it means; count it either way."""
        if topic == self.presence_topic:
            return  # our own presence, heard back: not a message to count
        self.received += 1
        self._arrived.set()
        settings = self.settings
        try:
            if aiomqtt.Topic(topic).matches(settings.freeze_topic):
                state = parse_freeze(payload)
                self._freeze = FreezeUpdate(SOURCE, state, self.now())
            elif aiomqtt.Topic(topic).matches(settings.platform_topic):
                self._keep(parse_platform_event(payload))
            elif aiomqtt.Topic(topic).matches(settings.events_topic):
                self._keep(parse_build_event(payload))
            elif self.me is not None and aiomqtt.Topic(topic).matches(
                f"{settings.operators_topic}/+"
            ):
                self._presence(topic, payload)
            elif self.me is not None and aiomqtt.Topic(topic).matches(settings.audit_topic):
                self._peer_action(payload)
            else:
                return  # a topic we did not ask for (a broker's bridge, say): not ours to judge
        except PayloadRejected as rejected:
            self.rejected[rejected.reason] += 1
            excerpt = payload[:EXCERPT].decode("utf-8", "replace")
            self.recent.append(
                RejectedPayload(topic, rejected.reason, rejected.detail, excerpt, self.now())
            )
            return
        self.accepted += 1

    def _keep(self, event: StreamEvent) -> None:
        if len(self._events) == self._events.maxlen:
            self.dropped_for_display += 1
            self._dropped_since_drain += 1
        self._events.append(event)

    def _presence(self, topic: str, payload: bytes) -> None:
        operator_id = topic.rsplit("/", 1)[-1]
        if self.me is not None and operator_id == self.me.operator_id:
            return
        if not payload:  # cleared: a last will, or a clean goodbye
            self._others_changed |= self.others.pop(operator_id, None) is not None
            return
        self.others[operator_id] = parse_presence(operator_id, payload)
        self._others_changed = True

    def _peer_action(self, payload: bytes) -> None:
        try:
            action = PeerAction.from_entry(json.loads(payload))
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise PayloadRejected("not an audit entry", str(error)) from error
        if (action.operator, action.host) != self.me_as_audited:
            self._peer_actions.append(action)

    def drain(self) -> list[Update]:
        """What arrived since the last drain, as updates."""
        updates: list[Update] = []
        if self._events or self._dropped_since_drain:
            updates.append(EventsUpdate(SOURCE, tuple(self._events), self._dropped_since_drain))
            self._events.clear()
            self._dropped_since_drain = 0
        if self._others_changed:
            self._others_changed = False
            updates.append(PresenceUpdate(SOURCE, tuple(self.others.values()), self.now()))
        if self._peer_actions:
            updates.append(PeerActionUpdate(SOURCE, tuple(self._peer_actions), self.now()))
            self._peer_actions.clear()
        if self._freeze is not None:
            updates.append(self._freeze)
            self._freeze = None
        counts = (self.received, self.dropped_for_display)
        if counts != self._reported:
            self._reported = counts
            updates.append(self.diagnostics())
        return updates

    def diagnostics(self) -> PayloadDiagnostics:
        return PayloadDiagnostics(
            SOURCE,
            received=self.received,
            accepted=self.accepted,
            rejected=dict(self.rejected),
            recent=tuple(self.recent),
            at=self.now(),
            dropped_for_display=self.dropped_for_display,
        )

    # --- the connection ----------------------------------------------------------------------

    def _client(self) -> aiomqtt.Client:
        s = self.settings
        tls = aiomqtt.TLSParameters(ca_certs=s.ca_bundle) if s.tls else None
        topic = self.presence_topic
        # An empty retained message clears our presence when the connection dies unclean.
        will = None if topic is None else aiomqtt.Will(topic, b"", qos=QOS, retain=True)
        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=s.client_id or None,
            clean_session=not s.persistent_session,
            keepalive=max(1, int(s.keepalive.total_seconds())),
            tls_params=tls,
            timeout=max(5.0, s.keepalive.total_seconds()),
            will=will,
        )

    def backoff(self) -> float:
        """Seconds before the next attempt: doubling from 0.5 s, capped at 30 s, jittered."""
        ceiling = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, self.attempts - 1))
        return float(ceiling * random.uniform(0.5, 1.0))

    async def run(self, deliver: Deliver) -> None:
        drainer = asyncio.create_task(self._drain_every_refresh(deliver))
        try:
            while True:
                try:
                    await self._session(deliver)
                except aiomqtt.MqttError as error:
                    self.client = None
                    self.attempts += 1
                    delay = self.backoff()
                    reason = f"{_short(error)}; retrying in {delay:.1f}s"
                    deliver([*self.drain(), SourceHealth(SOURCE, HealthState.ERROR, self.now(),
                                                         reason)])  # fmt: skip
                    await asyncio.sleep(delay)
        finally:
            self.client = None
            drainer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drainer

    async def _session(self, deliver: Deliver) -> None:
        s = self.settings
        async with self._client() as client:
            topics = [s.events_topic, s.platform_topic, s.freeze_topic]
            if self.me is not None:
                topics += [f"{s.operators_topic}/+", s.audit_topic]
            for topic in topics:
                await client.subscribe(topic, qos=QOS)
            self.client = client
            self.connections += 1
            self.attempts = 0
            deliver([SourceHealth(SOURCE, HealthState.CONNECTED, self.now())])
            presence = self.presence_topic
            if presence is not None and self.me is not None:
                body = self.me.payload(rfc3339(self.me.since))
                await client.publish(presence, json.dumps(body).encode(), qos=QOS, retain=True)
            try:
                async for message in client.messages:
                    self.receive(str(message.topic), _payload_bytes(message.payload))
            except asyncio.CancelledError:
                if presence is not None:
                    # Leaving cleanly: the will only fires on an unclean end, so say goodbye.
                    # At QoS 0, with no wait for an acknowledgement: the DISCONNECT that
                    # follows on the same connection is handled after it, and a slow broker
                    # never keeps this connection (and its session's messages) alive.
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(
                            client.publish(presence, b"", qos=0, retain=True), 0.2
                        )
                raise
        # The iterator only ends when the connection does.
        raise aiomqtt.MqttError("disconnected")

    async def _drain_every_refresh(self, deliver: Deliver) -> None:
        """Deliver at most once a `refresh`, but at once after a quiet spell: a lone event
        is on screen without waiting out the interval, and a burst still comes in batches."""
        while True:
            await self._arrived.wait()
            self._arrived.clear()
            updates = self.drain()
            if updates:
                deliver(updates)
            await asyncio.sleep(self.settings.refresh.total_seconds())

    # --- publishing, for the effectors (freeze, presence, audit) -------------------------------

    async def publish(
        self, topic: str, payload: Mapping[str, Any], *, retain: bool = False
    ) -> None:
        """Publish a JSON payload at QoS 1; MqttUnavailable while disconnected."""
        client = self.client
        if client is None:
            raise MqttUnavailable(f"not connected to {self.settings.host}:{self.settings.port}")
        await client.publish(topic, json.dumps(dict(payload)).encode(), qos=QOS, retain=retain)
