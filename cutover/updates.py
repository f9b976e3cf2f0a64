"""What sources deliver to the control room: typed, immutable updates."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum

from cutover.events import StreamEvent
from cutover.freeze import FreezeState
from cutover.rollouts import RolloutStatus
from cutover.signals import Signal
from cutover.waves import RepoState, WaveStatus


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
class Alert:
    """An active Alertmanager alert."""

    alertname: str
    summary: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    since: datetime | None = None


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
class FreezeUpdate:
    source: str
    state: FreezeState
    at: datetime


@dataclass(frozen=True)
class EventsUpdate:
    """A batch of stream events, oldest first."""

    source: str
    events: tuple[StreamEvent, ...]


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


Update = (
    SignalUpdate
    | HistoryBackfill
    | AlertsUpdate
    | RolloutsUpdate
    | WavesUpdate
    | FreezeUpdate
    | EventsUpdate
    | SourceHealth
)
