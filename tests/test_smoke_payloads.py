"""The smoke, drill and deploy payloads: what is accepted, and why the rest is refused."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maestro_control_room.cutover.payloads import MAX_PAYLOAD_BYTES, REASONS, PayloadRejected
from maestro_control_room.cutover.smoke import DeployRun, DrillRun, SmokeRun
from maestro_control_room.cutover.smoke_payloads import (
    deploy_payload,
    drill_payload,
    parse_deploy,
    parse_drill,
    parse_smoke,
    smoke_payload,
)

AT = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)
DIGEST = "ghcr.io/brianclong/maestro-control-plane@sha256:" + "ab" * 32


def body(**fields: object) -> bytes:
    return json.dumps(fields).encode()


def test_a_smoke_result_names_its_suite_and_test_in_the_topic() -> None:
    run = parse_smoke(
        "maestro/smoke/maestro/artifact-publish",
        body(result="failed", ts="2026-12-02T11:00:00Z", duration_s=31.5, pool="linux-large",
             run_id="123", url="https://ci/123"),
    )  # fmt: skip
    assert (run.suite, run.test, run.result, run.at) == (
        "maestro",
        "artifact-publish",
        "failed",
        AT,
    )
    assert (run.duration_s, run.pool, run.run_id) == (31.5, "linux-large", "123")


@pytest.mark.parametrize(
    ("topic", "payload", "reason", "detail"),
    [
        ("maestro/smoke/maestro", body(result="passed", ts="2026-12-02T11:00:00Z"),
         "wrong field", "expected maestro/smoke/<name>/<name>"),
        ("maestro/smoke/maestro/e2e", b"{not json", "not JSON", ""),
        ("maestro/smoke/maestro/e2e", b"[1]", "not an object", "list"),
        ("maestro/smoke/maestro/e2e", body(ts="2026-12-02T11:00:00Z"), "missing field", "result"),
        ("maestro/smoke/maestro/e2e", body(result="ok", ts="2026-12-02T11:00:00Z"),
         "wrong field", "unknown 'ok'"),
        ("maestro/smoke/maestro/e2e", body(result="passed", ts="2026-12-02T11:00:00"),
         "wrong field", "timezone"),
        ("maestro/smoke/maestro/e2e", body(result="passed", ts="2026-12-02T11:00:00Z",
                                           duration_s="31"), "wrong field", "duration_s"),
        ("maestro/smoke/maestro/e2e", body(result="passed", ts="2026-12-02T11:00:00Z",
                                           duration_s=-1), "wrong field", "negative"),
        ("maestro/smoke/maestro/e2e", b"\xff\xfe", "not JSON", "UTF-8"),
    ],
)  # fmt: skip
def test_a_bad_smoke_payload_is_refused_saying_why(
    topic: str, payload: bytes, reason: str, detail: str
) -> None:
    with pytest.raises(PayloadRejected) as refused:
        parse_smoke(topic, payload)
    assert refused.value.reason == reason
    assert detail in refused.value.detail


def test_a_payload_over_the_limit_is_refused_unread() -> None:
    with pytest.raises(PayloadRejected, match="too large"):
        parse_smoke("maestro/smoke/maestro/e2e", b" " * (MAX_PAYLOAD_BYTES + 1))


def test_a_drill_needs_its_evidence() -> None:
    drill = parse_drill(
        "maestro/drill/broker-loss",
        body(result="passed", ts="2026-12-02T11:00:00Z", evidence="witness-42"),
    )
    assert (drill.drill, drill.evidence) == ("broker-loss", "witness-42")
    with pytest.raises(PayloadRejected, match="missing field: evidence"):
        parse_drill("maestro/drill/broker-loss", body(result="passed", ts="2026-12-02T11:00:00Z"))
    with pytest.raises(PayloadRejected, match="wrong field: evidence: empty"):
        parse_drill(
            "maestro/drill/broker-loss",
            body(result="passed", ts="2026-12-02T11:00:00Z", evidence=""),
        )


def deploy(**fields: object) -> bytes:
    document = {"workflow": "cd.yml", "run_id": "901", "ref": "v2.14.1", "actor": "dana",
                "result": "success", "ts": "2026-12-02T11:00:00Z", **fields}  # fmt: skip
    return json.dumps(document).encode()


def test_a_deploy_says_what_evidence_it_has_and_unknown_is_not_false() -> None:
    run = parse_deploy("maestro/deploy/prod", deploy(witness=True, cosign_verified=False))
    assert (run.env, run.witness, run.cosign_verified, run.sbom) == ("prod", True, False, None)
    assert not run.evidenced
    assert parse_deploy("maestro/deploy/staging", deploy(ref=DIGEST, no_op=True)).no_op


@pytest.mark.parametrize(
    ("topic", "payload", "detail"),
    [
        ("maestro/deploy/qa", deploy(), "unknown environment 'qa'"),
        ("maestro/deploy/prod", deploy(result="done"), "result: unknown 'done'"),
        ("maestro/deploy/prod", deploy(witness="yes"), "witness: expected true or false"),
        ("maestro/deploy/prod", deploy(ref="ghcr.io/x@sha256:abc"), "64 hex digits"),
        ("maestro/deploy/prod", deploy(run_id=901), "run_id: expected a string"),
    ],
)
def test_a_bad_deploy_is_refused_saying_why(topic: str, payload: bytes, detail: str) -> None:
    with pytest.raises(PayloadRejected) as refused:
        parse_deploy(topic, payload)
    assert refused.value.reason == "wrong field"
    assert detail in refused.value.detail


def test_what_the_simulator_writes_reads_back_the_same() -> None:
    smoke = SmokeRun("maestro", "e2e", "passed", AT, 12.0, "linux-small", "r1", "", "mqtt")
    assert (
        parse_smoke("maestro/smoke/maestro/e2e", json.dumps(smoke_payload(smoke)).encode()) == smoke
    )
    drill = DrillRun("dr-restore", "failed", AT, "witness-7", "restore took 3h", "mqtt")
    assert (
        parse_drill("maestro/drill/dr-restore", json.dumps(drill_payload(drill)).encode()) == drill
    )
    run = DeployRun("auto-pin-and-deploy.yml", "prod", DIGEST, "release-bot", "success", AT,
                    "77", "https://ci/77", False, True, True, True, "mqtt")  # fmt: skip
    assert parse_deploy("maestro/deploy/prod", json.dumps(deploy_payload(run)).encode()) == run


@given(st.binary(max_size=300))
def test_any_bytes_are_read_or_refused_with_a_known_reason(payload: bytes) -> None:
    for parse, topic in (
        (parse_smoke, "maestro/smoke/maestro/e2e"),
        (parse_drill, "maestro/drill/rollback"),
        (parse_deploy, "maestro/deploy/prod"),
    ):
        try:
            parse(topic, payload)  # type: ignore[operator]
        except PayloadRejected as refused:
            assert refused.reason in REASONS


@given(st.dictionaries(st.sampled_from(["result", "ts", "evidence", "duration_s", "no_op",
                                        "witness", "ref", "run_id"]),
                       st.one_of(st.none(), st.booleans(), st.integers(), st.floats(),
                                 st.text(max_size=20)), max_size=8))  # fmt: skip
def test_any_object_is_read_or_refused_with_a_known_reason(document: dict[str, object]) -> None:
    payload = json.dumps(document).encode()
    for parse, topic in (
        (parse_smoke, "maestro/smoke/maestro/e2e"),
        (parse_drill, "maestro/drill/rollback"),
        (parse_deploy, "maestro/deploy/prod"),
    ):
        try:
            parse(topic, payload)  # type: ignore[operator]
        except PayloadRejected as refused:
            assert refused.reason in REASONS


# Hostile smoke, drill and deploy payloads: read within the limits every other payload has.

NOW = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("parse", "topic", "payload", "reason"),
    [
        (parse_drill, "maestro/drill/rollback",
         body(result="passed", ts="2099-01-01T00:00:00Z", evidence="w"), "out of range"),
        (parse_smoke, "maestro/smoke/maestro/e2e",
         body(result="passed", ts="1970-01-01T00:00:00Z"), "out of range"),
        (parse_deploy, "maestro/deploy/prod",
         body(workflow="cd.yml", run_id="1", ref="v1", actor="a", result="success",
              ts="9999-12-31T23:59:59Z"), "out of range"),
        (parse_smoke, "maestro/smoke/maestro/e2e",
         b'{"result": "passed", "ts": "2026-12-02T11:00:00Z", "x": ' + b"[" * 5000
         + b"]" * 5000 + b"}", "too deep"),
        (parse_drill, "maestro/drill/rollback",
         body(result="passed", ts="2026-12-02T11:00:00Z", evidence="\x1b[2Jw"), "wrong field"),
        (parse_drill, "maestro/drill/rollback",
         body(result="passed", ts="2026-12-02T11:00:00Z", evidence="w" * 5000), "too large"),
    ],
    ids=["drill from 2099", "smoke from 1970", "deploy from 9999", "nested 5000 deep",
         "a terminal escape", "5000 characters"],
)  # fmt: skip
def test_a_hostile_verification_payload_is_refused_like_any_other(
    parse: object, topic: str, payload: bytes, reason: str
) -> None:
    with pytest.raises(PayloadRejected) as refused:
        parse(topic, payload, now=NOW)  # type: ignore[operator]
    assert refused.value.reason == reason, refused.value.detail
