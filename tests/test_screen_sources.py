"""The sources row: a failing source's server and whole reason, and a countdown to its retry."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from textual.widgets import Static

from maestro_control_room.cutover.room import HealthReading
from maestro_control_room.cutover.updates import HealthState
from maestro_control_room.sources.base import address_of
from maestro_control_room.widgets.header import SourceFailures, failure_text, retry_text
from tests.realstack import real_app, until
from tests.servers import free_port

NOW = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)
REASON = (
    "HTTPConnectionPool(host='prom.internal', port=9091): Max retries exceeded with url:"
    " /api/v1/query (Caused by NewConnectionError: Failed to establish a new connection)"
)


def failing(
    source: str, retry_in: float | None, address: str = "prom.internal:9091"
) -> HealthReading:
    retry_at = None if retry_in is None else NOW + timedelta(seconds=retry_in)
    return HealthReading(source, HealthState.ERROR, REASON, None, address, retry_at)


def test_a_failure_names_its_server_and_its_whole_reason() -> None:
    ok = HealthReading("sim", HealthState.CONNECTED, "", timedelta(0))
    text = failure_text((ok, failing("prometheus", 25))).plain
    assert "prometheus at prom.internal:9091: " + REASON in text
    assert "sim" not in text


def test_the_retry_counts_down_to_the_second() -> None:
    health = (failing("prometheus", 25), failing("mqtt", 0.4, "broker:8883"))
    assert retry_text(health, NOW) == " retrying prometheus in 25s · mqtt in 1s"
    later = NOW + timedelta(seconds=1)
    assert retry_text(health, later) == " retrying prometheus in 24s · mqtt now"
    assert retry_text((failing("prometheus", None),), NOW) == ""


def test_address_of_names_the_port_it_tried() -> None:
    assert address_of("http://127.0.0.1:9090") == "127.0.0.1:9090"
    assert address_of("https://thanos.example/api") == "thanos.example:443"
    assert address_of("http://[::1]:9090/") == "[::1]:9090"


def seconds_left(app: object) -> int | None:
    widget = app.query_one(SourceFailures)  # type: ignore[attr-defined]
    found = re.search(
        r"prometheus in (\d+)s", str(widget.query_one("#source-retry", Static).render())
    )
    return int(found.group(1)) if found else None


async def test_prometheus_unreachable_shows_its_address_and_a_live_countdown() -> None:
    port = free_port()  # nothing listens there: connection refused
    app = real_app(
        sources__prometheus={
            "enabled": True,
            "url": f"http://127.0.0.1:{port}",
            "refresh": "6s",
            "timeout": "1s",
            "backfill": "0s",
        }
    )
    async with app.run_test(size=(120, 36)) as pilot:
        failures = app.query_one(SourceFailures)
        await until(pilot, lambda: seconds_left(app) is not None, "a retry countdown", deadline=10)
        reasons = str(failures.query_one("#source-reasons", Static).render())
        assert f"prometheus at 127.0.0.1:{port}: " in reasons
        assert "refused" in reasons.lower() or "connection" in reasons.lower()
        first = seconds_left(app)
        assert first is not None and 2 <= first <= 6
        await until(
            pilot,
            lambda: (left := seconds_left(app)) is not None and left < first,
            "the countdown to go down",
            deadline=3,
        )
