"""The Prometheus source against a real Prometheus scraping the simulator exporter."""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from maestro_control_room.cutover.config import (
    Config,
    PrometheusSection,
    QueriesSection,
    gate_specs,
)
from maestro_control_room.cutover.gates import CheckKind, CheckResult, CheckState, Verdict
from maestro_control_room.cutover.kpis import format_value
from maestro_control_room.cutover.signals import SignalStatus
from maestro_control_room.cutover.updates import GateReadingsUpdate, SignalUpdate
from maestro_control_room.sources.prometheus import PrometheusSource
from maestro_control_room.tui.app import ControlRoomApp
from tests.conftest import config_document
from tests.realstack import (
    gate_check,
    gate_state,
    health_text,
    limit_text,
    real_app,
    tile_text,
    until,
)
from tests.servers import ServerProcess, maestro_sim, prometheus, wait_until

__all__ = ["maestro_sim", "prometheus"]  # the fixtures, imported for pytest

QUERIES = QueriesSection()
NUMBER_WORDS = ("OK", "WARN", "BREACH")


def prometheus_section(server: ServerProcess, **extra: object) -> dict[str, object]:
    return {
        "enabled": True,
        "url": server.url,
        "refresh": "300ms",
        "max_age": "3s",
        "timeout": "2s",
        "backfill": "10m",
        **extra,
    }


def ask(server: ServerProcess, query: str, at: float) -> float:
    """What Prometheus itself says `query` is at `at`."""
    answer = httpx.get(
        f"{server.url}/api/v1/query", params={"query": query, "time": f"{at:.3f}"}
    ).json()
    assert answer["status"] == "success", answer
    result = answer["data"]["result"]
    assert len(result) == 1, result
    return float(result[0]["value"][1])


def seconds_of_history(server: ServerProcess, query: str) -> int:
    """How many one-second points Prometheus has for `query` over the last minute."""
    now = time.time()
    answer = httpx.get(
        f"{server.url}/api/v1/query_range",
        params={"query": query, "start": now - 60, "end": now, "step": 1},
    ).json()
    result = answer.get("data", {}).get("result", [])
    return len(result[0]["values"]) if result else 0


async def test_tiles_show_what_prometheus_returns(prometheus: ServerProcess) -> None:
    # A minute of backfill at one point a second; the test's Prometheus is young, so first
    # let it gather a few seconds of history for the backfill to find.
    wait_until(
        lambda: seconds_of_history(prometheus, QUERIES.success_rate) >= 3,
        30,
        "three seconds of history in Prometheus",
    )
    app = real_app(sources__prometheus=prometheus_section(prometheus, backfill="1m"))
    async with app.run_test(size=(160, 48)) as pilot:

        def numbers_shown() -> bool:
            return all(
                tile_text(app, name).split()[-1] in NUMBER_WORDS
                for name in ("queue_wait_p95", "success_rate")
            )

        await until(pilot, numbers_shown, "queue p95 and success rate from Prometheus")
        assert "prometheus ok" in health_text(app)
        for name in ("queue_wait_p95", "success_rate"):
            signal = app.room.signals[name]
            assert signal.status is SignalStatus.OK and signal.source == "prometheus"
            expected = ask(prometheus, getattr(QUERIES, name), signal.at.timestamp())
            assert signal.value is not None and math.isclose(signal.value, expected)
        # Within one refresh of a fresh answer, the tile shows that answer.
        first = app.room.signals["success_rate"].at
        await until(
            pilot,
            lambda: app.room.signals["success_rate"].at > first,
            "the next refresh",
            deadline=2,
        )
        await pilot.pause(0.25)  # one UI refresh (200 ms) for the tile to repaint
        for name, unit in (("queue_wait_p95", "s"), ("success_rate", "ratio")):
            signal = app.room.signals[name]
            expected = ask(prometheus, getattr(QUERIES, name), signal.at.timestamp())
            shown = tile_text(app, name)
            assert signal.value is not None and math.isclose(signal.value, expected)
            assert shown.split()[0] in {
                format_value(expected, unit),
                format_value(app.room.signals[name].value, unit),
            }, shown
        # The sparklines were backfilled by a range query: polls add a point only once per
        # history interval (15 s), far longer than this test has run.
        assert len(app.room.history["success_rate"]) > 1


async def test_prometheus_down_shows_error_never_a_number_then_recovers(
    prometheus: ServerProcess,
) -> None:
    app = real_app(sources__prometheus=prometheus_section(prometheus))
    tiles = ("queue_wait_p95", "success_rate", "executor_saturation")
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: all(tile_text(app, t).split()[-1] in NUMBER_WORDS for t in tiles),
            "numbers on the tiles",
        )
        prometheus.stop()
        try:
            await until(
                pilot,
                lambda: all(tile_text(app, t).split()[-1] in ("ERROR", "STALE") for t in tiles),
                "tiles to turn ERROR/STALE",
                deadline=5,
            )
            for name in tiles:
                assert tile_text(app, name).split()[0] == "—", "never the last number"
                assert "connection refused" in limit_text(app, name)
            assert "prometheus error: connection refused" in health_text(app)
        finally:
            prometheus.start()
        await until(
            pilot,
            lambda: all(tile_text(app, t).split()[-1] in NUMBER_WORDS for t in tiles),
            "the tiles to recover",
            deadline=15,
        )
        assert "prometheus ok" in health_text(app)


async def test_nan_nothing_several_series_and_errors_are_shown_as_such(
    prometheus: ServerProcess,
) -> None:
    two_series = (
        'label_replace(vector(1), "pool", "a", "", "")'
        ' or label_replace(vector(2), "pool", "b", "", "")'
    )
    app = real_app(
        sources__prometheus=prometheus_section(prometheus),
        queries={
            "queue_wait_p95": "vector(0) / vector(0)",
            "success_rate": "maestro_no_such_metric",
            "build_duration_mean": two_series,
            "flake_rate": "sum(rate(maestro_jobs_total[5m]",
            "cost_per_build": "scalar(vector(1)) / 0",
        },
    )
    async with app.run_test(size=(160, 48)) as pilot:
        expected = {
            "queue_wait_p95": "NaN",
            "success_rate": "NO DATA",
            "build_duration_mean": "ERROR",
            "flake_rate": "ERROR",
            "cost_per_build": "NaN",
        }
        await until(
            pilot,
            lambda: all(tile_text(app, n).endswith(" " + w) for n, w in expected.items()),
            "each tile to show its state",
        )
        assert tile_text(app, "queue_wait_p95") == "nan NaN"
        assert tile_text(app, "cost_per_build") == "inf NaN"
        assert limit_text(app, "build_duration_mean") == "2 series, expected 1"
        assert limit_text(app, "flake_rate").startswith("bad_data: ")
        assert "parse error" in limit_text(app, "flake_rate")
        # The server answered: these are the queries' states, not the source's.
        assert "prometheus ok" in health_text(app)


# --- promql gate checks -----------------------------------------------------------------------

TWO_SERIES = (
    'label_replace(vector(1), "pool", "a", "", "") or label_replace(vector(2), "pool", "b", "", "")'
)
PROMQL_GATE = [
    {"id": "A", "title": "Platform", "checks": [
        {"id": "success-7d", "kind": "promql", "query": "success_rate_7d", "op": ">=",
         "threshold": 0.5, "unit": "ratio"},
        {"id": "pass", "kind": "promql", "expr": "vector(0.99)", "threshold": 0.98,
         "unit": "ratio"},
        {"id": "fail", "kind": "promql", "expr": "vector(0.5)", "threshold": 0.98,
         "unit": "ratio"},
        {"id": "no-data", "kind": "promql", "expr": "maestro_no_such_metric", "threshold": 1},
        {"id": "bad", "kind": "promql", "expr": "sum(rate(maestro_jobs_total[5m]",
         "threshold": 1},
        {"id": "nan", "kind": "promql", "expr": "vector(0) / vector(0)", "threshold": 1},
        {"id": "two", "kind": "promql", "expr": TWO_SERIES, "threshold": 1},
    ]},
]  # fmt: skip


def shown_check(app: ControlRoomApp, key: str) -> CheckResult:
    found = gate_check(app, key)
    assert found is not None, f"no board shown yet for {key}"
    return found


def board_complete(app: ControlRoomApp) -> bool:
    board = app.view.gates if app.view is not None else None
    return board is not None and all(
        c.reason != "no reading yet" for gate in board.gates for c in gate.checks
    )


async def test_promql_gate_checks_are_judged_on_what_prometheus_returns(
    prometheus: ServerProcess,
) -> None:
    wait_until(
        lambda: seconds_of_history(prometheus, QUERIES.success_rate_7d) >= 2,
        30,
        "two seconds of history in Prometheus",
    )
    app = real_app(sources__prometheus=prometheus_section(prometheus), gates=PROMQL_GATE)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: board_complete(app), "a reading of every check")
        keys = ("success-7d", "pass", "fail", "no-data", "bad", "nan", "two")
        shown = {key: shown_check(app, f"A/{key}") for key in keys}
        assert {key: c.state for key, c in shown.items()} == {
            "success-7d": CheckState.PASS,
            "pass": CheckState.PASS,
            "fail": CheckState.FAIL,
            "no-data": CheckState.UNKNOWN,
            "bad": CheckState.UNKNOWN,
            "nan": CheckState.UNKNOWN,
            "two": CheckState.UNKNOWN,
        }
        reading = app.room.gate_readings["A/success-7d"]
        expected = ask(prometheus, QUERIES.success_rate_7d, reading.at.timestamp())
        assert reading.value == format_value(expected, "ratio")
        assert reading.source == "prometheus"
        assert (shown["fail"].value, shown["fail"].reason) == ("50.0%", "needs >= 98.0%")
        assert shown["no-data"].value == "no data"
        assert shown["bad"].reason.startswith("bad_data: ")
        assert shown["nan"].value == "nan"
        assert shown["two"].reason == "2 series, expected 1"
        assert app.view is not None and app.view.gates is not None
        assert app.view.gates.verdict is Verdict.NO_GO, "one failing check decides"


def query_requests(server: ServerProcess) -> float:
    """How many instant queries Prometheus has answered, from its own metrics."""
    text = httpx.get(f"{server.url}/metrics").text
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("prometheus_http_requests_total{") and 'handler="/api/v1/query"' in line
    )


async def test_a_gate_check_on_a_kpi_query_reuses_its_answer(prometheus: ServerProcess) -> None:
    gates = gate_specs(Config.model_validate({**config_document(), "gates": PROMQL_GATE}))
    section = PrometheusSection.model_validate(prometheus_section(prometheus, backfill="0s"))
    source = PrometheusSource.from_config(section, QUERIES, gates=gates)
    asked = set(QUERIES.model_dump().values()) | {c.expr for g in gates for c in g.checks}
    asked.add(section.exporter_up)  # whether the exporter is still scraped, asked once too
    assert len(source.expressions) == len(asked) < len(QUERIES.model_dump()) + 7 + 1
    before = query_requests(prometheus)
    with ThreadPoolExecutor(len(source.expressions)) as pool:
        updates, reached = await source.poll(pool)
    assert reached
    assert query_requests(prometheus) - before == len(asked)
    (readings,) = [u for u in updates if isinstance(u, GateReadingsUpdate)]
    assert len(readings.readings) == 7
    signal = next(u.signal for u in updates if isinstance(u, SignalUpdate)
                  and u.signal.name == "success_rate_7d")  # fmt: skip
    assert signal.value is not None
    assert readings.readings[0].value == format_value(signal.value, "ratio")
    source.client.close()


async def test_a_promql_gate_is_unknown_never_passed_while_prometheus_is_down(
    prometheus: ServerProcess,
) -> None:
    app = real_app(sources__prometheus=prometheus_section(prometheus), gates=PROMQL_GATE)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: gate_state(app, "A/pass") is CheckState.PASS, "a pass")
        prometheus.stop()
        try:
            await until(
                pilot,
                lambda: gate_state(app, "A/pass") is CheckState.UNKNOWN,
                "the passing check to turn unknown",
                deadline=5,
            )
            assert "connection refused" in shown_check(app, "A/pass").reason
            assert gate_state(app, "A/fail") is CheckState.UNKNOWN
            assert app.view is not None and app.view.gates is not None
            assert app.view.gates.verdict is Verdict.UNKNOWN
        finally:
            prometheus.start()
        await until(pilot, lambda: gate_state(app, "A/pass") is CheckState.PASS, "recovery")


async def test_the_exporter_serves_what_every_default_promql_gate_reads(
    prometheus: ServerProcess,
) -> None:
    wait_until(
        lambda: seconds_of_history(prometheus, QUERIES.success_rate) >= 3,
        30,
        "three seconds of history in Prometheus",
    )
    app = real_app(sources__prometheus=prometheus_section(prometheus))
    async with app.run_test(size=(160, 48)) as pilot:

        def promql_checks() -> list[CheckResult]:
            board = app.view.gates if app.view is not None else None
            if board is None:
                return []
            return [c for g in board.gates for c in g.checks if c.spec.kind is CheckKind.PROMQL]

        await until(
            pilot,
            lambda: (
                bool(promql_checks())
                and all(c.state is not CheckState.UNKNOWN for c in promql_checks())
            ),
            "a number for every default promql check",
        )
        assert {c.spec.key for c in promql_checks()} == {
            "A/success-7d", "A/queue-p95", "A/saturation", "B/cost", "F/shadow-pass",
            "F/flake-rate",
        }  # fmt: skip
