"""Acknowledged triggers: who took a firing trigger in hand, and when.

An acknowledgement does not stop a trigger firing; it says someone is on it, so the room
stops ringing for it. It holds for the firing it was given in: a trigger that resolves and
fires again is unacknowledged until someone acknowledges it again. On a cluster the records
live in the `maestro-cutover` ConfigMap's `acknowledged` key (JSON: trigger id →
`{"by", "at"}`), so every control room shows the same; the simulator keeps its own copy.
Pure: the sources and effectors do the I/O.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .triggers import TriggerState, TriggerStatus

KEY = "acknowledged"


@dataclass(frozen=True)
class Acknowledgement:
    """One trigger acknowledged by `by` at `at`."""

    trigger: str
    by: str
    at: datetime | None


@dataclass(frozen=True)
class Acknowledgements:
    """Every recorded acknowledgement, with the version of the object that holds them."""

    records: Mapping[str, Acknowledgement] = field(default_factory=dict)
    version: str = ""

    def of(self, status: TriggerStatus) -> Acknowledgement | None:
        """The acknowledgement of `status`'s current firing, if it fires and has one."""
        if status.state is not TriggerState.FIRING:
            return None
        return self.of_last_firing(status)

    def of_last_firing(self, status: TriggerStatus) -> Acknowledgement | None:
        """The acknowledgement of the trigger's last firing, resolved since or not: one given
        before that firing began belongs to an earlier one."""
        ack = self.records.get(status.spec.id)
        if ack is None or status.fired_at is None:
            return None
        if ack.at is not None and ack.at < status.fired_at:
            return None
        return ack


NONE = Acknowledgements()


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def records(data: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """`acknowledged` as a dict of trigger id to `{by, at}`; unreadable JSON reads as none."""
    try:
        value = json.loads(data.get(KEY) or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {
        str(trigger): {"by": str(record.get("by") or ""), "at": str(record.get("at") or "")}
        for trigger, record in value.items()
        if isinstance(record, dict)
    }


def acknowledgements(data: Mapping[str, str], version: str) -> Acknowledgements:
    """The acknowledgements a ConfigMap's data records; a record without `by` is none."""
    found = {
        trigger: Acknowledgement(trigger, record["by"], _time(record["at"]))
        for trigger, record in records(data).items()
        if record["by"]
    }
    return Acknowledgements(found, version)


def acknowledged_data(
    data: Mapping[str, str], trigger: str, by: str, at: datetime
) -> dict[str, str]:
    """The new `acknowledged` value with `trigger` acknowledged by `by` at `at` (a newer
    acknowledgement replaces an older one: it is the current firing's)."""
    found = records(data)
    found[trigger] = {"by": by, "at": _rfc3339(at)}
    return {KEY: json.dumps(found, sort_keys=True)}
