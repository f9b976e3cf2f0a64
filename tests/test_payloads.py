"""The contract's MQTT payloads: what is accepted, and why the rest is refused."""

from __future__ import annotations

import json

import pytest

from cutover.payloads import PayloadRejected, parse_platform_event


def platform(**fields: object) -> bytes:
    document = {"severity": "info", "message": "m", "ts": "2026-12-02T11:00:00Z", **fields}
    return json.dumps(document).encode()


@pytest.mark.parametrize("event", ["runner.lost", "registry.brownout", "chaos.drill"])
def test_a_platform_event_needs_no_cve(event: str) -> None:
    assert parse_platform_event(platform(event=event)).event == event


def test_a_cve_event_carries_its_cve() -> None:
    parsed = parse_platform_event(platform(event="cve.detected", cve="CVE-2026-1"))
    assert parsed.cve == "CVE-2026-1"
    with pytest.raises(PayloadRejected, match="missing field"):
        parse_platform_event(platform(event="cve.detected"))
