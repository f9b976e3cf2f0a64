"""Build and platform events and the retained freeze state, over MQTT (paho, read in gulps).

Subscribes to the contract's topics at QoS 1. With a persistent session (a fixed client id
and `clean_session = false`) the broker keeps what is published while we are away and hands
it over when we come back, so no QoS 1 message is lost across a reconnect. After the broker
goes away we reconnect with exponential backoff and jitter, capped at 30 s, and subscribe
again.

Every payload is validated against the contract (`cutover.payloads`). A bad one is counted
by reason and dropped, the latest few kept for the diagnostics view; it never stops the
stream: whatever a message holds, it ends as an event or a counted rejection, and it is
acknowledged either way (an exception out of paho's `on_message` would drop the connection
before the PUBACK, and the broker would hand the same message over on every reconnect).
QoS 1 is at-least-once: an event heard again (a redelivery after a reconnect) is known by
its id within the last `DEDUP_WINDOW` events and counted as a duplicate, not as news.

Each room announces its presence retained, again once a `heartbeat` with `seen` its time;
another room's that missed three is no longer shown. Rooms sharing a client id would take
each other's session at every connect: the one that announced itself first keeps the id,
the other moves to an id of its own and says so on the health row (as does the first while
it hears the other on its id).

Bursts go into a bounded buffer that is drained into the app at most once a `refresh`,
right after the socket is read (`sources.mqtt_connection` reads a quiet stream once a
`refresh` too, so one wake-up does both); the counters are exact even when the
buffer lets go of the oldest events.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import json
import os
import random
import re
import socket
from collections import Counter, deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

from paho.mqtt.client import topic_matches_sub

from ..cutover.config import MqttSection
from ..cutover.events import BuildEvent, StreamEvent
from ..cutover.payloads import (
    TOO_LARGE,
    PayloadRejected,
    parse_audit_entry,
    parse_build_event,
    parse_freeze,
    parse_platform_event,
    parse_presence,
    rfc3339,
)
from ..cutover.playbook import parse_playbook
from ..cutover.presence import HEARTBEAT, PeerAction, Presence
from ..cutover.routing import parse_routing
from ..cutover.smoke import DeployRun, DrillRun, SmokeRun, VerificationUpdate
from ..cutover.smoke_payloads import parse_deploy, parse_drill, parse_smoke
from ..cutover.updates import (
    EventsUpdate,
    FreezeUpdate,
    HealthState,
    PayloadDiagnostics,
    PeerActionUpdate,
    PlaybookUpdate,
    PresenceUpdate,
    RejectedPayload,
    RoutingUpdate,
    SourceHealth,
    Update,
)
from .base import Beat, Deliver
from .mqtt_connection import Endpoint, MqttConnection, MqttError, Will
from .secrets import SecretError, read_secret

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
MAX_REMEMBERED_TOPIC = 512
#: Events remembered by id to know a redelivery: far more than a broker keeps in flight.
DEDUP_WINDOW = 20_000
#: Other control rooms remembered at most: a topic per room, and anyone may publish one.
MAX_OTHERS = 256
#: The reason a payload is counted under when reading it failed in a way no check foresaw.
UNEXPECTED = "unexpected"


_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def wall_now() -> datetime:
    return datetime.now(timezone.utc)


class MqttUnavailable(RuntimeError):
    """Publishing while no broker connection is up."""


def default_client_id() -> str:
    """One per running control room: two that shared an id would take each other's session
    at every connect. A persistent session then outlives reconnects and broker restarts; to
    outlive a restart of the app too, configure an id."""
    return f"maestro-control-room-{socket.gethostname()}-{getpass.getuser()}-{os.getpid()}"


def verification_topics(section: MqttSection) -> list[str]:
    """The smoke suite's, drills' and deploys' results: one topic level per name."""
    return [
        f"{section.smoke_topic}/+/+",
        f"{section.drill_topic}/+",
        f"{section.deploy_topic}/+",
    ]


def _short(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    if "Connection refused" in text:
        return "connection refused"
    return text[:80]


def excerpt(payload: bytes) -> str:
    """The start of a rejected payload, safe to show on one line: control bytes (a terminal
    escape among them), direction overrides and lone surrogates as U+FFFD."""
    text = payload[:EXCERPT].decode("utf-8", "replace")
    return _UNPRINTABLE.sub("\ufffd", text)


def event_key(event: StreamEvent) -> tuple[str, ...]:
    """What makes an event the same one heard again: a job's id and lifecycle step; a
    platform event's every field (it has no id)."""
    if isinstance(event, BuildEvent):
        return ("job", event.id, event.event, event.status)
    return ("platform", event.event, event.severity, event.message, event.ts.isoformat())


class MqttSource:
    """Watches the contract's topics; also the connection the effectors publish on."""

    name = SOURCE

    def __init__(
        self,
        section: MqttSection,
        *,
        password: str | None = None,
        heartbeat: timedelta = HEARTBEAT,
        now: Callable[[], datetime] = wall_now,
        buffer: int = BUFFER,
    ) -> None:
        #: `[sources.mqtt]` as validated: where to connect, the topics, the refresh.
        self.section = section
        #: Read from the section's password file or variable (`from_config`).
        self.password = password
        #: The configured client id, or one of this running room's own.
        self.client_id = section.client_id or default_client_id()
        #: How often this room repeats its presence, and how stale another's may grow.
        self.heartbeat = heartbeat
        self.now = now
        self.client: MqttConnection | None = None
        self.connections = 0
        self.attempts = 0
        self.received = 0
        self.accepted = 0
        self.dropped_for_display = 0
        self.rejected: Counter[str] = Counter()
        self.duplicates = 0
        self._heard: set[tuple[str, ...]] = set()
        self._heard_order: deque[tuple[str, ...]] = deque()
        self.recent: deque[RejectedPayload] = deque(maxlen=RECENT_REJECTED)
        self._events: deque[StreamEvent] = deque(maxlen=buffer)
        self._freeze: FreezeUpdate | None = None
        self._playbook: PlaybookUpdate | None = None
        self._routing: RoutingUpdate | None = None
        self._reported: tuple[int, int] = (-1, -1)
        self._dropped_since_drain = 0
        self._arrived = False
        self._kinds: dict[str, str] = {}
        self._deliver: Deliver | None = None
        self._delivery: asyncio.TimerHandle | None = None
        #: The room's tick, on which a resting socket is read (`step_with`).
        self.beat: Beat | None = None
        self._delivered_at = float("-inf")
        #: This control room, announced retained while connected, cleared by the last will.
        self.me: Presence | None = None
        self.others: dict[str, Presence] = {}
        self._others_changed = False
        self._peer_actions: deque[PeerAction] = deque(maxlen=RECENT_REJECTED)
        self.me_as_audited: tuple[str, str] | None = None
        #: Another live control room connecting with this one's client id, in words.
        self.takeover = ""
        self._client_id = self.client_id
        #: Set when this room moves to a client id of its own: reconnect with it.
        self._move: asyncio.Event | None = None
        self._smoke: list[SmokeRun] = []
        self._drills: list[DrillRun] = []
        self._deploys: list[DeployRun] = []

    def present_as(self, me: Presence, audited_as: tuple[str, str]) -> None:
        """Announce this control room on the operators topic from the next connection on;
        `audited_as` is (user, host) as this room's audit entries name it, so its own
        actions heard back on the audit topic are not reported as another's."""
        self.me = replace(me, client_id=self.client_id)
        self.me_as_audited = audited_as
        self._kinds.clear()

    @property
    def presence_topic(self) -> str | None:
        return None if self.me is None else f"{self.section.operators_topic}/{self.me.operator_id}"

    @classmethod
    def from_config(
        cls, section: MqttSection, environ: Mapping[str, str] | None = None
    ) -> MqttSource:
        """The source for `[sources.mqtt]`, its password read from its file or variable."""
        password = read_secret(
            "sources.mqtt.password",
            file=section.password_file,
            env=section.password_env,
            environ=environ,
        )
        if password and not section.username:
            raise SecretError("sources.mqtt.username: a password is configured but no username")
        return cls(section, password=password)

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
                if not self._keep(parse_build_event(payload, now=self.now())):
                    return
            elif kind == "platform":
                if not self._keep(parse_platform_event(payload, now=self.now())):
                    return
            elif kind == "freeze":
                state = parse_freeze(payload, now=self.now())
                self._freeze = FreezeUpdate(SOURCE, state, self.now())
            elif kind == "playbook":
                run = parse_playbook(payload, now=self.now())
                self._playbook = PlaybookUpdate(SOURCE, run, self.now())
            elif kind == "routing":
                routing = parse_routing(payload, now=self.now())
                self._routing = RoutingUpdate(SOURCE, routing, self.now())
            elif kind == "operators":
                self._presence(topic, payload)
            elif kind == "audit":
                self._peer_action(payload)
            elif kind == "smoke":
                self._smoke.append(
                    parse_smoke(topic, payload, self.section.smoke_topic, now=self.now())
                )
            elif kind == "drill":
                self._drills.append(
                    parse_drill(topic, payload, self.section.drill_topic, now=self.now())
                )
            elif kind == "deploy":
                self._deploys.append(
                    parse_deploy(topic, payload, self.section.deploy_topic, now=self.now())
                )
            else:
                return  # a topic we did not ask for (a broker's bridge, say): not ours to judge
        except PayloadRejected as rejected:
            self._reject(topic, payload, rejected.reason, rejected.detail)
            return
        except Exception as error:  # outside input must never end the stream
            self._reject(topic, payload, UNEXPECTED, f"{type(error).__name__}: {error}"[:200])
            return
        self.accepted += 1

    def _reject(self, topic: str, payload: bytes, reason: str, detail: str) -> None:
        self.rejected[reason] += 1
        self.recent.append(
            RejectedPayload(topic[:200], reason, detail, excerpt(payload), self.now())
        )

    def refused_by_connection(self, topic: str, payload: bytes, error: Exception) -> None:
        """A message whose handling failed past `receive`'s own guard: counted, acknowledged."""
        self.received += 1
        self._reject(topic, payload, UNEXPECTED, f"{type(error).__name__}: {error}"[:200])

    def _kind(self, topic: str) -> str:
        """Which of our subscriptions a topic falls under; remembered, as matching a topic
        against the wildcards costs more than the rest of taking in a message."""
        s = self.section
        if topic == self.presence_topic:
            kind = "mine"
        elif topic_matches_sub(s.freeze_topic, topic):
            kind = "freeze"
        elif topic == s.playbook_topic:
            kind = "playbook"
        elif topic == s.routing_topic:
            kind = "routing"
        elif topic_matches_sub(s.platform_topic, topic):
            kind = "platform"
        elif topic_matches_sub(s.events_topic, topic):
            kind = "events"
        elif topic_matches_sub(f"{s.smoke_topic}/#", topic):
            kind = "smoke"
        elif topic_matches_sub(f"{s.drill_topic}/#", topic):
            kind = "drill"
        elif topic_matches_sub(f"{s.deploy_topic}/#", topic):
            kind = "deploy"
        elif self.me is not None and topic_matches_sub(f"{s.operators_topic}/+", topic):
            kind = "operators"
        elif self.me is not None and topic_matches_sub(s.audit_topic, topic):
            kind = "audit"
        else:
            kind = "other"
        if len(topic) > MAX_REMEMBERED_TOPIC:
            return kind  # anyone may publish topics up to 64 KiB long: not worth a place
        if len(self._kinds) >= KNOWN_TOPICS:
            self._kinds.clear()
        self._kinds[topic] = kind
        return kind

    def _keep(self, event: StreamEvent) -> bool:
        """Hold an event for the next drain; False (counted) when it was heard already."""
        key = event_key(event)
        if key in self._heard:
            self.duplicates += 1
            return False
        self._heard.add(key)
        self._heard_order.append(key)
        if len(self._heard_order) > DEDUP_WINDOW:
            self._heard.discard(self._heard_order.popleft())
        if len(self._events) == self._events.maxlen:
            self.dropped_for_display += 1
            self._dropped_since_drain += 1
        self._events.append(event)
        return True

    def _presence(self, topic: str, payload: bytes) -> None:
        operator_id = topic.rsplit("/", 1)[-1]
        if self.me is not None and operator_id == self.me.operator_id:
            return
        if not payload:  # cleared: a last will, or a clean goodbye
            self._others_changed |= self.others.pop(operator_id, None) is not None
            return
        presence = parse_presence(operator_id, payload, now=self.now())
        if presence.expired(self.now(), self.heartbeat):
            # Retained from a room that stopped beating without its will being heard.
            self._others_changed |= self.others.pop(operator_id, None) is not None
            return
        if operator_id not in self.others and len(self.others) >= MAX_OTHERS:
            raise PayloadRejected(TOO_LARGE, f"more than {MAX_OTHERS} control rooms")
        self.others[operator_id] = presence
        self._others_changed = True
        self._check_takeover()

    def expire_others(self) -> None:
        """Forget the rooms that missed their heartbeats; called once a heartbeat."""
        now = self.now()
        gone = [key for key, p in self.others.items() if p.expired(now, self.heartbeat)]
        for key in gone:
            del self.others[key]
        if gone:
            self._others_changed = True
            self._check_takeover()

    def _check_takeover(self) -> None:
        """Another live room connecting with our client id takes our session at each of its
        connects, and we take it back at ours. The one that announced itself first keeps
        the id; the other moves to an id of its own. Either way, a warning says so."""
        me = self.me
        if me is None:
            return
        rivals = [p for p in self.others.values() if p.client_id == self._client_id]
        warning = ""
        if rivals:
            rival = min(rivals, key=lambda p: (p.since, p.operator_id))
            who = f"{rival.operator}@{rival.host}"
            if (rival.since, rival.operator_id) < (me.since, me.operator_id):
                moved = f"{self.client_id}-{os.getpid()}"
                warning = (
                    f"MQTT client id {self._client_id} is {who}'s: each took the other's"
                    f" session; this room now connects as {moved}"
                )
                self._client_id = moved
                self.me = replace(me, client_id=moved)
                if self._move is not None:
                    self._move.set()
            else:
                warning = (
                    f"MQTT session taken over: {who} connects with this room's client id"
                    f" {self._client_id}"
                )
        elif self.takeover.startswith("MQTT session taken over"):
            warning = ""  # the other room moved on
        else:
            warning = self.takeover  # a move of our own stays said
        if warning != self.takeover:
            self.takeover = warning
            self._others_changed = True

    def _peer_action(self, payload: bytes) -> None:
        entry = parse_audit_entry(payload)
        try:
            action = PeerAction.from_entry(entry)
        except (ValueError, KeyError, TypeError, AttributeError) as error:
            raise PayloadRejected("not an audit entry", str(error)[:120]) from error
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
            others = tuple(self.others.values())
            updates.append(PresenceUpdate(SOURCE, others, self.now(), warning=self.takeover))
        if self._peer_actions:
            updates.append(PeerActionUpdate(SOURCE, tuple(self._peer_actions), self.now()))
            self._peer_actions.clear()
        if self._freeze is not None:
            updates.append(self._freeze)
            self._freeze = None
        for retained in (self._playbook, self._routing):
            if retained is not None:
                updates.append(retained)
        self._playbook = self._routing = None
        if self._smoke or self._drills or self._deploys:
            updates.append(
                VerificationUpdate(
                    SOURCE, self.now(), tuple(self._smoke), tuple(self._drills),
                    tuple(self._deploys),
                )
            )  # fmt: skip
            self._smoke, self._drills, self._deploys = [], [], []
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
            duplicates=self.duplicates,
        )

    # --- the connection ----------------------------------------------------------------------

    def _endpoint(self) -> Endpoint:
        topic = self.presence_topic
        return Endpoint.of(
            self.section,
            client_id=self._client_id,
            password=self.password,
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
                        address=f"{self.section.host}:{self.section.port}",
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
        s = self.section
        connection = MqttConnection(
            self._endpoint(),
            on_message=self.receive,
            on_gulp=self._gulped,
            on_message_failed=self.refused_by_connection,
            pace=s.refresh.total_seconds(),
        )
        async with connection:
            # A persistent session's messages may come before the SUBACK: counted from here.
            self.connections += 1
            topics = [s.events_topic, s.platform_topic, s.freeze_topic, *verification_topics(s)]
            topics += [s.playbook_topic, s.routing_topic]
            if self.me is not None:
                topics += [f"{s.operators_topic}/+", s.audit_topic]
            await connection.subscribe(topics, QOS)
            self.attempts = 0
            self.client = connection
            deliver([SourceHealth(SOURCE, HealthState.CONNECTED, self.now())])
            presence = self.presence_topic
            await self._announce(connection)
            beat = self.beat
            woken = None if beat is None else asyncio.ensure_future(self._wake(connection, beat))
            try:
                await self._heartbeats(connection)
            except asyncio.CancelledError:
                if presence is not None:
                    # Leaving cleanly: the will only fires on an unclean end, so say goodbye.
                    # At QoS 0, with no wait for an acknowledgement: the DISCONNECT that
                    # follows on the same connection is handled after it, and a slow broker
                    # never keeps this connection (and its session's messages) alive.
                    with contextlib.suppress(Exception):
                        await connection.publish(presence, b"", qos=0, retain=True)
                raise
            finally:
                if woken is not None:
                    woken.cancel()
        # `lost` only returns when we ended the connection ourselves.
        raise MqttError("disconnected")

    def step_with(self, beat: Beat, every: timedelta) -> None:
        """Read with the room's tick too, whatever its period: a rest of the socket ends on
        the beat, so the tick's wake-up takes what came and its frame shows it."""
        self.beat = beat

    async def _wake(self, connection: MqttConnection, beat: Beat) -> None:
        while True:
            await beat.wait()
            connection.wake()

    async def _announce(self, connection: MqttConnection) -> None:
        """Our presence, retained, with `seen` now: repeated once a heartbeat."""
        presence, me = self.presence_topic, self.me
        if presence is None or me is None:
            return
        body = me.payload(rfc3339(me.since), rfc3339(self.now()))
        await connection.publish(presence, json.dumps(body).encode(), qos=QOS, retain=True)

    async def _heartbeats(self, connection: MqttConnection) -> None:
        """Until the connection ends: once a heartbeat, announce ourselves again and forget
        the rooms that went quiet; on a move to our own client id, end this connection."""
        every = self.heartbeat.total_seconds()
        move = self._move = asyncio.Event()
        lost = asyncio.ensure_future(connection.lost())
        moved = asyncio.ensure_future(move.wait())
        try:
            while True:
                done, _ = await asyncio.wait(
                    (lost, moved), timeout=every, return_when=asyncio.FIRST_COMPLETED
                )
                if lost in done:
                    lost.result()
                    return
                if moved in done:
                    raise MqttError(f"moving to client id {self._client_id}")
                await self._announce(connection)
                self.expire_others()
                if self._others_changed:
                    self._deliver_now()
        finally:
            self._move = None
            for waiting in (lost, moved):
                waiting.cancel()

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
            wait = self._delivered_at + self.section.refresh.total_seconds() - loop.time()
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
            raise MqttUnavailable(f"not connected to {self.section.host}:{self.section.port}")
        body = json.dumps(dict(payload)).encode()
        await client.publish(topic, body, qos=QOS, retain=retain)
