"""Build and platform events and the retained freeze state, over MQTT (paho, read in gulps).

Subscribes to the contract's topics at QoS 1. With a persistent session (a fixed client id
and `clean_session = false`) the broker keeps what is published while we are away and hands
it over when we come back, so no QoS 1 message is lost across a reconnect. After the broker
goes away we reconnect with exponential backoff and jitter, capped at 30 s, and subscribe
again.

Every payload is validated against the contract (`cutover.payloads`). A bad one is counted
by reason and dropped, the latest few kept for the diagnostics view; it never stops the
stream. Bursts go into a bounded buffer that is drained into the app at most once a
`refresh`, right after the socket is read (`sources.mqtt_connection` reads a quiet stream
once a `refresh` too, so one wake-up does both); the counters are exact even when the
buffer lets go of the oldest events.
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

from paho.mqtt.client import topic_matches_sub

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
from sources.mqtt_connection import Endpoint, MqttConnection, MqttError, Will
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
#: Topics whose kind (events, platform, freeze, ...) is remembered; events topics are one
#: per repository, so a few thousand at most in practice.
KNOWN_TOPICS = 4_096


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
        self.client: MqttConnection | None = None
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
        self._arrived = False
        self._kinds: dict[str, str] = {}
        self._deliver: Deliver | None = None
        self._delivery: asyncio.TimerHandle | None = None
        self._delivered_at = float("-inf")
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
        self._kinds.clear()

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
        kind = self._kinds.get(topic)
        if kind is None:
            kind = self._kind(topic)
        if kind == "mine":
            return  # our own presence, heard back: not a message to count
        self.received += 1
        self._arrived = True
        try:
            if kind == "events":
                self._keep(parse_build_event(payload))
            elif kind == "platform":
                self._keep(parse_platform_event(payload))
            elif kind == "freeze":
                state = parse_freeze(payload)
                self._freeze = FreezeUpdate(SOURCE, state, self.now())
            elif kind == "operators":
                self._presence(topic, payload)
            elif kind == "audit":
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

    def _kind(self, topic: str) -> str:
        """Which of our subscriptions a topic falls under; remembered, as matching a topic
        against the wildcards costs more than the rest of taking in a message."""
        s = self.settings
        if topic == self.presence_topic:
            kind = "mine"
        elif topic_matches_sub(s.freeze_topic, topic):
            kind = "freeze"
        elif topic_matches_sub(s.platform_topic, topic):
            kind = "platform"
        elif topic_matches_sub(s.events_topic, topic):
            kind = "events"
        elif self.me is not None and topic_matches_sub(f"{s.operators_topic}/+", topic):
            kind = "operators"
        elif self.me is not None and topic_matches_sub(s.audit_topic, topic):
            kind = "audit"
        else:
            kind = "other"
        if len(self._kinds) >= KNOWN_TOPICS:
            self._kinds.clear()
        self._kinds[topic] = kind
        return kind

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

    def _endpoint(self) -> Endpoint:
        s = self.settings
        topic = self.presence_topic
        keepalive = max(1, int(s.keepalive.total_seconds()))
        return Endpoint(
            host=s.host,
            port=s.port,
            client_id=s.client_id,
            clean_session=not s.persistent_session,
            username=s.username,
            password=s.password,
            tls=s.tls,
            ca_bundle=s.ca_bundle,
            keepalive=keepalive,
            timeout=max(5.0, float(keepalive)),
            # An empty retained message clears our presence when the connection dies unclean.
            will=None if topic is None else Will(topic, b"", qos=QOS, retain=True),
        )

    def backoff(self) -> float:
        """Seconds before the next attempt: doubling from 0.5 s, capped at 30 s, jittered."""
        ceiling = min(MAX_BACKOFF, FIRST_BACKOFF * 2 ** max(0, self.attempts - 1))
        return float(ceiling * random.uniform(0.5, 1.0))

    async def run(self, deliver: Deliver) -> None:
        self._deliver = deliver
        try:
            while True:
                try:
                    await self._session(deliver)
                except MqttError as error:
                    self.client = None
                    self.attempts += 1
                    delay = self.backoff()
                    now = self.now()
                    failed = SourceHealth(
                        SOURCE,
                        HealthState.ERROR,
                        now,
                        _short(error),
                        address=f"{self.settings.host}:{self.settings.port}",
                        retry_at=now + timedelta(seconds=delay),
                    )
                    deliver([*self.drain(), failed])
                    await asyncio.sleep(delay)
        finally:
            self.client = None
            self._deliver = None
            if self._delivery is not None:
                self._delivery.cancel()
                self._delivery = None

    async def _session(self, deliver: Deliver) -> None:
        s = self.settings
        connection = MqttConnection(
            self._endpoint(),
            on_message=self.receive,
            on_gulp=self._gulped,
            pace=s.refresh.total_seconds(),
        )
        async with connection:
            # A persistent session's messages may come before the SUBACK: counted from here.
            self.connections += 1
            topics = [s.events_topic, s.platform_topic, s.freeze_topic]
            if self.me is not None:
                topics += [f"{s.operators_topic}/+", s.audit_topic]
            await connection.subscribe(topics, QOS)
            self.attempts = 0
            self.client = connection
            deliver([SourceHealth(SOURCE, HealthState.CONNECTED, self.now())])
            presence = self.presence_topic
            if presence is not None and self.me is not None:
                body = self.me.payload(rfc3339(self.me.since))
                await connection.publish(presence, json.dumps(body).encode(), qos=QOS, retain=True)
            try:
                await connection.lost()
            except asyncio.CancelledError:
                if presence is not None:
                    # Leaving cleanly: the will only fires on an unclean end, so say goodbye.
                    # At QoS 0, with no wait for an acknowledgement: the DISCONNECT that
                    # follows on the same connection is handled after it, and a slow broker
                    # never keeps this connection (and its session's messages) alive.
                    with contextlib.suppress(Exception):
                        await connection.publish(presence, b"", qos=0, retain=True)
                raise
        # `lost` only returns when we ended the connection ourselves.
        raise MqttError("disconnected")

    def _gulped(self, busy: bool) -> None:
        """After each read of the socket: deliver what arrived. A quiet stream is read once a
        `refresh` already; a busy one is delivered once a `refresh`, in batches."""
        if not self._arrived:
            return
        if not busy:
            if self._delivery is not None:
                self._delivery.cancel()
            self._deliver_now()
        elif self._delivery is None:
            loop = asyncio.get_running_loop()
            wait = self._delivered_at + self.settings.refresh.total_seconds() - loop.time()
            self._delivery = loop.call_later(max(0.0, wait), self._deliver_now)

    def _deliver_now(self) -> None:
        self._delivery = None
        self._arrived = False
        updates = self.drain()
        if updates and self._deliver is not None:
            self._delivered_at = asyncio.get_running_loop().time()
            self._deliver(updates)

    # --- publishing, for the effectors (freeze, presence, audit) -------------------------------

    async def publish(
        self, topic: str, payload: Mapping[str, Any], *, retain: bool = False
    ) -> None:
        """Publish a JSON payload at QoS 1; MqttUnavailable while disconnected."""
        client = self.client
        if client is None:
            raise MqttUnavailable(f"not connected to {self.settings.host}:{self.settings.port}")
        body = json.dumps(dict(payload)).encode()
        await client.publish(topic, body, qos=QOS, retain=retain)
