"""The contract's MQTT payloads: what is accepted, and why the rest is refused."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from maestro_control_room.cutover.freeze import UNFROZEN
from maestro_control_room.cutover.payloads import (
    MAX_DEPTH,
    MAX_DURATION_S,
    MAX_FIELDS,
    MAX_KEY_CHARS,
    MAX_NAME_CHARS,
    MAX_PAYLOAD_BYTES,
    MAX_TEXT_CHARS,
    PayloadRejected,
    parse_build_event,
    parse_freeze,
    parse_platform_event,
    parse_presence,
    rfc3339,
)
from maestro_control_room.cutover.presence import HEARTBEAT, MISSED_HEARTBEATS, Presence

NOW = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)


def platform(**fields: object) -> bytes:
    document = {"severity": "info", "message": "m", "ts": "2026-12-02T11:00:00Z", **fields}
    return json.dumps(document).encode()


def build(**fields: object) -> dict[str, Any]:
    return {
        "event": "job.finished",
        "id": "job-1",
        "repo": "payments/svc-api",
        "wave": "Wave-2",
        "status": "success",
        "queue_wait_s": 12.5,
        "duration_s": 431.0,
        "runner": "linux-large-7",
        "ts": "2026-12-02T10:59:00Z",
        **fields,
    }


def body(document: object) -> bytes:
    return json.dumps(document).encode()


def rejection(payload: bytes) -> tuple[str, str]:
    with pytest.raises(PayloadRejected) as rejected:
        parse_build_event(payload, now=NOW)
    return rejected.value.reason, rejected.value.detail


@pytest.mark.parametrize("event", ["runner.lost", "registry.brownout", "chaos.drill"])
def test_a_platform_event_needs_no_cve(event: str) -> None:
    assert parse_platform_event(platform(event=event), now=NOW).event == event


def test_a_cve_event_carries_its_cve() -> None:
    parsed = parse_platform_event(platform(event="cve.detected", cve="CVE-2026-1"), now=NOW)
    assert parsed.cve == "CVE-2026-1"
    with pytest.raises(PayloadRejected, match="missing field"):
        parse_platform_event(platform(event="cve.detected"), now=NOW)


def test_a_good_build_event_is_read_whole() -> None:
    event = parse_build_event(body(build()), now=NOW)
    assert (event.id, event.status, event.duration_s, event.queue_wait_s) == (
        "job-1",
        "success",
        431.0,
        12.5,
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        # The fault pass's own: a 10 KB nesting and a 400-digit number ended the stream.
        (("[" * 5000 + "]" * 5000).encode(), "too deep"),
        (b'{"a":' * 5000 + b"1" + b"}" * 5000, "too deep"),
        (body(build(duration_s=int("9" * 400))), "out of range"),
        (body(build(queue_wait_s=int("9" * 33))), "out of range"),
        (b'{"duration_s": 1e400}', "out of range"),
        (body(build()).replace(b"431.0", b"NaN"), "out of range"),
        (body(build()).replace(b"431.0", b"Infinity"), "out of range"),
        (body(build()).replace(b"431.0", b"-Infinity"), "out of range"),
        (body(build(duration_s=-500)), "out of range"),
        (body(build(queue_wait_s=-0.001)), "out of range"),
        (body(build(duration_s=1e308)), "out of range"),
        (body(build(duration_s=MAX_DURATION_S + 1)), "out of range"),
        (body(build(ts="9999-12-31T23:59:59Z")), "out of range"),
        (body(build(ts="0001-01-01T00:00:00Z")), "out of range"),
        (body(build(ts="0001-01-01T00:00:00+14:00")), "out of range"),
        (body(build(ts="1999-12-31T23:59:59.999999Z")), "out of range"),
        (body(build(ts=rfc3339(NOW + timedelta(days=1, microseconds=1)))), "out of range"),
        (body(build(ts="2026-12-02T10:59:00")), "wrong field"),
        (body(build(ts="x" * 65)), "wrong field"),
        (body(build(**{"k" * (MAX_KEY_CHARS + 1): 1})), "too large"),
        (body(build(runner="r" * (MAX_NAME_CHARS + 1))), "too large"),
        (body(build(id="j" * (MAX_NAME_CHARS + 1))), "too large"),
        (body(build(**{f"f{n}": n for n in range(MAX_FIELDS)})), "too large"),
        (body(build(repo="payments/\x1b[2Jsvc")), "wrong field"),
        (body(build(id="a\nb")), "wrong field"),
        (body(build()).replace(b'"job-1"', b'"\\ud800"'), "wrong field"),
        (body(build(event=["job.finished"])), "wrong field"),
        (body(build(status=None)), "wrong field"),
        (b" " * (MAX_PAYLOAD_BYTES + 1), "too large"),
        (b"\xff\xfe", "not JSON"),
        (b"[1, 2]", "not an object"),
        (b"", "not JSON"),
    ],
)  # fmt: skip
def test_hostile_payloads_are_rejected_with_their_reason(payload: bytes, reason: str) -> None:
    assert rejection(payload)[0] == reason


def test_a_message_may_be_a_paragraph_but_not_a_document() -> None:
    text = "m" * MAX_TEXT_CHARS
    assert parse_platform_event(platform(event="chaos.drill", message=text), now=NOW).message
    with pytest.raises(PayloadRejected, match="too large"):
        parse_platform_event(platform(event="chaos.drill", message=text + "m"), now=NOW)


def test_a_string_full_of_brackets_is_not_nesting() -> None:
    """The depth scan skips strings, escaped quotes included."""
    message = '\\"[[[' * 50 + "{" * 50
    event = parse_platform_event(platform(event="chaos.drill", message=message), now=NOW)
    assert event.message == message


def test_nesting_up_to_the_limit_is_read() -> None:
    nested: Any = 1
    for _ in range(MAX_DEPTH - 1):
        nested = {"x": nested}
    assert parse_build_event(body(build(extra=nested)), now=NOW).id == "job-1"
    assert rejection(body(build(extra={"x": nested})))[0] == "too deep"


def test_the_time_window_is_exact_at_both_ends() -> None:
    assert parse_build_event(body(build(ts="2000-01-01T00:00:00Z")), now=NOW).ts.year == 2000
    ahead = NOW + timedelta(days=1)
    assert parse_build_event(body(build(ts=rfc3339(ahead))), now=NOW).ts == ahead


def test_durations_are_exact_at_both_ends() -> None:
    assert parse_build_event(body(build(duration_s=0)), now=NOW).duration_s == 0.0
    top = parse_build_event(body(build(duration_s=MAX_DURATION_S)), now=NOW)
    assert top.duration_s == MAX_DURATION_S


# --- the retained freeze -------------------------------------------------------------------


def freeze(**fields: object) -> bytes:
    return body({"frozen": True, "by": "alice", "reason": "incident", "at": rfc3339(NOW), **fields})


@pytest.mark.parametrize("frozen", [True, False])
def test_a_freeze_is_read_as_it_was_written(frozen: bool) -> None:
    state = parse_freeze(freeze(frozen=frozen), now=NOW)
    assert (state.frozen, state.by, state.reason, state.at) == (frozen, "alice", "incident", NOW)


@pytest.mark.parametrize("frozen", ["false", "true", 0, 1, None, [], {}])
def test_frozen_must_be_a_json_bool_never_truthy(frozen: object) -> None:
    with pytest.raises(PayloadRejected) as rejected:
        parse_freeze(freeze(frozen=frozen), now=NOW)
    assert rejected.value.reason == "wrong field"
    assert rejected.value.detail.startswith("frozen: expected true or false")


@pytest.mark.parametrize("field", ["frozen", "by", "reason", "at"])
def test_a_freeze_needs_every_field(field: str) -> None:
    document = json.loads(freeze())
    del document[field]
    with pytest.raises(PayloadRejected) as rejected:
        parse_freeze(body(document), now=NOW)
    assert (rejected.value.reason, rejected.value.detail) == ("missing field", field)


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"by": 7}, "wrong field"),
        ({"reason": ["a"]}, "wrong field"),
        ({"at": "yesterday"}, "wrong field"),
        ({"at": "9999-01-01T00:00:00Z"}, "out of range"),
    ],
)
def test_a_freeze_with_a_wrong_field_is_rejected(fields: dict[str, object], reason: str) -> None:
    with pytest.raises(PayloadRejected) as rejected:
        parse_freeze(freeze(**fields), now=NOW)
    assert rejected.value.reason == reason


def test_an_empty_retained_freeze_is_unfrozen() -> None:
    assert parse_freeze(b"", now=NOW) == UNFROZEN
    with pytest.raises(PayloadRejected, match="not an object"):
        parse_freeze(b"null", now=NOW)


# --- presence ------------------------------------------------------------------------------


def presence(**fields: object) -> bytes:
    document = {"operator": "bob", "host": "bastion", "since": rfc3339(NOW), "mode": "operator"}
    return body({**document, **fields})


@pytest.mark.parametrize("mode", ["operator", "read-only"])
def test_a_presence_is_read_as_it_was_written(mode: str) -> None:
    seen = NOW + timedelta(seconds=30)
    read = parse_presence("bob-1", presence(mode=mode, seen=rfc3339(seen), client_id="c"), now=NOW)
    assert read == Presence("bob-1", "bob", "bastion", NOW, mode, seen=seen, client_id="c")


def test_a_presence_without_a_heartbeat_was_last_seen_at_its_start() -> None:
    assert parse_presence("bob-1", presence(), now=NOW).seen == NOW


@pytest.mark.parametrize("mode", ["admin", "Operator", "readonly", "", 1, None, True])
def test_an_unknown_presence_mode_is_rejected(mode: object) -> None:
    with pytest.raises(PayloadRejected) as rejected:
        parse_presence("bob-1", presence(mode=mode), now=NOW)
    assert rejected.value.reason == "wrong field"
    assert rejected.value.detail.startswith("mode:")


@pytest.mark.parametrize("field", ["operator", "host", "since", "mode"])
def test_a_presence_needs_every_field(field: str) -> None:
    document = json.loads(presence())
    del document[field]
    with pytest.raises(PayloadRejected) as rejected:
        parse_presence("bob-1", body(document), now=NOW)
    assert (rejected.value.reason, rejected.value.detail) == ("missing field", field)


@pytest.mark.parametrize(
    "fields",
    [{"operator": 1}, {"host": None}, {"since": "soon"}, {"seen": 5}, {"client_id": ["x"]}],
)
def test_a_presence_with_a_wrong_field_is_rejected(fields: dict[str, object]) -> None:
    with pytest.raises(PayloadRejected, match="wrong field"):
        parse_presence("bob-1", presence(**fields), now=NOW)


def test_a_watcher_expires_exactly_after_its_missed_heartbeats() -> None:
    watcher = parse_presence("bob-1", presence(seen=rfc3339(NOW)), now=NOW)
    limit = HEARTBEAT * MISSED_HEARTBEATS
    assert not watcher.expired(NOW + limit)
    assert watcher.expired(NOW + limit + timedelta(microseconds=1))
    assert not watcher.expired(NOW + timedelta(seconds=3), timedelta(seconds=1))
    assert watcher.expired(NOW + timedelta(seconds=3, microseconds=1), timedelta(seconds=1))
