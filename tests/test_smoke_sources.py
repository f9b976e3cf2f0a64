"""The smoke suite's, drills' and deploys' results over real Mosquitto and a real Prometheus:
what the platform's CI publishes, what the simulator's exporter serves, and bad payloads."""

from __future__ import annotations

import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
from textual.widgets import Static

from maestro_control_room.cutover.gates import CheckState
from maestro_control_room.cutover.smoke import (
    SMOKE_LAST_RUN,
    SMOKE_SUCCESS,
    SMOKE_TESTS,
    DeployRun,
    RunState,
)
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.screens.diagnostics import DiagnosticsScreen
from tests.realstack import gate_state, health_text, real_app, until
from tests.servers import ServerProcess, maestro_sim, mosquitto, prometheus, sim_exporter
from tests.test_mqtt_source import mqtt_section, publish
from tests.test_prometheus_source import prometheus_section

__all__ = ["maestro_sim", "mosquitto", "prometheus"]  # the fixtures, imported for pytest


def stamp(ago: timedelta = timedelta(0)) -> str:
    return (datetime.now(timezone.utc) - ago).isoformat()


def states(app: ControlRoomApp) -> dict[str, RunState]:
    view = app.view.verification if app.view is not None else None
    return {} if view is None else {row.test.id: row.state for row in view.tests}


async def test_results_on_mqtt_fill_the_board_and_bad_ones_are_counted_never_lost(
    mosquitto: ServerProcess,
) -> None:
    app = real_app(sources__mqtt=mqtt_section(mosquitto, f"cr-{uuid.uuid4()}"))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "mqtt ok" in health_text(app), "the MQTT source to connect")
        good = [
            (f"maestro/smoke/maestro/{t.id}",
             {"result": "passed", "ts": stamp(), "duration_s": 12, "pool": "linux-small"})
            for t in SMOKE_TESTS
        ]  # fmt: skip
        bad = [
            ("maestro/smoke/maestro/e2e", b"{not json"),
            ("maestro/smoke/maestro/e2e", {"result": "green", "ts": stamp()}),
            ("maestro/drill/rollback", {"result": "passed", "ts": stamp()}),
            ("maestro/deploy/qa", {"workflow": "cd.yml", "run_id": "1", "ref": "v1",
                                   "actor": "a", "result": "success", "ts": stamp()}),
        ]  # fmt: skip
        # Bad messages in the middle of good ones: every good one arrives all the same.
        await publish(mosquitto, *good[:6], *bad, *good[6:])
        await publish(
            mosquitto,
            ("maestro/drill/rollback",
             {"result": "passed", "ts": stamp(timedelta(hours=3)), "evidence": "witness-77"}),
            ("maestro/deploy/prod",
             {"workflow": "cd.yml", "run_id": "9001", "ref": "v2.14.1", "actor": "dana",
              "result": "success", "ts": stamp(), "witness": True, "cosign_verified": False}),
        )  # fmt: skip
        await until(
            pilot,
            lambda: set(states(app).values()) == {RunState.PASSED},
            "every test passed from MQTT",
        )
        diagnostics = app.room.diagnostics["mqtt"]
        await until(pilot, lambda: app.room.diagnostics["mqtt"].received == 18, "every message")
        diagnostics = app.room.diagnostics["mqtt"]
        assert diagnostics.accepted == 14
        assert diagnostics.rejected == {"not JSON": 1, "wrong field": 2, "missing field": 1}
        details = {(r.topic, r.detail) for r in diagnostics.recent}
        assert ("maestro/drill/rollback", "evidence") in details
        assert ("maestro/deploy/qa", "topic: unknown environment 'qa'") in details
        await until(pilot, lambda: gate_state(app, "A/smoke-suite") is CheckState.PASS,
                    "the smoke gate to pass")  # fmt: skip
        # The prod deploy lacks its verified signature: gate C blocks.
        assert gate_state(app, "C/deploy-evidence") is CheckState.FAIL
        done = app.view.done if app.view is not None else None
        assert done is not None and "✔ rollback drilled 3h ago" in done.line
        # A failed run turns the gate.
        await publish(mosquitto, ("maestro/smoke/maestro/e2e", {"result": "failed", "ts": stamp()}))
        await until(pilot, lambda: gate_state(app, "A/smoke-suite") is CheckState.FAIL,
                    "the smoke gate to fail")  # fmt: skip
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DiagnosticsScreen), "diagnostics")
        counters = str(app.screen.query_one("#counters-mqtt", Static).render())
        assert "4 rejected" in counters


async def test_the_simulator_exporter_publishes_the_suite_drills_and_deploys(
    mosquitto: ServerProcess, tmp_path: Path
) -> None:
    app = real_app(sources__mqtt=mqtt_section(mosquitto, f"cr-{uuid.uuid4()}"))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "mqtt ok" in health_text(app), "the MQTT source to connect")
        sim = sim_exporter(tmp_path, mqtt_port=mosquitto.port, time_scale=20).start()
        try:
            await until(pilot, lambda: set(states(app).values()) == {RunState.PASSED},
                        "the simulated suite over MQTT", deadline=40)  # fmt: skip
            # The room hears them first; the view shows them from the next tick on.
            await until(pilot, lambda: drilled(app) >= {"rollback", "dr-restore"}, "drills")
            await until(pilot, lambda: any(d.no_op for d in deploys(app)), "a dry run deploy")
        finally:
            sim.stop()
        assert app.room.diagnostics["mqtt"].rejected_total == 0


def deploys(app: ControlRoomApp) -> tuple[DeployRun, ...]:
    """The deploys the view shows."""
    return app.view.verification.deploys if app.view is not None else ()


def drilled(app: ControlRoomApp) -> set[str]:
    """The drills the view shows a last run of."""
    if app.view is None:
        return set()
    return {d.drill for d in app.view.verification.drills if d.last is not None}


def ask_vector(server: ServerProcess, query: str) -> list[dict[str, object]]:
    answer = httpx.get(f"{server.url}/api/v1/query", params={"query": query}).json()
    assert answer["status"] == "success", answer
    result = answer["data"]["result"]
    assert isinstance(result, list)
    return result


async def test_the_smoke_metrics_reach_the_board_through_prometheus(
    prometheus: ServerProcess,
) -> None:
    # The exporter serves both metrics, one series per test, and Prometheus scrapes them.
    deadline = time.monotonic() + 30
    while len(ask_vector(prometheus, SMOKE_SUCCESS)) < len(SMOKE_TESTS):
        assert time.monotonic() < deadline, "no smoke metrics scraped within 30 s"
        time.sleep(0.2)
    stamps = ask_vector(prometheus, SMOKE_LAST_RUN)
    assert {s["metric"]["test"] for s in stamps} == {t.id for t in SMOKE_TESTS}  # type: ignore[index]
    app = real_app(sources__prometheus=prometheus_section(prometheus))
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: set(states(app).values()) == {RunState.PASSED},
                    "every test passed from Prometheus")  # fmt: skip
        view = app.view.verification if app.view is not None else None
        assert view is not None
        row = view.test("artifact-publish")
        assert row is not None and row.last is not None and row.last.source == "prometheus"
        # Wall-clock time of the run, not the simulator's clock.
        assert abs((row.last.at - datetime.now(timezone.utc)).total_seconds()) < 120
        await until(pilot, lambda: gate_state(app, "A/smoke-suite") is CheckState.PASS,
                    "the smoke gate on Prometheus")  # fmt: skip
