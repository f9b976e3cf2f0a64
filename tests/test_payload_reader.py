"""The two readers of a payload: orjson for the contract's flat objects, and the checked
reader that counts every limit as it reads. Whatever the bytes, `read_document` must give
what the checked reader gives: the same value, with the same types, or the same rejection.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maestro_control_room.cutover.payloads import (
    MAX_FIELDS,
    MAX_KEY_CHARS,
    MAX_TEXT_CHARS,
    PayloadRejected,
    _checked_document,
    _flat_object,
    read_document,
)


def outcome(read: Any, payload: bytes) -> object:
    """A reading as a comparable value: each value with its type (1 is not 1.0, -0.0 is
    not 0.0), or the rejection's reason and detail."""
    try:
        return typed(read(payload))
    except PayloadRejected as rejected:
        return ("rejected", rejected.reason, rejected.detail)


def typed(value: Any) -> object:
    if isinstance(value, dict):
        return ("object", tuple((key, typed(item)) for key, item in value.items()))
    if isinstance(value, list):
        return ("array", tuple(typed(item) for item in value))
    return (type(value).__name__, repr(value))


def agree(payload: bytes) -> None:
    assert outcome(read_document, payload) == outcome(_checked_document, payload), payload[:200]


EVENT = (
    b'{"event":"job.finished","id":"b00000042","repo":"payments/api","wave":"Wave-1",'
    b'"status":"success","queue_wait_s":4.0,"duration_s":431.0,"runner":"r-07",'
    b'"ts":"2026-12-02T10:59:00+00:00"}'
)


def test_a_contract_event_is_read_by_orjson() -> None:
    assert _flat_object(EVENT) is not None
    agree(EVENT)


@pytest.mark.parametrize(
    "payload",
    [
        # An integer past 64 bits: orjson would read it as a float.
        b'{"n": 123456789012345678901234567890}',
        b'{"n": 18446744073709551616}',
        b'{"n": -9223372036854775809}',
        b'{"n": 9223372036854775807}',
        # A literal longer than the limit, whatever its value.
        b'{"n": 0.1000000000000000000000000000000001}',
        b'{"n": 1' + b"0" * 40 + b"}",
        b'{"n": 1e400}',
        b'{"n": NaN}',
        b'{"n": -Infinity}',
        b'{"n": 1.5E+3}',
        b'{"n": -0.0}',
        # A key, a string and the fields at and past their limits.
        b'{"' + b"k" * MAX_KEY_CHARS + b'": 1}',
        b'{"' + b"k" * (MAX_KEY_CHARS + 1) + b'": 1}',
        b'{"m": "' + b"x" * (MAX_TEXT_CHARS + 1) + b'"}',
        json.dumps({f"f{n}": n for n in range(MAX_FIELDS)}).encode(),
        json.dumps({f"f{n}": n for n in range(MAX_FIELDS + 1)}).encode(),
        # A key given twice: the last one is kept, and each one counts as a field.
        b'{"a": "' + b"x" * (MAX_TEXT_CHARS + 1) + b'", "a": "short"}',
        b"{" + b", ".join([b'"a": 1'] * (MAX_FIELDS + 1)) + b"}",
        # Strings the checked reader reads and the fields' own checks refuse.
        b'{"id": "\\ud800"}',
        b'{"id": "a\\u001bb"}',
        b'{"id": "a\x01b"}',
        b'\xef\xbb\xbf{"a": 1}',
        b'{"a": "\xff"}',
        b'{"a": {"b": 1}}',
        b'{"a": [1, 2]}',
        b"[1, 2]",
        b'"text"',
        b"",
        b" {} ",
        b'{"a": 1} x',
        b'{"a": true, "b": false, "c": null}',
    ],
)  # fmt: skip
def test_the_readers_agree_at_the_edges(payload: bytes) -> None:
    agree(payload)


SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
)
KEYS = st.text(min_size=0, max_size=MAX_KEY_CHARS + 4)


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, SCALARS | st.lists(SCALARS, max_size=3), max_size=12))
def test_the_readers_agree_on_any_object(document: dict[str, Any]) -> None:
    agree(json.dumps(document).encode())
    agree(json.dumps(document, ensure_ascii=False).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=0, max_value=len(EVENT)))
def test_the_readers_agree_on_an_event_broken_anywhere(noise: bytes, at: int) -> None:
    agree(EVENT[:at] + noise + EVENT[at:])
    agree(EVENT[:at] + noise)


def test_the_readers_agree_on_bit_flips_of_an_event() -> None:
    rng = random.Random(14)
    for _ in range(5_000):
        damaged = bytearray(EVENT)
        for _ in range(rng.randint(1, 3)):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        agree(bytes(damaged))
