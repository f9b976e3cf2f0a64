"""The contract's MQTT payloads: validated on the way in, written on the way out.

Pure functions, no I/O: the MQTT source and the simulator's exporter both use them, so the
control room reads exactly what the simulator writes. A payload that breaks the contract
raises `PayloadRejected` with one of the `REASONS` and a detail for the diagnostics view;
nothing else escapes a parser, whatever the bytes (a test feeds them 100,000 hostile ones).

Outside input is read with hard limits before anything is built from it: the size, the
nesting depth, the digits of a number, the length of a key, a string or a name, the fields
of an object. Then the values are checked for sense: numbers finite, durations between zero and
`MAX_DURATION_S`, times between `EARLIEST` and `FUTURE_SLACK` after the reader's now (a
clock a little ahead is tolerated; the year 9999 is not).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson

from .events import BuildEvent, PlatformEvent
from .freeze import UNFROZEN, FreezeState
from .presence import MODES, Presence
from .waves import Recut

#: Anything larger is dropped unread.
MAX_PAYLOAD_BYTES = 64 * 1024
#: The contract's payloads are flat objects; an audit entry nests three levels.
MAX_DEPTH = 16
#: Characters of one number as written (`-1.2345e+300` is 12): beyond, it is not a count.
MAX_NUMBER_CHARS = 32
MAX_KEY_CHARS = 64
#: A message or a reason is a sentence or a paragraph, never a document.
MAX_TEXT_CHARS = 4_096
#: A name (a job id, a repository, a wave, a runner, a host): remembered, so kept short.
MAX_NAME_CHARS = 256
MAX_FIELDS = 64
#: A job waits or runs a week at most; anything longer is a broken producer.
MAX_DURATION_S = 7 * 24 * 3600.0
#: No Maestro event predates this; and a time more than a day ahead of now is nonsense.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)

TOO_LARGE = "too large"
NOT_JSON = "not JSON"
TOO_DEEP = "too deep"
NOT_AN_OBJECT = "not an object"
MISSING_FIELD = "missing field"
WRONG_FIELD = "wrong field"
OUT_OF_RANGE = "out of range"
REASONS = (
    TOO_LARGE,
    NOT_JSON,
    TOO_DEEP,
    NOT_AN_OBJECT,
    MISSING_FIELD,
    WRONG_FIELD,
    OUT_OF_RANGE,
)

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

#: The bytes that open or close a level of nesting, or start or escape a string.
_STRUCTURE = re.compile(rb'[\[\]{}"\\]')
_OPENERS = frozenset(b"[{")


class PayloadRejected(ValueError):
    """A payload that breaks the contract: `reason` is one of REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _check_depth(payload: bytes) -> None:
    """Refuse nesting deeper than MAX_DEPTH before the JSON reader recurses into it. A
    payload with few brackets cannot be deep: the contract's flat objects skip the scan."""
    if payload.count(b"[") + payload.count(b"{") <= MAX_DEPTH:
        return
    depth = 0
    in_string = False
    escaped_at = -2
    for found in _STRUCTURE.finditer(payload):
        at, byte = found.start(), payload[found.start()]
        if in_string:
            if escaped_at == at - 1:
                escaped_at = -2  # this byte is escaped
            elif byte == 0x5C:  # backslash
                escaped_at = at
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in _OPENERS:
            depth += 1
            if depth > MAX_DEPTH:
                raise PayloadRejected(TOO_DEEP, f"nested deeper than {MAX_DEPTH} levels")
        elif byte != 0x5C:
            depth -= 1


def _integer(text: str) -> int:
    if len(text) > MAX_NUMBER_CHARS:
        raise PayloadRejected(OUT_OF_RANGE, f"a number of {len(text)} digits")
    return int(text)


def _real(text: str) -> float:
    if len(text) > MAX_NUMBER_CHARS:
        raise PayloadRejected(OUT_OF_RANGE, f"a number of {len(text)} characters")
    value = float(text)
    if not math.isfinite(value):
        raise PayloadRejected(OUT_OF_RANGE, f"{text[:40]} is beyond a float")
    return value


def _constant(name: str) -> Any:
    raise PayloadRejected(OUT_OF_RANGE, f"{name} is not a number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    if len(pairs) > MAX_FIELDS:
        raise PayloadRejected(TOO_LARGE, f"{len(pairs)} fields, at most {MAX_FIELDS}")
    for key, value in pairs:
        if len(key) > MAX_KEY_CHARS:
            raise PayloadRejected(TOO_LARGE, f"a key of {len(key)} characters")
        if isinstance(value, str) and len(value) > MAX_TEXT_CHARS:
            raise PayloadRejected(TOO_LARGE, f"{key[:40]}: {len(value)} characters")
    return dict(pairs)


#: The characters a number is written with, as 1 (every other byte 0), and a run of 19 of
#: them: in a payload with such a run a number may be written in more than 18 characters.
#: orjson keeps no literal's text, and reads an integer past 64 bits as a float, so such a
#: payload is left to the checked reader, which counts a literal's characters and keeps an
#: integer an integer. (A translation and a search, 0.3 µs: a regular expression took
#: 1.8 µs, four times what orjson takes to read the event.)
_NUMBER_BYTES = bytes(byte in b"-+.0123456789Ee" for byte in range(256))
_LONG_NUMBER = b"\x01" * 19


def _flat_object(payload: bytes) -> dict[str, Any] | None:
    """A flat object (the contract's events) read by orjson, where what it reads is what the
    checked reader would; None to leave the payload to that reader, which also says why one
    is refused. A build event takes 2.1 µs here against 3.0 there (6.3 against 7.5 µs for
    all the MQTT source does with one), and a burst is thousands of them a second.

    The limits hold by the payload's shape: no string is longer than the payload
    (`MAX_TEXT_CHARS`); each field takes two quotes for its key at least (`MAX_FIELDS`);
    no number is written in 19 characters or more (`MAX_NUMBER_CHARS`, and integers stay
    integers). Keys are measured; a nested value goes to the checked reader, and so does
    whatever orjson refuses (NaN, infinities, bytes that are not UTF-8, and a lone
    surrogate, which the checked reader reads and a field's own check then refuses)."""
    if (
        len(payload) > MAX_TEXT_CHARS
        or payload.count(b'"') > 2 * MAX_FIELDS
        or _LONG_NUMBER in payload.translate(_NUMBER_BYTES)
    ):
        return None
    try:
        document = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict:
        return None
    for key, value in document.items():
        if len(key) > MAX_KEY_CHARS or type(value) is dict or type(value) is list:
            return None
    return document


def read_document(payload: bytes) -> Any:
    """Any JSON value, read within the limits; PayloadRejected and nothing else."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadRejected(TOO_LARGE, f"{len(payload)} bytes, at most {MAX_PAYLOAD_BYTES}")
    flat = _flat_object(payload)
    if flat is not None:
        return flat
    return _checked_document(payload)


def _checked_document(payload: bytes) -> Any:
    """The JSON value, every limit checked as it is read."""
    _check_depth(payload)
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError:
        raise PayloadRejected(NOT_JSON, "not UTF-8") from None
    try:
        return _DECODER.decode(text)
    except PayloadRejected:
        raise
    except RecursionError:  # the scan above should have refused it; never the stack
        raise PayloadRejected(TOO_DEEP, "nested too deep to read") from None
    except (ValueError, OverflowError, TypeError) as error:
        raise PayloadRejected(NOT_JSON, str(error)[:120]) from None


#: Made once: `json.loads` with hooks builds a decoder and its scanner for every call, a
#: third of the time it takes to read a build event.
_DECODER = json.JSONDecoder(
    parse_int=_integer,
    parse_float=_real,
    parse_constant=_constant,
    object_pairs_hook=_object,
)


def _document(payload: bytes) -> dict[str, Any]:
    document = read_document(payload)
    if not isinstance(document, dict):
        raise PayloadRejected(NOT_AN_OBJECT, f"a JSON {type(document).__name__}")
    return document


def _required(document: Mapping[str, Any], name: str) -> Any:
    if name not in document:
        raise PayloadRejected(MISSING_FIELD, name)
    return document[name]


def _text(
    document: Mapping[str, Any], name: str, *, required: bool = True, limit: int = MAX_TEXT_CHARS
) -> str:
    if not required and name not in document:
        return ""
    value = _required(document, name)
    if not isinstance(value, str):
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected a string")
    if len(value) > limit:
        raise PayloadRejected(TOO_LARGE, f"{name}: {len(value)} characters, at most {limit}")
    if not value.isprintable():
        # A control character (a terminal escape), a direction override that makes a line
        # read other than it is, a lone surrogate (written as \ud800): not one line of text.
        raise PayloadRejected(WRONG_FIELD, f"{name}: unprintable characters")
    return value


def _one_of(document: Mapping[str, Any], name: str, allowed: frozenset[str]) -> str:
    value = _required(document, name)
    if not isinstance(value, str):
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected a string")
    if value not in allowed:
        raise PayloadRejected(WRONG_FIELD, f"{name}: unknown {value[:40]!r}")
    return value


def _seconds(document: Mapping[str, Any], name: str) -> float:
    """A duration in seconds, absent as zero: a number from 0 to MAX_DURATION_S."""
    if name not in document:
        return 0.0
    value = document[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected a number")
    seconds = float(value)
    if not 0.0 <= seconds <= MAX_DURATION_S:  # NaN fails this too
        raise PayloadRejected(
            OUT_OF_RANGE, f"{name}: {seconds:.6g}s, expected 0 to {MAX_DURATION_S:.0f}s"
        )
    return seconds


def read_time(document: Mapping[str, Any], name: str, now: datetime | None) -> datetime:
    """An RFC 3339 time with its timezone, from EARLIEST to FUTURE_SLACK after `now` (no
    window without a `now`)."""
    text = _text(document, name)
    if len(text) > 64:
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected RFC 3339, got {len(text)} chars")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise PayloadRejected(
            WRONG_FIELD, f"{name}: expected RFC 3339, got {text[:40]!r}"
        ) from None
    if value.tzinfo is None:
        raise PayloadRejected(WRONG_FIELD, f"{name}: RFC 3339 needs a timezone")
    if now is None:
        return value
    try:
        in_window = EARLIEST <= value <= now + FUTURE_SLACK
    except OverflowError:  # 0001-01-01 an offset east of UTC is before the first year
        in_window = False
    if not in_window:
        raise PayloadRejected(
            OUT_OF_RANGE, f"{name}: {text[:40]} is before 2000 or more than a day ahead"
        )
    return value


def parse_build_event(payload: bytes, *, now: datetime) -> BuildEvent:
    """A `maestro/events/<repo>` payload, read at `now`. `status` is required on
    `job.finished` only."""
    document = _document(payload)
    event = _one_of(document, "event", BUILD_EVENTS)
    status = ""
    if event == "job.finished" or "status" in document:
        status = _one_of(document, "status", JOB_STATUSES)
    return BuildEvent(
        event=event,
        id=_text(document, "id", limit=MAX_NAME_CHARS),
        repo=_text(document, "repo", limit=MAX_NAME_CHARS),
        wave=_text(document, "wave", limit=MAX_NAME_CHARS),
        ts=read_time(document, "ts", now),
        status=status,
        queue_wait_s=_seconds(document, "queue_wait_s"),
        duration_s=_seconds(document, "duration_s"),
        runner=_text(document, "runner", required=False, limit=MAX_NAME_CHARS),
    )


def parse_platform_event(payload: bytes, *, now: datetime) -> PlatformEvent:
    """A `maestro/platform` payload, read at `now`; `cve.detected` also carries `cve`."""
    document = _document(payload)
    event = _one_of(document, "event", PLATFORM_EVENTS)
    return PlatformEvent(
        event=event,
        severity=_one_of(document, "severity", SEVERITIES),
        message=_text(document, "message"),
        ts=read_time(document, "ts", now),
        cve=_text(document, "cve", required=event == "cve.detected", limit=MAX_NAME_CHARS),
    )


def parse_freeze(payload: bytes, *, now: datetime) -> FreezeState:
    """The retained `maestro/cutover/freeze` payload; an empty one clears it (unfrozen).
    `frozen` is a JSON true or false, nothing read for its truthiness: `"false"` is a
    rejection, never a freeze."""
    if not payload:
        return UNFROZEN
    document = _document(payload)
    frozen = _required(document, "frozen")
    if not isinstance(frozen, bool):
        raise PayloadRejected(
            WRONG_FIELD, f"frozen: expected true or false, got a JSON {type(frozen).__name__}"
        )
    return FreezeState(
        frozen=frozen,
        by=_text(document, "by"),
        reason=_text(document, "reason"),
        at=read_time(document, "at", now),
    )


def parse_presence(operator_id: str, payload: bytes, *, now: datetime) -> Presence:
    """A `maestro/cutover/operators/<id>` payload; `mode` is `read-only` or `operator`.
    `seen` (the latest heartbeat) and `client_id` are this project's additions; a control
    room that sends no `seen` is taken as last seen at its `since`."""
    document = _document(payload)
    since = read_time(document, "since", now)
    seen = read_time(document, "seen", now) if "seen" in document else since
    return Presence(
        operator_id=operator_id,
        operator=_text(document, "operator", limit=MAX_NAME_CHARS),
        host=_text(document, "host", limit=MAX_NAME_CHARS),
        since=since,
        mode=_one_of(document, "mode", MODES),
        seen=seen,
        client_id=_text(document, "client_id", required=False, limit=MAX_NAME_CHARS),
    )


def parse_audit_entry(payload: bytes) -> dict[str, Any]:
    """An audit entry heard on `maestro/cutover/audit`: a JSON object, read within limits."""
    return _document(payload)


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


#: The keys a re-cut writes into a wave's record of the ConfigMap's `waves`.
RECUT_FIELDS = ("not_before", "note", "recut_by")


def parse_recut(record: Mapping[str, Any]) -> Recut | None:
    """A wave record's re-cut (`not_before`, `note`, `recut_by`), None when it has none.
    Anyone with patch rights may write the record: the note and the name within the
    limits and printable, `not_before` RFC 3339 with its zone and not before EARLIEST (a
    re-cut may set a day weeks ahead, so no window after now)."""
    if not any(key in record for key in RECUT_FIELDS):
        return None
    not_before = read_time(record, "not_before", None)
    try:
        early = not_before < EARLIEST
    except OverflowError:
        early = True
    if early:
        raise PayloadRejected(
            OUT_OF_RANGE, f"not_before: {not_before.isoformat()[:40]} is before 2000"
        )
    note = _text(record, "note", required=False)
    by = _text(record, "recut_by", required=False, limit=MAX_NAME_CHARS)
    return Recut(not_before, note, by)
