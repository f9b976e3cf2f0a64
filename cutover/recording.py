"""A recorded session, line by line: what the sources delivered, when the room was evaluated,
and what the audit journal took in. Pure: encoding and decoding only; the files are written by
`sources.recorder` and read by `sources.replay`.

Updates are encoded by their type hints, so the JSON stays plain (`"at": "2026-12-02T11:00:00
+00:00"`, `"state": "legacy"`) and decodes back to equal objects: tuples as tuples, enums as
enums, datetimes with their offset. Every dataclass carries its class name as `type`, which is
what tells the members of a union apart (a build from a platform event) and what a reader
checks against its registry: an unknown type is reported, never guessed at.

Pydantic's `TypeAdapter` over the same updates is faster (`python -m bench.codec`) but
writes another format: UTC as `Z` rather than the offset the time had, no `type` in nested
objects, so a nested union is told apart by its shape; and it reads `"0.5"` as a number.
So the codec stays, with the format docs/recording.md describes.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from functools import cache
from typing import Any, Union

from .config import Config
from .updates import Update

#: The version of the file format; a reader refuses a newer one.
FORMAT = 1

#: Every update a source can deliver, by the name a recording gives it.
UPDATE_TYPES: Mapping[str, type] = {cls.__name__: cls for cls in typing.get_args(Update)}

_NOT_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


class RecordError(ValueError):
    """A line or a value that is not a sound record; the message says why."""


# Values -----------------------------------------------------------------------------------------


def encode_value(value: Any) -> Any:
    """`value` as JSON-able data. Fields still at their default are left out."""
    if isinstance(value, Enum):
        return value.value
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        encoded: dict[str, Any] = {"type": type(value).__name__}
        for item in dataclasses.fields(value):
            if not item.init:
                continue
            current = getattr(value, item.name)
            if _is_default(item, current):
                continue
            encoded[item.name] = encode_value(current)
        return encoded
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"cannot record a mapping key {key!r}: keys must be strings")
            out[key] = encode_value(item)
        return out
    if isinstance(value, tuple | list):
        return [encode_value(item) for item in value]
    raise TypeError(f"cannot record a {type(value).__name__}")


def _is_default(item: dataclasses.Field[Any], current: Any) -> bool:
    if item.default is not dataclasses.MISSING:
        default = item.default
    elif item.default_factory is not dataclasses.MISSING:
        default = item.default_factory()
    else:
        return False
    # `type` too: 0 == 0.0 == False, and a float field given an int keeps its int.
    return type(current) is type(default) and bool(current == default)


def decode_value(data: Any, hint: Any, where: str = "") -> Any:
    """`data` as the type `hint` describes; RecordError naming `where` when it is not one."""
    try:
        return _decoder(hint)(data)
    except RecordError as error:
        raise RecordError(f"{where}: {error}" if where else str(error)) from None


Decoder = Callable[[Any], Any]


class _At(RecordError):
    """A decoding error inside a value, with the path to it, outermost first."""

    def __init__(self, path: tuple[str, ...], message: str) -> None:
        self.path, self.message = path, message
        super().__init__(f"{''.join(path).lstrip('.')}: {message}" if path else message)


def _within(step: str, error: RecordError) -> _At:
    if isinstance(error, _At):
        return _At((step, *error.path), error.message)
    return _At((step,), str(error))


@cache
def _decoder(hint: Any) -> Decoder:
    """A decoder for one type, made once: decoding every line of a long recording must not
    inspect type hints again for every value."""
    origin = typing.get_origin(hint)
    if hint is Any or hint is object:
        return _same
    if hint is type(None):
        return _none
    if origin is Union or origin is types.UnionType:
        return _union_decoder(typing.get_args(hint))
    if isinstance(hint, type) and issubclass(hint, Enum):
        return _enum_decoder(hint)
    simple = _SIMPLE.get(hint)
    if simple is not None:
        return simple
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _dataclass_decoder(hint)
    if origin in (tuple, list, Sequence):
        return _sequence_decoder(origin, typing.get_args(hint))
    if origin in (dict, Mapping):
        key_hint, value_hint = typing.get_args(hint) or (str, Any)
        return _mapping_decoder(_decoder(key_hint), _decoder(value_hint))
    raise TypeError(f"cannot decode a {hint!r}")


def _same(data: Any) -> Any:
    return data


def _none(data: Any) -> None:
    if data is not None:
        raise RecordError(f"expected null, got {_shown(data)}")


def _bool(data: Any) -> bool:
    if isinstance(data, bool):
        return data
    raise RecordError(f"expected true or false, got {_shown(data)}")


def _int(data: Any) -> int:
    if isinstance(data, int) and not isinstance(data, bool):
        return data
    raise RecordError(f"expected a whole number, got {_shown(data)}")


def _float(data: Any) -> float:
    if isinstance(data, float | int) and not isinstance(data, bool):
        return data  # an int stays an int, as the source gave it
    if isinstance(data, str) and data in _NOT_FINITE:
        return _NOT_FINITE[data]
    raise RecordError(f"expected a number, got {_shown(data)}")


def _str(data: Any) -> str:
    if isinstance(data, str):
        return data
    raise RecordError(f"expected a string, got {_shown(data)}")


def _datetime(data: Any) -> datetime:
    if isinstance(data, str):
        try:
            return datetime.fromisoformat(data)
        except ValueError:
            pass
    raise RecordError(f"expected an RFC 3339 time, got {_shown(data)}")


def _timedelta(data: Any) -> timedelta:
    if isinstance(data, int | float) and not isinstance(data, bool):
        return timedelta(seconds=data)
    raise RecordError(f"expected seconds, got {_shown(data)}")


_SIMPLE: dict[Any, Decoder] = {
    bool: _bool,
    int: _int,
    float: _float,
    str: _str,
    datetime: _datetime,
    timedelta: _timedelta,
}


def _enum_decoder(cls: type[Enum]) -> Decoder:
    members = dict(cls._value2member_map_)

    def decode(data: Any) -> Any:
        try:
            return members[data]
        except (KeyError, TypeError):
            raise RecordError(f"{_shown(data)} is not a {cls.__name__}") from None

    return decode


def _union_decoder(members: tuple[Any, ...]) -> Decoder:
    optional = type(None) in members
    named = {m.__name__: _decoder(m) for m in members if isinstance(m, type)}
    tried = [_decoder(m) for m in members if m is not type(None)]

    def decode(data: Any) -> Any:
        if data is None and optional:
            return None
        if isinstance(data, dict) and "type" in data:
            chosen = named.get(str(data["type"]))
            if chosen is None:
                raise RecordError(f"unknown type {data['type']!r}")
            return chosen(data)
        first: RecordError | None = None
        for decoder in tried:
            try:
                return decoder(data)
            except RecordError as error:
                first = first or error
        raise first or RecordError("no type fits")

    return decode


def _sequence_decoder(origin: Any, arguments: tuple[Any, ...]) -> Decoder:
    if origin is tuple and arguments and not (len(arguments) == 2 and arguments[1] is Ellipsis):
        fixed = [_decoder(argument) for argument in arguments]

        def decode_fixed(data: Any) -> tuple[Any, ...]:
            if not isinstance(data, list) or len(data) != len(fixed):
                raise RecordError(f"expected a list of {len(fixed)}, got {_shown(data)}")
            items = []
            for index, (decoder, item) in enumerate(zip(fixed, data, strict=True)):
                try:
                    items.append(decoder(item))
                except RecordError as error:
                    raise _within(f"[{index}]", error) from None
            return tuple(items)

        return decode_fixed
    inner = _decoder(arguments[0] if arguments else Any)
    as_list = origin is list

    def decode(data: Any) -> Any:
        if not isinstance(data, list):
            raise RecordError(f"expected a list, got {_shown(data)}")
        try:
            items = [inner(item) for item in data]
        except RecordError:
            for index, item in enumerate(data):  # again, slowly, to say where
                try:
                    inner(item)
                except RecordError as error:
                    raise _within(f"[{index}]", error) from None
            raise
        return items if as_list else tuple(items)

    return decode


def _mapping_decoder(keys: Decoder, values: Decoder) -> Decoder:
    def decode(data: Any) -> dict[Any, Any]:
        if not isinstance(data, dict):
            raise RecordError(f"expected an object, got {_shown(data)}")
        out = {}
        for key, item in data.items():
            try:
                out[keys(key)] = values(item)
            except RecordError as error:
                raise _within(f".{key}", error) from None
        return out

    return decode


def _dataclass_decoder(cls: type) -> Decoder:
    hints = typing.get_type_hints(cls)
    name = cls.__name__
    # Decoders of the fields are made on first use: a dataclass may refer to itself.
    specs = [
        (item.name, hints[item.name], _required(item))
        for item in dataclasses.fields(cls)
        if item.init
    ]
    made: list[tuple[str, Decoder, bool]] = []

    def decode(data: Any) -> Any:
        if not made:
            made.extend(
                (field_name, _decoder(hint), required) for field_name, hint, required in specs
            )
        if not isinstance(data, dict):
            raise RecordError(f"expected a {name}, got {_shown(data)}")
        named = data.get("type", name)
        if named != name:
            raise RecordError(f"expected a {name}, got a {named!r}")
        arguments: dict[str, Any] = {}
        for field_name, decoder, required in made:
            if field_name in data:
                try:
                    arguments[field_name] = decoder(data[field_name])
                except RecordError as error:
                    raise _within(f".{field_name}", error) from None
            elif required:
                raise RecordError(f"{name}.{field_name} is missing")
        try:
            return cls(**arguments)
        except (TypeError, ValueError) as error:
            raise RecordError(f"{name}: {error}") from None

    return decode


def _required(item: dataclasses.Field[Any]) -> bool:
    return item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING


def _shown(data: Any) -> str:
    text = json.dumps(data) if not isinstance(data, str) else repr(data)
    return text if len(text) <= 40 else text[:37] + "..."


def encode_update(update: Update) -> dict[str, Any]:
    """One update as a JSON object that names its type."""
    if type(update).__name__ not in UPDATE_TYPES:
        raise TypeError(f"{type(update).__name__} is not an update")
    encoded = encode_value(update)
    assert isinstance(encoded, dict)
    return encoded


def decode_update(data: Any) -> Update:
    """An update from its JSON object; RecordError for an unknown type or a malformed one."""
    if not isinstance(data, dict):
        raise RecordError(f"an update must be an object, got {_shown(data)}")
    name = data.get("type")
    cls = UPDATE_TYPES.get(str(name))
    if cls is None:
        raise RecordError(f"unknown update type {name!r}")
    decoded: Update = decode_value(data, cls, str(name))
    return decoded


# Records ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Header:
    """The first line of a recording: enough to replay it anywhere, without the original files."""

    session: str
    #: The wall time the recording started, and the room clock's now at that moment.
    started: datetime
    now: datetime
    wall: float
    operator: str
    #: Who recorded: the audit journal's operator fields (user, host, SSH client, tmux).
    identity: Mapping[str, str]
    sources: tuple[str, ...]
    #: The configuration in force, as validated (durations in seconds); what a replay uses.
    config: Mapping[str, Any]
    #: The config file's own text and path, kept as they were.
    config_toml: str
    config_path: str
    workbook_csv: str
    workbook_path: str
    program: str = "maestro-control-room"
    format: int = FORMAT


@dataclass(frozen=True)
class PartStart:
    """The first line of each further part of a rotated recording."""

    session: str
    part: int
    wall: float


@dataclass(frozen=True)
class Batch:
    """What one source delivered at once, with the wall time and the room clock's now."""

    wall: float
    now: datetime
    source: str
    updates: tuple[Update, ...]


@dataclass(frozen=True)
class Tick:
    """The room was evaluated at `now`: triggers and the green period advance only here."""

    wall: float
    now: datetime


@dataclass(frozen=True)
class Audited:
    """An audit journal entry, exactly as the journal wrote it."""

    wall: float
    now: datetime
    entry: Mapping[str, Any]


Record = Batch | Tick | Audited


@dataclass(frozen=True)
class Parsed:
    """A decoded line, and the updates of it that had to be skipped, with why."""

    record: Header | PartStart | Record
    skipped: tuple[str, ...] = ()


def _dumps(body: Mapping[str, Any]) -> str:
    # Compact, ASCII (a lone surrogate in a payload still makes a valid line), no NaN.
    return json.dumps(body, separators=(",", ":"), allow_nan=False)


def header_line(header: Header) -> str:
    body = encode_value(header)
    body.pop("type")
    # Never left out as defaults: a reader needs them to know what it is reading.
    body["format"], body["program"] = header.format, header.program
    return _dumps({"k": "header", **body})


def part_line(part: PartStart) -> str:
    return _dumps({"k": "part", "session": part.session, "part": part.part, "w": part.wall})


def record_line(record: Record) -> str:
    """One record as a line (without its newline). The first three keys are always `k`, `w`,
    `n` in this order, so a reader can index a long recording without decoding every line."""
    head: dict[str, Any] = {"k": "", "w": record.wall, "n": record.now.isoformat()}
    if isinstance(record, Batch):
        head["k"] = "batch"
        head["src"] = record.source
        head["u"] = [encode_update(update) for update in record.updates]
    elif isinstance(record, Tick):
        head["k"] = "tick"
    else:
        head["k"] = "audit"
        head["entry"] = dict(record.entry)
    return _dumps(head)


_PREFIX = re.compile(r'\{"k":"(batch|tick|audit)","w":(-?[0-9][0-9.eE+-]*),"n":"([^"\\]+)"')


@dataclass(frozen=True)
class Stamp:
    """What indexing needs of a record line: its kind, wall time and clock time."""

    kind: str
    wall: float
    now: datetime


def stamp_of(line: str) -> Stamp:
    """The kind and times of a record line, read from its start when it is in the form
    `record_line` writes, else from the whole line. RecordError when it is not a record."""
    match = _PREFIX.match(line)
    if match is not None:
        try:
            return Stamp(match[1], float(match[2]), datetime.fromisoformat(match[3]))
        except ValueError:
            pass
    body = _load(line)
    kind = body.get("k")
    if kind not in ("batch", "tick", "audit"):
        raise RecordError(f"not a record: k is {kind!r}")
    return Stamp(str(kind), _wall(body), _now(body))


def _load(line: str) -> dict[str, Any]:
    try:
        body = json.loads(line)
    except json.JSONDecodeError as error:
        raise RecordError(f"not JSON ({error.msg} at column {error.colno})") from None
    except ValueError as error:  # a number too long to read, say
        raise RecordError(f"not JSON ({error})") from None
    if not isinstance(body, dict):
        raise RecordError("not a JSON object")
    return body


def _wall(body: Mapping[str, Any]) -> float:
    wall = body.get("w")
    if not isinstance(wall, int | float) or isinstance(wall, bool) or not math.isfinite(wall):
        raise RecordError("w (the wall time) is missing or not a number")
    return float(wall)


def _now(body: Mapping[str, Any]) -> datetime:
    now = body.get("n")
    if isinstance(now, str):
        try:
            return datetime.fromisoformat(now)
        except ValueError:
            pass
    raise RecordError("n (the room clock's now) is missing or not an RFC 3339 time")


def parse_line(line: str) -> Parsed:
    """Any line of a recording. RecordError when the line itself is unsound; an update in a
    batch that is unknown or malformed is skipped and named in `skipped` instead."""
    body = _load(line)
    kind = body.get("k")
    if kind == "header":
        fields = {key: value for key, value in body.items() if key != "k"}
        version = fields.get("format")
        if isinstance(version, int) and version > FORMAT:
            raise RecordError(
                f"recorded in format {version}; this version reads format {FORMAT} or older"
            )
        header: Header = decode_value(fields, Header, "header")
        return Parsed(header)
    if kind == "part":
        session, part = body.get("session"), body.get("part")
        if not isinstance(session, str) or not isinstance(part, int):
            raise RecordError("a part line needs session and part")
        return Parsed(PartStart(session, part, _wall(body)))
    if kind == "tick":
        return Parsed(Tick(_wall(body), _now(body)))
    if kind == "audit":
        entry = body.get("entry")
        if not isinstance(entry, dict):
            raise RecordError("an audit line needs its entry")
        return Parsed(Audited(_wall(body), _now(body), entry))
    if kind == "batch":
        raw = body.get("u")
        if not isinstance(raw, list):
            raise RecordError("a batch needs its updates, u")
        updates: list[Update] = []
        skipped: list[str] = []
        for index, item in enumerate(raw):
            try:
                updates.append(decode_update(item))
            except RecordError as error:
                skipped.append(f"update {index + 1}: {error}")
        source = body.get("src")
        return Parsed(
            Batch(_wall(body), _now(body), str(source or ""), tuple(updates)), tuple(skipped)
        )
    raise RecordError(f"not a record: k is {kind!r}")


# The configuration ------------------------------------------------------------------------------


def config_document(config: Config) -> dict[str, Any]:
    """The validated config as JSON-able data that validates back to an equal config."""

    def plain(value: Any) -> Any:
        if isinstance(value, timedelta):
            return f"{value.total_seconds()}s"  # a duration says its unit, as in config.toml
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, Mapping):
            return {str(key): plain(item) for key, item in value.items()}
        if isinstance(value, tuple | list):
            return [plain(item) for item in value]
        return value

    document: dict[str, Any] = plain(config.model_dump(by_alias=True))
    return document


def _units_on_durations(model: Any, document: Mapping[str, Any]) -> dict[str, Any]:
    """Recordings made before durations needed their unit hold them as bare seconds."""
    import typing

    from pydantic import BaseModel

    def model_in(annotation: Any) -> Any:
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return annotation
        for argument in typing.get_args(annotation):
            if (found := model_in(argument)) is not None:
                return found
        return None

    fields = {field.alias or name: field for name, field in model.model_fields.items()}
    converted: dict[str, Any] = dict(document)
    for key, value in document.items():
        field = fields.get(key)
        if field is None:
            continue
        if field.annotation is timedelta and isinstance(value, int | float):
            if not isinstance(value, bool):
                converted[key] = f"{value}s"
            continue
        inner = model_in(field.annotation)
        if inner is None:
            continue
        if isinstance(value, Mapping):
            if typing.get_origin(field.annotation) is dict:
                converted[key] = {k: _units_on_durations(inner, v) if isinstance(v, Mapping)
                                  else v for k, v in value.items()}  # fmt: skip
            else:
                converted[key] = _units_on_durations(inner, value)
        elif isinstance(value, list):
            converted[key] = [
                _units_on_durations(inner, item) if isinstance(item, Mapping) else item
                for item in value
            ]
    return converted


def config_from_document(document: Mapping[str, Any]) -> Config:
    """The config a recording was made with; RecordError when it does not validate."""
    from pydantic import ValidationError

    try:
        return Config.model_validate(_units_on_durations(Config, document))
    except ValidationError as error:
        raise RecordError(f"the recorded configuration does not validate: {error}") from None
