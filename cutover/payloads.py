"""The contract's MQTT payloads: validated on the way in, written on the way out.

Pure functions, no I/O: the MQTT source and the simulator's exporter both use them, so the
control room reads exactly what the simulator writes. A payload that breaks the contract
raises `PayloadRejected` with one of the `REASONS` and a detail for the diagnostics view.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from cutover.events import BuildEvent, PlatformEvent
from cutover.freeze import UNFROZEN, FreezeState
from cutover.presence import Presence

#: Anything larger is dropped unread.
MAX_PAYLOAD_BYTES = 64 * 1024

TOO_LARGE = "too large"
NOT_JSON = "not JSON"
NOT_AN_OBJECT = "not an object"
MISSING_FIELD = "missing field"
WRONG_FIELD = "wrong field"
REASONS = (TOO_LARGE, NOT_JSON, NOT_AN_OBJECT, MISSING_FIELD, WRONG_FIELD)

BUILD_EVENTS = frozenset({"job.queued", "job.started", "job.finished", "job.cancelled"})
JOB_STATUSES = frozenset({"success", "failure", "error", "cancelled"})
PLATFORM_EVENTS = frozenset(
    {
        "runner.lost",
        "registry.brownout",
        "registry.recovered",
        "cve.detected",
        "audit.failed",
        "chaos.drill",
    }
)
SEVERITIES = frozenset({"info", "warning", "critical"})


class PayloadRejected(ValueError):
    """A payload that breaks the contract: `reason` is one of REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _document(payload: bytes) -> dict[str, Any]:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadRejected(TOO_LARGE, f"{len(payload)} bytes, at most {MAX_PAYLOAD_BYTES}")
    try:
        document = json.loads(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise PayloadRejected(NOT_JSON, "not UTF-8") from None
    except ValueError as error:
        raise PayloadRejected(NOT_JSON, str(error)) from None
    if not isinstance(document, dict):
        raise PayloadRejected(NOT_AN_OBJECT, f"a JSON {type(document).__name__}")
    return document


def _required(document: Mapping[str, Any], name: str) -> Any:
    if name not in document:
        raise PayloadRejected(MISSING_FIELD, name)
    return document[name]


def _text(document: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    if not required and name not in document:
        return ""
    value = _required(document, name)
    if not isinstance(value, str):
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected a string")
    return value


def _one_of(document: Mapping[str, Any], name: str, allowed: frozenset[str]) -> str:
    value = _text(document, name)
    if value not in allowed:
        raise PayloadRejected(WRONG_FIELD, f"{name}: unknown {value[:40]!r}")
    return value


def _number(document: Mapping[str, Any], name: str) -> float:
    if name not in document:
        return 0.0
    value = document[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected a number")
    return float(value)


def _time(document: Mapping[str, Any], name: str) -> datetime:
    text = _text(document, name)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise PayloadRejected(
            WRONG_FIELD, f"{name}: expected RFC 3339, got {text[:40]!r}"
        ) from None
    if value.tzinfo is None:
        raise PayloadRejected(WRONG_FIELD, f"{name}: RFC 3339 needs a timezone")
    return value


def parse_build_event(payload: bytes) -> BuildEvent:
    """A `maestro/events/<repo>` payload. `status` is required on `job.finished` only."""
    document = _document(payload)
    event = _one_of(document, "event", BUILD_EVENTS)
    status = ""
    if event == "job.finished" or "status" in document:
        status = _one_of(document, "status", JOB_STATUSES)
    return BuildEvent(
        event=event,
        id=_text(document, "id"),
        repo=_text(document, "repo"),
        wave=_text(document, "wave"),
        ts=_time(document, "ts"),
        status=status,
        queue_wait_s=_number(document, "queue_wait_s"),
        duration_s=_number(document, "duration_s"),
        runner=_text(document, "runner", required=False),
    )


def parse_platform_event(payload: bytes) -> PlatformEvent:
    """A `maestro/platform` payload; `cve.detected` also carries `cve`."""
    document = _document(payload)
    event = _one_of(document, "event", PLATFORM_EVENTS)
    return PlatformEvent(
        event=event,
        severity=_one_of(document, "severity", SEVERITIES),
        message=_text(document, "message"),
        ts=_time(document, "ts"),
        cve=_text(document, "cve", required=event == "cve.detected"),
    )


def parse_freeze(payload: bytes) -> FreezeState:
    """The retained `maestro/cutover/freeze` payload; an empty one clears it (unfrozen)."""
    if not payload:
        return UNFROZEN
    document = _document(payload)
    frozen = _required(document, "frozen")
    if not isinstance(frozen, bool):
        raise PayloadRejected(WRONG_FIELD, "frozen: expected true or false")
    return FreezeState(
        frozen=frozen,
        by=_text(document, "by"),
        reason=_text(document, "reason"),
        at=_time(document, "at"),
    )


def parse_presence(operator_id: str, payload: bytes) -> Presence:
    """A `maestro/cutover/operators/<id>` payload."""
    document = _document(payload)
    return Presence(
        operator_id=operator_id,
        operator=_text(document, "operator"),
        host=_text(document, "host"),
        since=_time(document, "since"),
        mode=_one_of(document, "mode", frozenset({"read-only", "operator"})),
    )


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def build_event_payload(event: BuildEvent) -> dict[str, Any]:
    """What Maestro publishes on `maestro/events/<repo>` for a job event."""
    payload: dict[str, Any] = {
        "event": event.event,
        "id": event.id,
        "repo": event.repo,
        "wave": event.wave,
        "queue_wait_s": event.queue_wait_s,
        "duration_s": event.duration_s,
        "runner": event.runner,
        "ts": rfc3339(event.ts),
    }
    if event.status:
        payload["status"] = event.status
    return payload


def platform_event_payload(event: PlatformEvent) -> dict[str, Any]:
    """What Maestro publishes on `maestro/platform`."""
    payload: dict[str, Any] = {
        "event": event.event,
        "severity": event.severity,
        "message": event.message,
        "ts": rfc3339(event.ts),
    }
    if event.cve:
        payload["cve"] = event.cve
    return payload


def freeze_payload(state: FreezeState) -> dict[str, Any]:
    """The retained freeze state, as every control room publishes and reads it."""
    return {
        "frozen": state.frozen,
        "by": state.by,
        "reason": state.reason,
        "at": rfc3339(state.at) if state.at else "",
    }
