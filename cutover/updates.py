"""What sources deliver to the control room: typed, immutable updates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from .acknowledgements import Acknowledgements
from .events import StreamEvent
from .freeze import FreezeState
from .gates import CheckReading, Signoffs
from .permissions import Permissions
from .playbook import PlaybookRun
from .presence import PeerAction, Presence
from .rollouts import RolloutStatus
from .routing import Routing
from .signals import Signal
from .silences import Silences
from .smoke import VerificationUpdate
from .waves import RepoState, WaveStatus


@dataclass(frozen=True)
class SignalUpdate:
    """A fresh reading of one signal."""

    signal: Signal


@dataclass(frozen=True)
class HistoryBackfill:
    """Past readings of one signal, oldest first, so sparklines start full."""

    name: str
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True)
class GapBackfill:
    """Readings of one signal over a time its source could not be asked (a short outage),
    fetched once it answers again, oldest first: the triggers are evaluated over them."""

    name: str
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True)
class Alert:
    """An active Alertmanager alert."""

    alertname: str
    summary: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    since: datetime | None = None
    #: Alertmanager's annotations (summary, description, runbook_url, ...), for the detail.
    annotations: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AlertsUpdate:
    """Every active alert the triggers care about, as of `at`."""

    source: str
    alerts: tuple[Alert, ...]
    at: datetime


@dataclass(frozen=True)
class RolloutsUpdate:
    """The full set of rollouts in scope, as of `at`."""

    source: str
    rollouts: tuple[RolloutStatus, ...]
    at: datetime


@dataclass(frozen=True)
class WavesUpdate:
    """Recorded wave states, repository states and shadow pass rates by wave."""

    source: str
    statuses: tuple[WaveStatus, ...]
    repo_states: Mapping[str, RepoState]
    shadow_pass: Mapping[str, float]
    at: datetime
    green_since: datetime | None = None


@dataclass(frozen=True)
class WaveMetricsUpdate:
    """Repository states and shadow pass rates measured by Prometheus.

    Unlike `WavesUpdate` it carries no recorded wave states: those belong to the cutover
    ConfigMap, and a metrics poll must not erase them.
    """

    source: str
    repo_states: Mapping[str, RepoState]
    shadow_pass: Mapping[str, float]
    at: datetime


@dataclass(frozen=True)
class FreezeUpdate:
    source: str
    state: FreezeState
    at: datetime


@dataclass(frozen=True)
class EventsUpdate:
    """A batch of stream events, oldest first; `dropped` more arrived in a burst and were
    let go of by a bounded buffer: counted, never shown."""

    source: str
    events: tuple[StreamEvent, ...]
    dropped: int = 0

    @property
    def count(self) -> int:
        return len(self.events) + self.dropped


@dataclass(frozen=True)
class RejectedPayload:
    """A message that broke the contract, kept for the diagnostics view."""

    topic: str
    reason: str
    detail: str
    excerpt: str
    at: datetime


@dataclass(frozen=True)
class PayloadDiagnostics:
    """A source's exact message counters and its latest rejected payloads, as of `at`.

    A snapshot, not a delta: the newest one replaces the last, so none can be double-counted.
    """

    source: str
    received: int
    accepted: int
    rejected: Mapping[str, int]
    recent: tuple[RejectedPayload, ...]
    at: datetime
    #: Accepted events the display buffer let go of in a burst; counted, never shown.
    dropped_for_display: int = 0
    #: Events heard again (a QoS 1 redelivery), known by their id: not counted twice.
    duplicates: int = 0

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())


class HealthState(str, Enum):
    CONNECTING = "connecting"
    CONNECTED = "ok"
    STALE = "stale"
    ERROR = "error"


@dataclass(frozen=True)
class SourceHealth:
    """A source's own word on its connection."""

    source: str
    state: HealthState
    at: datetime
    reason: str = ""
    #: Where the source talks to, `host:port`, so a failure names the server it failed on.
    address: str = ""
    #: When the source tries again after a failure, on the source's clock.
    retry_at: datetime | None = None


@dataclass(frozen=True)
class PresenceUpdate:
    """Every other control room announcing itself, as of `at`."""

    source: str
    operators: tuple[Presence, ...]
    at: datetime
    #: Another room sharing this one's MQTT client id (a session takeover), in words.
    warning: str = ""


@dataclass(frozen=True)
class PeerActionUpdate:
    """Actions other control rooms journalled since the last update."""

    source: str
    actions: tuple[PeerAction, ...]
    at: datetime


@dataclass(frozen=True)
class PermissionsUpdate:
    """The access reviews' result, as a source delivers it."""

    source: str
    permissions: Permissions
    at: datetime


@dataclass(frozen=True)
class GateReadingsUpdate:
    """A probe's readings of the gate checks it can answer, as of `at`."""

    source: str
    readings: tuple[CheckReading, ...]
    at: datetime


@dataclass(frozen=True)
class SignoffsUpdate:
    """The Go/No-Go sign-offs as recorded, as of `at`."""

    source: str
    signoffs: Signoffs
    at: datetime


@dataclass(frozen=True)
class AcknowledgementsUpdate:
    """The acknowledged triggers as recorded, as of `at`."""

    source: str
    acknowledgements: Acknowledgements
    at: datetime


@dataclass(frozen=True)
class SilencesUpdate:
    """Alertmanager's silences on the alerts the triggers name, as of `at`."""

    source: str
    silences: Silences
    at: datetime


@dataclass(frozen=True)
class PlaybookUpdate:
    """The rollback playbook's run as recorded (ConfigMap, simulator or the retained topic)."""

    source: str
    run: PlaybookRun
    at: datetime


@dataclass(frozen=True)
class RoutingUpdate:
    """The routing switch as recorded: where the dispatcher sends builds."""

    source: str
    routing: Routing
    at: datetime


Update = (
    SignalUpdate
    | HistoryBackfill
    | GapBackfill
    | AlertsUpdate
    | RolloutsUpdate
    | WavesUpdate
    | WaveMetricsUpdate
    | FreezeUpdate
    | EventsUpdate
    | SourceHealth
    | PayloadDiagnostics
    | PresenceUpdate
    | PeerActionUpdate
    | PermissionsUpdate
    | GateReadingsUpdate
    | SignoffsUpdate
    | VerificationUpdate
    | AcknowledgementsUpdate
    | SilencesUpdate
    | PlaybookUpdate
    | RoutingUpdate
)
