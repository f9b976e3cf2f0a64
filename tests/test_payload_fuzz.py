"""100,000 and more hostile payloads: each becomes a value or a rejection, nothing else.

The bulk is generated cheaply by a seeded random generator (random bytes, random JSON,
near-valid events with one hostile value, valid payloads cut or bit-flipped); hypothesis
adds structure it shrinks when something breaks. Every case goes through every parser, and
a share through the MQTT source's own `receive`, whose counters must add up.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maestro_control_room.cutover.config import MqttSection
from maestro_control_room.cutover.events import BuildEvent, PlatformEvent
from maestro_control_room.cutover.payloads import (
    EARLIEST,
    FUTURE_SLACK,
    MAX_DURATION_S,
    REASONS,
    PayloadRejected,
    parse_audit_entry,
    parse_build_event,
    parse_freeze,
    parse_platform_event,
    parse_presence,
)
from maestro_control_room.sources.mqtt import UNEXPECTED, MqttSource

NOW = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)
CASES = 100_000
#: Accepted as a rejection reason: the contract's, and the audit topic's own.
ALLOWED = frozenset(REASONS) | {"not an audit entry"}

HOSTILE_VALUES: list[Any] = [
    None, True, False, 0, -1, -500, 1e308, -1e308, 5e-324, 2**63, -(2**63), 10**31,
    "", "x" * 5000, "\x00", "\x1b[2J", "\u202e", "\ud800", "9999-12-31T23:59:59Z",
    "0001-01-01T00:00:00+14:00", "2026-13-45T25:61:61Z", "2026-12-02T11:00:00",
    "NaN", "true", "false", "read-only", "operator", [], {}, [[[]]], {"a": {"b": {}}},
    ["job.finished"], {"frozen": True}, 3.5, -0.0,
]  # fmt: skip
RAW_HOSTILE: list[bytes] = [
    b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400", b"9" * 400, b"-" + b"9" * 400,
    b"[" * 5000 + b"]" * 5000, b"{" * 300, b'"\\ud800"', b"1" * 33, b"0.1e-99999",
]  # fmt: skip


def good_build(rng: random.Random) -> dict[str, Any]:
    return {
        "event": rng.choice(["job.queued", "job.started", "job.finished", "job.cancelled"]),
        "id": f"job-{rng.randrange(10**6)}",
        "repo": "payments/svc-api",
        "wave": "Wave-2",
        "status": rng.choice(["success", "failure", "error", "cancelled"]),
        "queue_wait_s": rng.uniform(0, 600),
        "duration_s": rng.uniform(0, 3600),
        "runner": "linux-large-7",
        "ts": "2026-12-02T10:59:00Z",
    }


def good_others(rng: random.Random) -> dict[str, Any]:
    kind = rng.randrange(3)
    if kind == 0:
        return {"event": "cve.detected", "severity": "critical", "message": "m", "cve": "C",
                "ts": "2026-12-02T10:59:00Z"}  # fmt: skip
    if kind == 1:
        return {"frozen": rng.random() < 0.5, "by": "alice", "reason": "r",
                "at": "2026-12-02T10:59:00Z"}  # fmt: skip
    return {"operator": "bob", "host": "h", "since": "2026-12-02T10:00:00Z",
            "seen": "2026-12-02T10:59:00Z", "mode": "operator"}  # fmt: skip


def random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 4 else 5)
    if kind == 0:
        return rng.choice(HOSTILE_VALUES)
    if kind == 1:
        return rng.randrange(-(10**12), 10**12)
    if kind == 2:
        return rng.uniform(-1e6, 1e6)
    if kind == 3:
        return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randrange(12)))
    if kind == 4:
        return rng.random() < 0.5
    if kind == 5:
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    return {
        rng.choice(["event", "id", "ts", "frozen", "mode", "k", "since"]): random_json(
            rng, depth + 1
        )
        for _ in range(rng.randrange(5))
    }


def near_valid(rng: random.Random) -> bytes:
    """A valid payload with one field hostile, missing, or written raw."""
    document = good_build(rng) if rng.random() < 0.6 else good_others(rng)
    field = rng.choice(list(document))
    choice = rng.randrange(4)
    if choice == 0:
        del document[field]
    elif choice == 1:
        document[field] = rng.choice(HOSTILE_VALUES)
    elif choice == 2:
        document[field] = random_json(rng)
    else:
        document[field] = "@RAW@"
        text = json.dumps(document).encode()
        return text.replace(b'"@RAW@"', rng.choice(RAW_HOSTILE))
    return json.dumps(document, allow_nan=True).encode()


def mutated(rng: random.Random) -> bytes:
    """A valid payload cut short, or with bytes flipped, inserted or duplicated."""
    payload = bytearray(json.dumps(good_build(rng)).encode())
    for _ in range(rng.randrange(1, 4)):
        at = rng.randrange(len(payload))
        kind = rng.randrange(4)
        if kind == 0:
            payload[at] = rng.randrange(256)
        elif kind == 1:
            del payload[at:]
            if not payload:
                break
        elif kind == 2:
            payload[at:at] = bytes([rng.choice(b'[]{}",:\\0e-')])
        else:
            payload[at:at] = payload[at : at + rng.randrange(1, 20)]
    return bytes(payload)


def generated(rng: random.Random, count: int) -> Iterator[bytes]:
    makers: list[Callable[[random.Random], bytes]] = [
        lambda r: r.randbytes(r.randrange(64)),
        lambda r: json.dumps(random_json(r), allow_nan=True).encode(),
        near_valid,
        near_valid,
        mutated,
    ]
    for _ in range(count):
        yield rng.choice(makers)(rng)


def read_every_way(payload: bytes) -> list[object]:
    """Every parser on one payload: the values read; a rejection must carry a known reason."""
    parsers: list[Callable[[], object]] = [
        lambda: parse_build_event(payload, now=NOW),
        lambda: parse_platform_event(payload, now=NOW),
        lambda: parse_freeze(payload, now=NOW),
        lambda: parse_presence("op", payload, now=NOW),
        lambda: parse_audit_entry(payload),
    ]
    read: list[object] = []
    for parse in parsers:
        try:
            read.append(parse())
        except PayloadRejected as rejected:
            assert rejected.reason in ALLOWED, rejected.reason
    for value in read:
        if isinstance(value, BuildEvent):
            assert 0 <= value.queue_wait_s <= MAX_DURATION_S
            assert 0 <= value.duration_s <= MAX_DURATION_S
            assert math.isfinite(value.duration_s)
        if isinstance(value, BuildEvent | PlatformEvent):
            assert EARLIEST <= value.ts <= NOW + FUTURE_SLACK
            assert value.text.isprintable()
    return read


def test_a_hundred_thousand_hostile_payloads_end_as_values_or_rejections(
    capsys: pytest.CaptureFixture[str],
) -> None:
    rng = random.Random(20261202)
    source = MqttSource(MqttSection(), now=lambda: NOW)
    topics = ["maestro/events/payments/svc-api", "maestro/platform", "maestro/cutover/freeze"]
    started = time.monotonic()
    cases = accepted = 0
    for payload in generated(rng, CASES):
        cases += 1
        accepted += bool(read_every_way(payload))
        if cases % 4 == 0:  # the source's own path, with its dedup and counters
            source.receive(topics[cases % 3], payload)
    for raw in RAW_HOSTILE:
        cases += 1
        read_every_way(raw)
        source.receive(topics[0], raw)
    elapsed = time.monotonic() - started
    assert source.rejected[UNEXPECTED] == 0, list(source.recent)
    assert source.received == source.accepted + sum(source.rejected.values()) + source.duplicates
    assert accepted > 1_000  # the generator reaches valid payloads too, not only garbage
    with capsys.disabled():
        print(
            f"\npayload fuzz: {cases} cases in {elapsed:.1f}s, {accepted} read by a parser,"
            f" {sum(source.rejected.values())} of {source.received} rejected by the source"
        )
    assert cases >= CASES


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(["event", "id", "repo", "wave", "ts", "status", "frozen", "mode", "x"]),
            children,
            max_size=6,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_ends_as_a_value_or_a_rejection(value: object) -> None:
    read_every_way(json.dumps(value, allow_nan=True).encode())


@settings(max_examples=600, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "event": st.sampled_from(["job.finished", "job.started", "runner.lost"]) | json_values,
            "id": st.text(max_size=10) | json_values,
            "repo": st.just("r") | json_values,
            "wave": st.just("Wave-1") | json_values,
            "status": st.sampled_from(["success", "failure"]) | json_values,
            "severity": st.sampled_from(["info", "critical"]) | json_values,
            "message": st.text(max_size=30),
            "ts": st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat())
            | st.text(max_size=30),
            "duration_s": st.floats() | st.integers(),
            "queue_wait_s": st.floats() | st.integers(),
        },
    )
)
def test_near_valid_events_end_as_values_or_rejections(document: dict[str, Any]) -> None:
    read_every_way(json.dumps(document, allow_nan=True).encode())


@settings(max_examples=600, deadline=None)
@given(st.binary(max_size=200))
def test_any_bytes_end_as_a_value_or_a_rejection(payload: bytes) -> None:
    read_every_way(payload)
