"""What Enter on a gate check shows: the value seen, the criterion, which source answered
and how long ago, and, for a check that is unknown, why. Pure: the screen renders it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .gates import (
    ANSWERED_BY,
    PROBED_KINDS,
    VERIFIED_KINDS,
    CheckKind,
    CheckReading,
    CheckResult,
    CheckState,
)
from .room import HealthReading


@dataclass(frozen=True)
class CheckDetail:
    """One gate check in full."""

    result: CheckResult
    gate: str
    #: What the check looks at: the PromQL, the objects, the alert, the role.
    looks_at: str
    #: Who answered (a source's name), or who could have, when none has.
    source: str
    #: When the answer was measured, and its age at `now`; None when never answered.
    measured_at: datetime | None
    age: timedelta | None
    #: For an unknown check: why, in words; "" otherwise.
    why_unknown: str


def looks_at(result: CheckResult) -> str:
    spec = result.spec
    kind = spec.kind
    if kind is CheckKind.PROMQL:
        return spec.expr
    if kind in (CheckKind.K8S_EXISTS, CheckKind.K8S_CRONJOB_RECENT):
        return f"{spec.object}" if spec.object is not None else "—"
    if kind in (CheckKind.ALERT_ABSENT, CheckKind.ALERT_PRESENT):
        return f"the alert {spec.alertname}"
    if kind is CheckKind.SOURCE_HEALTHY:
        return f"the source {spec.source}"
    if kind is CheckKind.SIGNOFF:
        return f"{spec.role}'s sign-off in the maestro-cutover ConfigMap"
    if kind is CheckKind.SMOKE:
        return f"the smoke suite's results ({spec.test or 'every test'})"
    return f"the {spec.env} deploys' evidence"


def _health(health: Iterable[HealthReading], source: str) -> HealthReading | None:
    return next((h for h in health if h.source == source), None)


def check_detail(
    result: CheckResult,
    gate: str,
    *,
    reading: CheckReading | None,
    health: Iterable[HealthReading],
    alerts: tuple[str, datetime | None],
    now: datetime,
) -> CheckDetail:
    """The detail of one check from the board and what the room holds: `reading` is the
    probe's last answer (probed kinds), `alerts` the alerts' source and when it answered."""
    health = tuple(health)
    spec = result.spec
    kind = spec.kind
    source = result.source
    measured: datetime | None = None
    age: timedelta | None = None
    if kind in PROBED_KINDS:
        if reading is not None:
            source, measured = reading.source, reading.at
    elif kind in (CheckKind.ALERT_ABSENT, CheckKind.ALERT_PRESENT):
        source, measured = alerts
    else:
        name = spec.source if kind is CheckKind.SOURCE_HEALTHY else source
        heard = _health(health, name) if name else None
        if heard is not None and heard.age is not None:
            source, age = name, heard.age
            measured = now - heard.age
    if measured is not None and age is None:
        age = now - measured
    if not source:
        could = sorted(ANSWERED_BY.get(kind, ()))
        source = ("none yet; answered by " + " or ".join(could)) if could else "the control room"
    why = ""
    if result.state is CheckState.UNKNOWN:
        why = _why_unknown(result, source, measured, health)
    return CheckDetail(result, gate, looks_at(result), source, measured, age, why)


def _why_unknown(
    result: CheckResult, source: str, measured: datetime | None, health: Iterable[HealthReading]
) -> str:
    reason = result.reason or "no answer"
    kind = result.spec.kind
    if measured is None and (kind in PROBED_KINDS or kind in VERIFIED_KINDS):
        said = f"no source has answered it yet ({reason})"
    else:
        said = reason
    heard = _health(health, source)
    if heard is not None and heard.text not in said:
        said += f"; {source} is {heard.text}"
    return said + ". A check nobody can answer now is never passed: the verdict stays UNKNOWN."
