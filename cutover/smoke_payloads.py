"""The contract's smoke, drill and deploy payloads on MQTT: validated on the way in, written
on the way out.

`maestro/smoke/<suite>/<test>`, `maestro/drill/<name>` and `maestro/deploy/<env>` carry one
result each. The topic names the test, drill or environment; the payload says what happened.
A payload that breaks the contract raises `cutover.payloads.PayloadRejected` with one of its
reasons, like every other payload, so the diagnostics view counts them alike. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .payloads import (
    MAX_TEXT_CHARS,
    MISSING_FIELD,
    NOT_AN_OBJECT,
    TOO_LARGE,
    WRONG_FIELD,
    PayloadRejected,
    read_document,
    read_time,
    rfc3339,
)
from .smoke import DEPLOY_RESULTS, ENVIRONMENTS, RESULTS, DeployRun, DrillRun, SmokeRun

#: A topic level: no wildcard, no empty name.
_LEVEL = re.compile(r"^[^/#+]+$")
#: An immutable reference: `registry/name@sha256:<64 hex>`.
_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def _document(payload: bytes) -> dict[str, Any]:
    # Within the limits every payload is read with: size, nesting depth, digits.
    document = read_document(payload)
    if not isinstance(document, dict):
        raise PayloadRejected(NOT_AN_OBJECT, f"a JSON {type(document).__name__}")
    return document


def _text(document: Mapping[str, Any], name: str, *, required: bool = True) -> str:
    if name not in document:
        if required:
            raise PayloadRejected(MISSING_FIELD, name)
        return ""
    value = document[name]
    if not isinstance(value, str):
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected a string")
    if required and not value:
        raise PayloadRejected(WRONG_FIELD, f"{name}: empty")
    if len(value) > MAX_TEXT_CHARS:
        raise PayloadRejected(
            TOO_LARGE, f"{name}: {len(value)} characters, at most {MAX_TEXT_CHARS}"
        )
    if not value.isprintable():  # a terminal escape, a newline: not one line of text
        raise PayloadRejected(WRONG_FIELD, f"{name}: not printable text")
    return value


def _one_of(document: Mapping[str, Any], name: str, allowed: frozenset[str]) -> str:
    value = _text(document, name)
    if value not in allowed:
        known = ", ".join(sorted(allowed))
        raise PayloadRejected(WRONG_FIELD, f"{name}: unknown {value[:40]!r} (one of {known})")
    return value


def _flag(document: Mapping[str, Any], name: str) -> bool | None:
    if name not in document or document[name] is None:
        return None
    value = document[name]
    if not isinstance(value, bool):
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected true or false")
    return value


def _seconds(document: Mapping[str, Any], name: str) -> float | None:
    if name not in document:
        return None
    value = document[name]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected a number")
    if value < 0:
        raise PayloadRejected(WRONG_FIELD, f"{name}: negative")
    return float(value)


def _levels(topic: str, prefix: str, count: int) -> list[str]:
    """The `count` topic levels after `prefix`; a topic of another shape is a wrong field."""
    rest = topic[len(prefix) :].strip("/") if topic.startswith(prefix) else ""
    levels = rest.split("/") if rest else []
    names = all(_LEVEL.match(level) and level.isprintable() for level in levels)
    if len(levels) != count or not names:
        raise PayloadRejected(
            WRONG_FIELD, f"topic {topic[:80]!r}: expected {prefix}/" + "/".join(["<name>"] * count)
        )
    return levels


def parse_smoke(
    topic: str, payload: bytes, prefix: str = "maestro/smoke", *, now: datetime | None = None
) -> SmokeRun:
    """A `maestro/smoke/<suite>/<test>` payload: `result` and `ts` required."""
    suite, test = _levels(topic, prefix, 2)
    document = _document(payload)
    return SmokeRun(
        suite=suite,
        test=test,
        result=_one_of(document, "result", RESULTS),
        at=read_time(document, "ts", now),
        duration_s=_seconds(document, "duration_s"),
        pool=_text(document, "pool", required=False),
        run_id=_text(document, "run_id", required=False),
        url=_text(document, "url", required=False),
        source="mqtt",
    )


def parse_drill(
    topic: str, payload: bytes, prefix: str = "maestro/drill", *, now: datetime | None = None
) -> DrillRun:
    """A `maestro/drill/<name>` payload: `result`, `ts` and `evidence` required."""
    (drill,) = _levels(topic, prefix, 1)
    document = _document(payload)
    return DrillRun(
        drill=drill,
        result=_one_of(document, "result", RESULTS),
        at=read_time(document, "ts", now),
        evidence=_text(document, "evidence"),
        message=_text(document, "message", required=False),
        source="mqtt",
    )


def parse_deploy(
    topic: str, payload: bytes, prefix: str = "maestro/deploy", *, now: datetime | None = None
) -> DeployRun:
    """A `maestro/deploy/<env>` payload: a CD workflow run and its evidence."""
    (env,) = _levels(topic, prefix, 1)
    if env not in ENVIRONMENTS:
        raise PayloadRejected(WRONG_FIELD, f"topic: unknown environment {env[:40]!r}")
    document = _document(payload)
    ref = _text(document, "ref")
    if "@" in ref and not _DIGEST.search(ref):
        raise PayloadRejected(WRONG_FIELD, "ref: a digest must be @sha256: and 64 hex digits")
    no_op = _flag(document, "no_op")
    return DeployRun(
        workflow=_text(document, "workflow"),
        env=env,
        ref=ref,
        actor=_text(document, "actor"),
        result=_one_of(document, "result", DEPLOY_RESULTS),
        at=read_time(document, "ts", now),
        run_id=_text(document, "run_id"),
        url=_text(document, "url", required=False),
        no_op=bool(no_op),
        witness=_flag(document, "witness"),
        cosign_verified=_flag(document, "cosign_verified"),
        sbom=_flag(document, "sbom"),
        source="mqtt",
    )


def smoke_payload(run: SmokeRun) -> dict[str, Any]:
    """What the platform's CI publishes on `maestro/smoke/<suite>/<test>`."""
    payload: dict[str, Any] = {"result": run.result, "ts": rfc3339(run.at)}
    if run.duration_s is not None:
        payload["duration_s"] = run.duration_s
    for name in ("pool", "run_id", "url"):
        if getattr(run, name):
            payload[name] = getattr(run, name)
    return payload


def drill_payload(run: DrillRun) -> dict[str, Any]:
    """What a drill publishes on `maestro/drill/<name>`."""
    payload: dict[str, Any] = {
        "result": run.result,
        "ts": rfc3339(run.at),
        "evidence": run.evidence,
    }
    if run.message:
        payload["message"] = run.message
    return payload


def deploy_payload(run: DeployRun) -> dict[str, Any]:
    """What the CD workflow publishes on `maestro/deploy/<env>`."""
    payload: dict[str, Any] = {
        "workflow": run.workflow,
        "run_id": run.run_id,
        "ref": run.ref,
        "actor": run.actor,
        "result": run.result,
        "ts": rfc3339(run.at),
        "no_op": run.no_op,
    }
    for name in ("witness", "cosign_verified", "sbom"):
        if getattr(run, name) is not None:
            payload[name] = getattr(run, name)
    if run.url:
        payload["url"] = run.url
    return payload
