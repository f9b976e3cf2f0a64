"""Incidents: each firing of a rollback trigger, from the condition's onset to its
resolution, and the plan's §7 figures MTTD (onset → fired), MTTA (fired → acknowledged) and
MTTR (fired → resolved).

An incident is kept as append-only events (`onset`, `fired`, `acknowledged`, `mitigated`,
`resolved`; later kinds, such as a playbook step, fold in the same way), so a record written
by one control room and read by another, or after a restart, is one line per fact. Every
time is on the room's clock, so scaled simulator time and real time line up. Pure: the log
in sources/ reads and writes the lines.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from statistics import mean
from typing import Any, Protocol

from .acknowledgements import Acknowledgements
from .durations import format_duration
from .freeze import FreezeState
from .playbook import PlaybookRun, StepState
from .triggers import TriggerState, TriggerStatus


class ObservedView(Protocol):
    """What the tracker reads of the room's view (`cutover.room.RoomView`); the room keeps a
    tracker, so naming the view itself here would be an import in a circle."""

    @property
    def now(self) -> datetime: ...

    @property
    def triggers(self) -> tuple[TriggerStatus, ...]: ...

    @property
    def acknowledgements(self) -> Acknowledgements: ...

    @property
    def freeze(self) -> FreezeState: ...

    @property
    def playbook(self) -> PlaybookRun: ...


#: The kinds of incident event, in the order an incident lives through them.
KINDS = ("onset", "fired", "acknowledged", "mitigated", "resolved")


@dataclass(frozen=True)
class IncidentEvent:
    """One fact about an incident: what happened to it, when, by whom."""

    incident: str
    kind: str
    trigger: str
    title: str
    at: datetime
    by: str = ""
    detail: str = ""

    def as_json(self) -> dict[str, str]:
        body = {
            "incident": self.incident,
            "kind": self.kind,
            "trigger": self.trigger,
            "title": self.title,
            "at": self.at.isoformat().replace("+00:00", "Z"),
        }
        if self.by:
            body["by"] = self.by
        if self.detail:
            body["detail"] = self.detail
        return body


def parse_event(line: Mapping[str, Any]) -> IncidentEvent | None:
    """An event from its JSON object; None for anything that is not one."""
    try:
        at = datetime.fromisoformat(str(line["at"]).replace("Z", "+00:00"))
        return IncidentEvent(
            str(line["incident"]),
            str(line["kind"]),
            str(line["trigger"]),
            str(line.get("title") or line["trigger"]),
            at,
            str(line.get("by") or ""),
            str(line.get("detail") or ""),
        )
    except (KeyError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class Moment:
    """When something happened to an incident, and who did it."""

    at: datetime
    by: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Incident:
    """One firing of a trigger, folded from its events."""

    id: str
    trigger: str
    title: str
    onset: datetime | None = None
    fired: datetime | None = None
    acknowledged: Moment | None = None
    mitigated: Moment | None = None
    resolved: datetime | None = None
    #: Anything else recorded about it (a later playbook step), in order.
    others: tuple[tuple[str, Moment], ...] = field(default=())

    @property
    def open(self) -> bool:
        return self.resolved is None

    @property
    def time_to_detect(self) -> timedelta | None:
        return _between(self.onset, self.fired)

    @property
    def time_to_acknowledge(self) -> timedelta | None:
        return _between(self.fired, self.acknowledged.at if self.acknowledged else None)

    @property
    def time_to_resolve(self) -> timedelta | None:
        return _between(self.fired, self.resolved)

    def overlaps(self, since: datetime, until: datetime) -> bool:
        start = self.onset or self.fired
        if start is None or start > until:
            return False
        return self.resolved is None or self.resolved >= since


def _between(start: datetime | None, end: datetime | None) -> timedelta | None:
    if start is None or end is None or end < start:
        return None
    return end - start


def fold(events: Iterable[IncidentEvent]) -> tuple[Incident, ...]:
    """The incidents the events describe, by when they fired; the first of each kind counts
    (two rooms on one host may both have recorded it)."""
    found: dict[str, Incident] = {}
    for event in events:
        incident = found.get(event.incident) or Incident(event.incident, event.trigger, event.title)
        moment = Moment(event.at, event.by, event.detail)
        if event.kind == "onset" and incident.onset is None:
            incident = replace(incident, onset=event.at)
        elif event.kind == "fired" and incident.fired is None:
            incident = replace(incident, fired=event.at)
        elif event.kind == "acknowledged" and incident.acknowledged is None:
            incident = replace(incident, acknowledged=moment)
        elif event.kind == "mitigated" and incident.mitigated is None:
            incident = replace(incident, mitigated=moment)
        elif event.kind == "resolved" and incident.resolved is None:
            incident = replace(incident, resolved=event.at)
        elif event.kind not in KINDS:
            incident = replace(incident, others=(*incident.others, (event.kind, moment)))
        found[event.incident] = incident
    return tuple(sorted(found.values(), key=lambda i: (i.fired or i.onset or datetime.max, i.id)))


@dataclass(frozen=True)
class IncidentFigures:
    """MTTD, MTTA and MTTR over some incidents; None where no incident measures it."""

    count: int
    open: int
    mttd: timedelta | None
    mtta: timedelta | None
    mttr: timedelta | None

    def line(self) -> str:
        """`incidents 2 (1 open) · MTTD 1m · MTTA 3m · MTTR 9m`"""
        opened = f" ({self.open} open)" if self.open else ""
        return (
            f"incidents {self.count}{opened} · MTTD {_short(self.mttd)}"
            f" · MTTA {_short(self.mtta)} · MTTR {_short(self.mttr)}"
        )

    def as_json(self) -> dict[str, object]:
        return {
            "count": self.count,
            "open": self.open,
            "mttd_seconds": _seconds(self.mttd),
            "mtta_seconds": _seconds(self.mtta),
            "mttr_seconds": _seconds(self.mttr),
        }


def _short(span: timedelta | None) -> str:
    return "—" if span is None else format_duration(span, parts=2)


def _seconds(span: timedelta | None) -> float | None:
    return None if span is None else round(span.total_seconds(), 3)


def _mean(spans: Iterable[timedelta | None]) -> timedelta | None:
    measured = [s.total_seconds() for s in spans if s is not None]
    return timedelta(seconds=mean(measured)) if measured else None


def figures(incidents: Sequence[Incident]) -> IncidentFigures:
    """The mean times over `incidents` (each mean over the incidents that measure it)."""
    return IncidentFigures(
        len(incidents),
        sum(1 for i in incidents if i.open),
        _mean(i.time_to_detect for i in incidents),
        _mean(i.time_to_acknowledge for i in incidents),
        _mean(i.time_to_resolve for i in incidents),
    )


def in_period(
    incidents: Iterable[Incident], since: datetime | None, until: datetime
) -> tuple[Incident, ...]:
    """The incidents that lived at some point from `since` (None: all) to `until`."""
    if since is None:
        return tuple(i for i in incidents if (i.onset or i.fired or until) <= until)
    return tuple(i for i in incidents if i.overlaps(since, until))


def incident_id(trigger: str, fired: datetime) -> str:
    return f"{trigger}@{fired.isoformat().replace('+00:00', 'Z')}"


class IncidentTracker:
    """Turns the room's views into incident events: opens an incident when a trigger fires,
    records its acknowledgement, the freeze that mitigates it and its resolution.

    Seeded with the events recorded before (a restart), an open incident carries on if its
    trigger still fires, and is resolved when its trigger is found quiet."""

    def __init__(self, recorded: Iterable[IncidentEvent] = ()) -> None:
        self._events: dict[str, list[IncidentEvent]] = {}
        for event in recorded:
            self._events.setdefault(event.incident, []).append(event)
        self.open: dict[str, Incident] = {}
        for incident in fold(e for events in self._events.values() for e in events):
            if incident.open:
                self.open[incident.trigger] = incident
        self._events = {i.id: self._events[i.id] for i in self.open.values()}
        #: When each trigger last went pending: the onset, once it fires.
        self._pending_since: dict[str, datetime] = {}

    def observe(self, view: ObservedView) -> list[IncidentEvent]:
        """The new events as of `view`."""
        events: list[IncidentEvent] = []
        for status in view.triggers:
            spec, state = status.spec, status.state
            if state is TriggerState.PENDING and status.since is not None:
                self._pending_since.setdefault(spec.id, status.since)
            elif state in (TriggerState.INACTIVE, TriggerState.RESOLVED):
                self._pending_since.pop(spec.id, None)
            incident = self.open.get(spec.id)
            new: list[IncidentEvent] = []
            if state is TriggerState.FIRING and incident is None:
                fired = status.fired_at or view.now
                onset = min(self._pending_since.pop(spec.id, fired), fired)
                incident = Incident(incident_id(spec.id, fired), spec.id, spec.title, onset, fired)
                new.append(IncidentEvent(incident.id, "onset", spec.id, spec.title, onset))
                new.append(IncidentEvent(incident.id, "fired", spec.id, spec.title, fired))
            if incident is None:
                continue
            fired_at = incident.fired or view.now
            ack = view.acknowledgements.records.get(spec.id)
            if (
                incident.acknowledged is None
                and ack is not None
                and ack.at is not None
                and ack.at >= fired_at
            ):
                new.append(_event(incident, "acknowledged", ack.at, ack.by))
            freeze = view.freeze
            if incident.mitigated is None and freeze.frozen:
                at = max(freeze.at or view.now, fired_at)
                new.append(_event(incident, "mitigated", at, freeze.by, "freeze"))
            known = {e.kind for e in (*self._events.get(incident.id, ()), *new)}
            known |= {kind for kind, _ in incident.others}
            new += _playbook_events(incident, view, fired_at, known)
            if state in (TriggerState.RESOLVED, TriggerState.INACTIVE):
                resolved = status.since if state is TriggerState.RESOLVED else None
                new.append(_event(incident, "resolved", resolved or view.now))
            self._events.setdefault(incident.id, []).extend(new)
            (folded,) = fold(self._events[incident.id])
            if folded.open:
                self.open[spec.id] = folded
            else:
                self.open.pop(spec.id, None)
                del self._events[incident.id]
            events += new
        return events


#: The playbook steps that mitigate an incident (the freeze is one already).
MITIGATING_STEPS = {"re-point": "re-point", "known-good": "rollback"}


def _playbook_events(
    incident: Incident, view: ObservedView, fired_at: datetime, known: set[str]
) -> list[IncidentEvent]:
    """The playbook steps taken on this incident's trigger since it fired, not yet recorded:
    each as `playbook <step>`, and a re-point or rollback as its mitigation."""
    run = view.playbook
    if run.trigger != incident.trigger:
        return []
    events: list[IncidentEvent] = []
    mitigated = incident.mitigated is not None or "mitigated" in known
    for spec, record in run.rows():
        kind = f"playbook {spec.id}"
        if record.state is StepState.TODO or record.at is None or record.at < fired_at:
            continue
        if kind in known:
            continue
        events.append(_event(incident, kind, record.at, record.by, record.line()))
        done = record.state is StepState.DONE
        if done and not mitigated and spec.id in MITIGATING_STEPS:
            events.append(_event(incident, "mitigated", record.at, record.by,
                                 MITIGATING_STEPS[spec.id]))  # fmt: skip
            mitigated = True
    return events


def _event(
    incident: Incident, kind: str, at: datetime, by: str = "", detail: str = ""
) -> IncidentEvent:
    return IncidentEvent(incident.id, kind, incident.trigger, incident.title, at, by, detail)


def describe(incident: Incident) -> str:
    """One line: what fired, when, and how it went."""
    parts = [f"{incident.title} fired {_at(incident.fired)}"]
    if incident.onset and incident.fired and incident.onset != incident.fired:
        parts.append(f"onset {_at(incident.onset)}")
    if incident.acknowledged:
        parts.append(f"acknowledged {_at(incident.acknowledged.at)} by {incident.acknowledged.by}")
    if incident.mitigated:
        m = incident.mitigated
        parts.append(f"mitigated {_at(m.at)} ({m.detail}) by {m.by}")
    steps = [kind.removeprefix("playbook ") for kind, _ in incident.others
             if kind.startswith("playbook ")]  # fmt: skip
    if steps:
        parts.append(f"playbook steps {', '.join(steps)}")
    parts.append(f"resolved {_at(incident.resolved)}" if incident.resolved else "open")
    return ", ".join(parts)


def _at(moment: datetime | None) -> str:
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}"
