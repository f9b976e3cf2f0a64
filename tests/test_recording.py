"""The recording's codec: every update, and everything in it, to JSON and back, exactly."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from enum import Enum
from typing import Any, Union

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.events import BuildEvent, PlatformEvent
from maestro_control_room.cutover.recording import (
    FORMAT,
    UPDATE_TYPES,
    Audited,
    Batch,
    Header,
    RecordError,
    Tick,
    config_document,
    config_from_document,
    decode_update,
    encode_update,
    header_line,
    parse_line,
    record_line,
    stamp_of,
)
from maestro_control_room.cutover.signals import Signal, SignalStatus
from maestro_control_room.cutover.updates import (
    EventsUpdate,
    HealthState,
    SignalUpdate,
    SourceHealth,
    Update,
    WavesUpdate,
)
from maestro_control_room.cutover.waves import RepoState, WaveState, WaveStatus
from tests.conftest import config_document as toml_document

ZONES = st.sampled_from(
    [timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-7))]
)
TIMES = st.one_of(
    st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=ZONES),
    st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1)),  # naive, kept naive
)
TEXT = st.text(st.characters(exclude_categories=()), max_size=12)  # lone surrogates too


def strategy(hint: Any, *, nan: bool) -> st.SearchStrategy[Any]:
    """Values of any type an update holds, built from the type hints themselves, so a field
    added to an update is covered without touching this test."""
    origin = typing.get_origin(hint)
    if hint is type(None):
        return st.none()
    if origin is Union or origin is types.UnionType:
        return st.one_of(*(strategy(member, nan=nan) for member in typing.get_args(hint)))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return st.sampled_from(list(hint))
    if hint is bool:
        return st.booleans()
    if hint is int:
        return st.integers(-(2**63), 2**63)
    if hint is float:
        return st.one_of(st.floats(allow_nan=nan), st.integers(-1000, 1000))
    if hint is str:
        return TEXT
    if hint is datetime:
        return TIMES
    if hint is timedelta:  # a pause's duration: whole milliseconds survive the seconds
        return st.integers(0, 30 * 86_400_000).map(lambda ms: timedelta(milliseconds=ms))
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        hints = typing.get_type_hints(hint)
        fields = {
            item.name: strategy(hints[item.name], nan=nan)
            for item in dataclasses.fields(hint)
            if item.init
        }
        return st.builds(hint, **fields)
    arguments = typing.get_args(hint)
    if origin is tuple and not (len(arguments) == 2 and arguments[1] is Ellipsis):
        return st.tuples(*(strategy(argument, nan=nan) for argument in arguments))
    if origin in (tuple, Sequence):
        return st.lists(strategy(typing.get_args(hint)[0], nan=nan), max_size=3).map(tuple)
    if origin is Mapping:
        _, value = typing.get_args(hint)
        return st.dictionaries(TEXT, strategy(value, nan=nan), max_size=3)
    raise AssertionError(f"no strategy for {hint!r}")


UPDATES = st.one_of(*(strategy(cls, nan=False) for cls in UPDATE_TYPES.values()))
UPDATES_WITH_NAN = st.one_of(*(strategy(cls, nan=True) for cls in UPDATE_TYPES.values()))
UTC = timezone.utc
AT = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)


def test_every_update_type_is_registered() -> None:
    assert set(UPDATE_TYPES) == {cls.__name__ for cls in typing.get_args(Update)}


@settings(max_examples=300)
@given(UPDATES)
def test_every_update_round_trips_exactly(update: Update) -> None:
    assert decode_update(encode_update(update)) == update


@settings(max_examples=200)
@given(UPDATES, st.floats(0, 2e9), TIMES)
def test_a_batch_line_round_trips_through_json(update: Update, wall: float, now: datetime) -> None:
    batch = Batch(wall, now, "sim", (update, update))
    line = record_line(batch)
    assert "\n" not in line and line.isascii()
    parsed = parse_line(line)
    assert parsed.record == batch and not parsed.skipped
    stamp = stamp_of(line)
    assert (stamp.kind, stamp.wall, stamp.now) == ("batch", wall, now)


@settings(max_examples=200)
@given(UPDATES_WITH_NAN)
def test_not_a_number_and_infinity_survive(update: Update) -> None:
    # NaN is unequal to itself, so compare what is written: it must not change on a round trip.
    encoded = encode_update(update)
    line = json.dumps(encoded, allow_nan=False)
    assert encode_update(decode_update(json.loads(line))) == encoded


def test_values_keep_their_types_and_offsets() -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    update = WavesUpdate(
        "kubernetes",
        (WaveStatus("Wave-1", WaveState.ACTIVE, datetime(2026, 12, 1, 14, 30, tzinfo=india)),),
        {"payments/api": RepoState.MAESTRO},
        {"Wave-1": 0.97},
        AT,
        green_since=None,
    )
    decoded = decode_update(json.loads(json.dumps(encode_update(update))))
    assert isinstance(decoded, WavesUpdate)
    assert decoded == update
    assert isinstance(decoded.statuses, tuple)
    assert decoded.statuses[0].state is WaveState.ACTIVE
    assert decoded.statuses[0].since is not None
    assert decoded.statuses[0].since.utcoffset() == timedelta(hours=5, minutes=30)
    assert decoded.repo_states["payments/api"] is RepoState.MAESTRO


def test_the_json_is_plain_and_leaves_defaults_out() -> None:
    signal = Signal("success_rate", math.nan, "ratio", AT, SignalStatus.NOT_A_NUMBER, "nan")
    encoded = encode_update(SignalUpdate(signal))
    assert encoded == {
        "type": "SignalUpdate",
        "signal": {
            "type": "Signal",
            "name": "success_rate",
            "value": "NaN",
            "unit": "ratio",
            "at": "2026-12-02T11:00:00+00:00",
            "status": "not a number",
            "reason": "nan",
        },
    }


def test_stream_events_are_told_apart_by_type() -> None:
    update = EventsUpdate(
        "mqtt",
        (
            BuildEvent("job.finished", "j1", "a/b", "Wave-1", AT, "failure", 1.0, 20.0, "r1"),
            PlatformEvent("cve.detected", "critical", "CVE in base image", AT, "CVE-2026-1"),
        ),
        dropped=3,
    )
    decoded = decode_update(encode_update(update))
    assert decoded == update
    assert isinstance(decoded, EventsUpdate)
    assert [type(event) for event in decoded.events] == [BuildEvent, PlatformEvent]


def test_an_unknown_type_is_reported_not_guessed() -> None:
    with pytest.raises(RecordError, match="unknown update type 'TeleportUpdate'"):
        decode_update({"type": "TeleportUpdate", "source": "x"})
    events = encode_update(EventsUpdate("mqtt", ()))
    events["events"] = [{"type": "Comet", "ts": AT.isoformat()}]
    with pytest.raises(RecordError, match=r"events.*unknown type 'Comet'"):
        decode_update(events)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda d: d.pop("state"), "SourceHealth.state is missing"),
        (lambda d: d.update(state="fine"), "state: 'fine' is not a HealthState"),
        (lambda d: d.update(at="yesterday"), "at: expected an RFC 3339 time"),
        (lambda d: d.update(source=7), "source: expected a string, got 7"),
        (lambda d: d.update(type="SignalUpdate"), "SignalUpdate.signal is missing"),
    ],
)
def test_a_malformed_update_says_what_is_wrong(
    change: typing.Callable[[dict[str, Any]], object], words: str
) -> None:
    encoded = encode_update(SourceHealth("mqtt", HealthState.ERROR, AT, "refused"))
    change(encoded)
    with pytest.raises(RecordError, match=words):
        decode_update(encoded)


def test_a_batch_keeps_its_good_updates_and_names_the_others() -> None:
    good = encode_update(SourceHealth("sim", HealthState.CONNECTED, AT))
    line = json.dumps(
        {
            "k": "batch",
            "w": 1.5,
            "n": AT.isoformat(),
            "src": "sim",
            "u": [good, {"type": "FutureUpdate"}, {"type": "SourceHealth"}],
        }
    )
    parsed = parse_line(line)
    assert isinstance(parsed.record, Batch)
    assert parsed.record.updates == (SourceHealth("sim", HealthState.CONNECTED, AT),)
    assert len(parsed.skipped) == 2
    assert "update 2: unknown update type 'FutureUpdate'" in parsed.skipped[0]
    assert "update 3:" in parsed.skipped[1] and "missing" in parsed.skipped[1]


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('{"k":"batch","w":1,"n":"2026-12-02T11:00:00+00:00","u":[', "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"k":"dance"}', "not a record"),
        ('{"k":"tick","n":"2026-12-02T11:00:00+00:00"}', "wall time"),
        ('{"k":"tick","w":1,"n":"soon"}', "room clock"),
        ('{"k":"audit","w":1,"n":"2026-12-02T11:00:00+00:00"}', "needs its entry"),
    ],
)
def test_an_unsound_line_is_a_record_error(line: str, words: str) -> None:
    with pytest.raises(RecordError, match=words):
        parse_line(line)


def test_ticks_and_audit_entries_round_trip() -> None:
    tick = Tick(12.25, AT)
    assert parse_line(record_line(tick)).record == tick
    audited = Audited(13.0, AT, {"seq": 1, "kind": "intent", "action": "freeze", "ok": True})
    assert parse_line(record_line(audited)).record == audited


def test_the_index_reads_a_line_in_another_key_order_too() -> None:
    line = json.dumps({"n": AT.isoformat(), "w": 5, "k": "tick"})
    stamp = stamp_of(line)
    assert (stamp.kind, stamp.wall, stamp.now) == ("tick", 5.0, AT)
    with pytest.raises(RecordError):
        stamp_of('{"k":"header"}')


def header(config: Config) -> Header:
    return Header(
        session="abc",
        started=AT,
        now=AT - timedelta(days=1),
        wall=1_700_000_000.5,
        operator="alice",
        identity={"user": "alice", "host": "bastion", "tmux_session": "hypercare"},
        sources=("sim", "mqtt"),
        config=config_document(config),
        config_toml="[cutover]\n",
        config_path="/etc/maestro/config.toml",
        workbook_csv="Team/Repo,Tier\n",
        workbook_path="/etc/maestro/workbook.csv",
    )


def test_the_header_round_trips_with_its_config() -> None:
    config = Config.model_validate(
        toml_document(ui__keymap={"freeze": "F"}, thresholds={"green_period": "36h"})
    )
    recorded = header(config)
    line = header_line(recorded)
    body = json.loads(line)
    assert body["k"] == "header" and body["format"] == FORMAT
    parsed = parse_line(line).record
    assert parsed == recorded
    assert isinstance(parsed, Header)
    again = config_from_document(parsed.config)
    assert again == config
    assert again.thresholds.green_period == timedelta(hours=36)
    assert again.triggers[0].for_ == timedelta(minutes=5)


def test_a_newer_format_is_refused() -> None:
    body = json.loads(header_line(header(Config.model_validate(toml_document()))))
    body["format"] = FORMAT + 1
    with pytest.raises(RecordError, match=f"format {FORMAT + 1}"):
        parse_line(json.dumps(body))


def test_a_config_that_no_longer_validates_is_a_record_error() -> None:
    document = config_document(Config.model_validate(toml_document()))
    document["thresholds"]["success_rate_target"] = 7
    with pytest.raises(RecordError, match="does not validate"):
        config_from_document(document)


def test_a_recorded_config_keeps_its_durations_with_their_unit() -> None:
    from maestro_control_room.cutover.recording import config_document, config_from_document
    from tests.conftest import config_document as project_document

    config = Config.model_validate(project_document())
    document = config_document(config)
    assert document["sources"]["sim"]["refresh"] == "1.0s"
    assert config_from_document(document) == config
    # Recordings made before durations needed a unit hold bare seconds: still read.
    legacy = json.loads(re.sub(r'"(\d+\.\d+)s"', r"\1", json.dumps(document)))
    assert legacy["sources"]["sim"]["refresh"] == 1.0
    assert legacy["triggers"][0]["for"] == 300.0
    assert config_from_document(legacy) == config
