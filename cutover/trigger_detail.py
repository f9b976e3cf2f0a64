"""What Enter on a rollback trigger shows: its timeline, peak, input history, the alert
behind it and the events of its window. Pure: the screen renders it."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .acknowledgements import Acknowledgement
from .events import BuildEvent, PlatformEvent, StreamEvent
from .room import TriggerTransition
from .triggers import TriggerState, TriggerStatus
from .updates import Alert

#: The alert labels and annotations the detail names first, in this order.
ALERT_FIELDS = ("cve", "image", "severity", "summary", "description", "runbook_url")
#: Events pinned per trigger: a spell's platform events and failed builds, not every build.
PINNED_PER_TRIGGER = 200
#: Notable events kept for a spell noticed after they came.
RECENT_NOTABLE = 2_000
#: Events from before the spell that still belong to it (what led up to it).
LEAD_IN = timedelta(minutes=1)


@dataclass(frozen=True)
class TimelineEntry:
    """One moment in a trigger's life: it went pending, fired, was acknowledged..."""

    at: datetime
    what: str
    by: str = ""


@dataclass(frozen=True)
class TriggerDetail:
    """Everything the trigger detail screen shows about one trigger."""

    status: TriggerStatus
    timeline: tuple[TimelineEntry, ...]
    #: The input signal's recent values, oldest first, one per `interval`.
    history: tuple[float, ...]
    interval: timedelta
    alerts: tuple[Alert, ...]
    events: tuple[StreamEvent, ...]
    window_start: datetime | None
    window_end: datetime | None
    acknowledged: Acknowledgement | None = None


_WORDS = {
    TriggerState.PENDING: "pending",
    TriggerState.FIRING: "firing",
    TriggerState.RESOLVED: "resolved",
    TriggerState.INACTIVE: "inactive",
    TriggerState.UNKNOWN: "unknown (input missing or stale)",
}


def trigger_timeline(
    trigger: str, log: Iterable[TriggerTransition], ack: Acknowledgement | None = None
) -> tuple[TimelineEntry, ...]:
    """The trigger's transitions as the room saw them, with its acknowledgement, by time.
    The start-up moves before it first went off (unknown until the first reading, then
    inactive) say nothing about it and are left out."""
    moves = [move for move in log if move.trigger == trigger]
    quiet = (TriggerState.UNKNOWN, TriggerState.INACTIVE)
    while moves and moves[0].after in quiet:
        moves.pop(0)
    entries = [TimelineEntry(move.at, _WORDS[move.after]) for move in moves]
    if ack is not None and ack.at is not None:
        entries.append(TimelineEntry(ack.at, "acknowledged", ack.by))
    return tuple(sorted(entries, key=lambda entry: entry.at))


def trigger_window(
    trigger: str, log: Sequence[TriggerTransition]
) -> tuple[datetime | None, datetime | None]:
    """The trigger's current spell (from when it went pending to now), or else its last
    spell that fired (to when it resolved); (None, None) when it never went off."""
    start: datetime | None = None
    fired: tuple[datetime | None, datetime | None] = (None, None)
    for move in log:
        if move.trigger != trigger:
            continue
        quiet = move.before in (TriggerState.INACTIVE, TriggerState.RESOLVED)
        if move.after is TriggerState.PENDING or (move.after is TriggerState.FIRING and quiet):
            start = move.at
        if move.after is TriggerState.FIRING and start is not None:
            fired = (start, None)
        elif move.after is TriggerState.RESOLVED and fired[0] is not None:
            fired, start = (fired[0], move.at), None
        elif move.after is TriggerState.INACTIVE:
            start = None
    if start is not None and fired[0] != start:
        return start, None  # pending now, not fired yet
    return fired


def in_window(
    events: Iterable[StreamEvent], start: datetime | None, end: datetime | None
) -> tuple[StreamEvent, ...]:
    """The notable events of a window (platform events, builds that failed), oldest first,
    one of each."""
    if start is None:
        return ()
    earliest = start - LEAD_IN
    seen: dict[tuple[object, ...], StreamEvent] = {}
    for event in events:
        if event.ts < earliest or (end is not None and event.ts > end):
            continue
        if not _pinnable(event):
            continue
        seen.setdefault(_identity(event), event)
    return tuple(sorted(seen.values(), key=lambda event: event.ts))


def _pinnable(event: StreamEvent) -> bool:
    if isinstance(event, PlatformEvent):
        return True
    return event.status in ("failure", "error", "cancelled")


def _identity(event: StreamEvent) -> tuple[object, ...]:
    if isinstance(event, BuildEvent):
        return ("build", event.id, event.event, event.ts)
    return ("platform", event.event, event.message, event.ts)


def alerts_of(alertname: str | None, alerts: Iterable[Alert]) -> tuple[Alert, ...]:
    """The active alerts behind an alert trigger."""
    if not alertname:
        return ()
    return tuple(alert for alert in alerts if alert.alertname == alertname)


def alert_fields(alert: Alert) -> tuple[tuple[str, str], ...]:
    """An alert's labels and annotations, the ones the plan cares about first."""
    merged: dict[str, str] = {**alert.labels, **alert.annotations}
    if alert.summary and "summary" not in merged:
        merged["summary"] = alert.summary
    merged.pop("alertname", None)
    first = [(name, merged.pop(name)) for name in ALERT_FIELDS if name in merged]
    return (*first, *sorted(merged.items()))


class EventPins:
    """The events of each trigger's spell, kept apart from the bounded, filterable stream,
    so that the detail still has them when the stream has moved on. Platform events and
    failed builds are kept apart too: a brownout's hundreds of failures never push out the
    one event that named the cause."""

    def __init__(self, per_trigger: int = PINNED_PER_TRIGGER, recent: int = RECENT_NOTABLE) -> None:
        self.per_trigger = per_trigger
        self._pinned: dict[str, tuple[deque[StreamEvent], deque[StreamEvent]]] = {}
        #: The notable events heard lately: the one that sets a trigger off comes before, or
        #: in the same delivery as, the reading that makes it alarm.
        self._recent: deque[StreamEvent] = deque(maxlen=recent)
        #: Where each trigger's pinned spell began.
        self._spells: dict[str, datetime] = {}

    def offer(self, events: Iterable[StreamEvent], alarming: Mapping[str, datetime | None]) -> None:
        """Pin the notable ones among `events` to each trigger now pending or firing, given
        where its spell began. A spell seen for the first time also takes the notable events
        heard since `LEAD_IN` before it began."""
        notable = [event for event in events if _pinnable(event)]
        self._recent.extend(notable)
        for trigger, began in alarming.items():
            if began is None or self._spells.get(trigger) == began:
                self._pin(trigger, notable)
                continue
            self._spells[trigger] = began
            known = {_identity(event) for event in self.of(trigger)}
            self._pin(
                trigger,
                [
                    event
                    for event in self._recent
                    if event.ts >= began - LEAD_IN and _identity(event) not in known
                ],
            )

    def _pin(self, trigger: str, events: Iterable[StreamEvent]) -> None:
        pins = self._pinned.get(trigger)
        if pins is None:
            pins = self._pinned[trigger] = (
                deque(maxlen=self.per_trigger),
                deque(maxlen=self.per_trigger),
            )
        platform, failures = pins
        for event in events:
            (platform if isinstance(event, PlatformEvent) else failures).append(event)

    def of(self, trigger: str) -> tuple[StreamEvent, ...]:
        """The trigger's pinned events, oldest first."""
        platform, failures = self._pinned.get(trigger, ((), ()))
        return tuple(sorted((*platform, *failures), key=lambda event: event.ts))


def trigger_detail(
    status: TriggerStatus,
    log: Sequence[TriggerTransition],
    history: Mapping[str, Iterable[float]],
    interval: timedelta,
    alerts: Iterable[Alert],
    events: Iterable[StreamEvent],
    ack: Acknowledgement | None = None,
) -> TriggerDetail:
    """The detail of one trigger from what the room holds."""
    spec = status.spec
    start, end = trigger_window(spec.id, log)
    return TriggerDetail(
        status=status,
        timeline=trigger_timeline(spec.id, log, ack),
        history=() if spec.alertname else tuple(history.get(spec.signal, ())),
        interval=interval,
        alerts=alerts_of(spec.alertname, alerts),
        events=in_window(events, start, end),
        window_start=start,
        window_end=end,
        acknowledged=ack,
    )
