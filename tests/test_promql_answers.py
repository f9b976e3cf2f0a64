"""How each kind of PromQL answer becomes a signal, and how secrets are read."""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maestro_control_room.cutover.gates import CheckKind, CheckSpec, CheckState
from maestro_control_room.cutover.signals import SignalStatus
from maestro_control_room.cutover.waves import RepoState
from maestro_control_room.sources.prometheus import (
    check_reading_of,
    history_of,
    parse_answer,
    repo_states_of,
    shadow_pass_of,
    signal_of,
)
from maestro_control_room.sources.secrets import SecretError, read_secret

AT = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)
JSON = "application/json"


def envelope(result_type: str, result: object, **extra: object) -> bytes:
    return json.dumps(
        {"status": "success", "data": {"resultType": result_type, "result": result}, **extra}
    ).encode()


def vector(*values: str, label: str = "wave") -> bytes:
    return envelope(
        "vector",
        [{"metric": {label: f"Wave-{i}"}, "value": [1.7e9, v]} for i, v in enumerate(values)],
    )


@pytest.mark.parametrize(
    ("body", "status", "value", "reason"),
    [
        (vector("0.991"), SignalStatus.OK, 0.991, ""),
        (envelope("scalar", [1.7e9, "54.1"]), SignalStatus.OK, 54.1, ""),
        (
            envelope("matrix", [{"metric": {}, "values": [[1.7e9, "1"], [1.7e9 + 15, "2"]]}]),
            SignalStatus.OK,
            2.0,
            "",
        ),
        (vector(), SignalStatus.NO_DATA, None, "no data"),
        (vector("NaN"), SignalStatus.NOT_A_NUMBER, None, "nan"),
        (vector("+Inf"), SignalStatus.NOT_A_NUMBER, None, "inf"),
        (vector("1", "2", "3"), SignalStatus.ERROR, None, "3 series, expected 1"),
        (
            envelope("string", [1.7e9, "hello"]),
            SignalStatus.ERROR,
            None,
            "a string result, expected a number",
        ),
    ],
)
def test_result_kinds(body: bytes, status: SignalStatus, value: float | None, reason: str) -> None:
    signal = signal_of("success_rate", "ratio", parse_answer(200, JSON, body), AT)
    assert signal.status is status
    if value is not None:
        assert signal.value == value
    assert signal.reason == reason
    assert signal.source == "prometheus"


@pytest.mark.parametrize(
    ("http", "error_type", "text"),
    [
        (400, "bad_data", 'invalid parameter "query": 1:5: parse error: unexpected'),
        (422, "execution", "query processing would load too many samples"),
        (503, "timeout", "query timed out in expression evaluation"),
    ],
)
def test_error_envelopes_are_shown_with_their_text(http: int, error_type: str, text: str) -> None:
    body = json.dumps({"status": "error", "errorType": error_type, "error": text}).encode()
    result = parse_answer(http, JSON, body)
    assert result.reached, "the server answered, it only refused the query"
    signal = signal_of("queue_wait_p95", "s", result, AT)
    assert signal.status is SignalStatus.ERROR
    assert signal.reason == f"{error_type}: {text}"


def test_a_proxy_page_is_an_error_with_a_short_reason() -> None:
    page = b"<html><head><title>502 Bad Gateway</title></head><body>" + b"x" * 5000
    result = parse_answer(502, "text/html; charset=utf-8", page)
    assert not result.reached
    assert result.error.startswith("HTTP 502: not a Prometheus answer (text/html)")
    assert len(result.error) < 140


def test_partial_response_warnings_mark_the_value() -> None:
    body = vector("0.99")[:-1] + b', "warnings": ["store eu-2 unavailable"]}'
    signal = signal_of("success_rate", "ratio", parse_answer(200, JSON, body), AT)
    assert signal.status is SignalStatus.OK and signal.value == 0.99
    assert signal.warning == "store eu-2 unavailable"


def test_by_label_breakdowns() -> None:
    shadow = parse_answer(200, JSON, vector("0.97", "NaN", "0.99"))
    assert shadow_pass_of(shadow) == {"Wave-0": 0.97, "Wave-2": 0.99}
    states = parse_answer(
        200,
        JSON,
        envelope(
            "vector",
            [
                {"metric": {"repo": "payments/api", "state": "canary"}, "value": [1, "1"]},
                {"metric": {"repo": "web/site", "state": "maestro"}, "value": [1, "1"]},
                {"metric": {"repo": "odd/one", "state": "sideways"}, "value": [1, "1"]},
            ],
        ),
    )
    assert repo_states_of(states) == {
        "payments/api": RepoState.CANARY,
        "web/site": RepoState.MAESTRO,
    }


def test_history_skips_points_that_are_not_numbers() -> None:
    body = envelope(
        "matrix", [{"metric": {}, "values": [[1.7e9, "1"], [1.7e9 + 15, "NaN"], [1.7e9 + 30, "3"]]}]
    )
    points = history_of(parse_answer(200, JSON, body))
    assert points is not None
    assert [v for _, v in points] == [1.0, 3.0]


@given(st.binary(max_size=300), st.integers(100, 599))
def test_any_body_becomes_a_result_never_an_exception(body: bytes, http: int) -> None:
    result = parse_answer(http, "text/plain", body)
    signal = signal_of("flake_rate", "ratio", result, AT)
    if signal.status is SignalStatus.OK:
        assert signal.value is not None and math.isfinite(signal.value)


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=4))
def test_vectors_of_any_floats(values: list[float]) -> None:
    body = vector(*(repr(v).replace("inf", "Inf").replace("nan", "NaN") for v in values))
    signal = signal_of("success_rate", "ratio", parse_answer(200, JSON, body), AT)
    if len(values) == 0:
        assert signal.status is SignalStatus.NO_DATA
    elif len(values) > 1:
        assert signal.status is SignalStatus.ERROR
    elif math.isfinite(values[0]):
        assert signal.status is SignalStatus.OK and signal.value == values[0]
    else:
        assert signal.status is SignalStatus.NOT_A_NUMBER


def test_secret_from_file_and_env(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    assert read_secret("k", file=str(token), env=None) == "s3cret"
    assert read_secret("k", file=None, env="TOKEN", environ={"TOKEN": "t"}) == "t"
    assert read_secret("k", file=None, env=None) is None


@pytest.mark.parametrize(
    ("file", "env", "message"),
    [
        ("/nonexistent/token", None, "k_file: cannot read /nonexistent/token"),
        (None, "UNSET", "k_env: environment variable UNSET is not set"),
        (None, "EMPTY", "k_env: environment variable EMPTY is empty"),
        ("/x", "EMPTY", "give either k_file or k_env, not both"),
    ],
)
def test_secret_errors_name_the_key(file: str | None, env: str | None, message: str) -> None:
    with pytest.raises(SecretError, match=message):
        read_secret("k", file=file, env=env, environ={"EMPTY": ""})


def test_a_gate_check_on_a_partial_response_is_unknown_keeping_the_value() -> None:
    spec = CheckSpec("success-7d", "A", "Job success rate", CheckKind.PROMQL, expr="x",
                     op=">=", threshold=0.98, unit="ratio")  # fmt: skip
    whole = check_reading_of(spec, parse_answer(200, JSON, vector("0.991")), AT)
    assert (whole.state, whole.value) == (CheckState.PASS, "99.1%")
    body = envelope("vector", [{"metric": {}, "value": [1.7e9, "0.991"]}],
                    warnings=["store eu-west unavailable"])  # fmt: skip
    reading = check_reading_of(spec, parse_answer(200, JSON, body), AT)
    assert (reading.state, reading.value) == (CheckState.UNKNOWN, "99.1%")
    assert reading.reason == "partial response: store eu-west unavailable"
