"""The smoke board, the drills, the deploys' evidence, their gate checks, and the
Definition of Done, on the room's own evaluation."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from maestro_control_room.cutover.config import Config, room_settings
from maestro_control_room.cutover.done import GreenStreaks
from maestro_control_room.cutover.gates import CheckState, Verdict
from maestro_control_room.cutover.kpis import KpiVerdict
from maestro_control_room.cutover.room import ControlRoom, RoomView
from maestro_control_room.cutover.signals import Signal
from maestro_control_room.cutover.smoke import (
    SMOKE_TESTS,
    DeployRun,
    DrillRun,
    RunState,
    SmokeRun,
    VerificationLedger,
    VerificationUpdate,
)
from maestro_control_room.cutover.updates import HealthState, SignalUpdate, SourceHealth
from maestro_control_room.sources.workbook import load_workbook
from tests.conftest import CONFIG, config_document

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=timezone.utc)
HOUR = timedelta(hours=1)


def suite(at: datetime, failed: tuple[str, ...] = (), skip: tuple[str, ...] = ()) -> list[SmokeRun]:
    return [
        SmokeRun("maestro", t.id, "failed" if t.id in failed else "passed", at, 10.0, "linux-small",
                 f"r-{t.id}", source="mqtt")
        for t in SMOKE_TESTS
        if t.id not in skip
    ]  # fmt: skip


def test_a_test_not_run_within_its_max_age_is_stale_never_passed() -> None:
    ledger = VerificationLedger()
    ledger.take(VerificationUpdate("mqtt", NOW, smoke=tuple(suite(NOW - 7 * HOUR))))
    view = ledger.view(NOW, timedelta(hours=6), timedelta(days=14))
    assert {row.state for row in view.tests} == {RunState.STALE}
    assert "0/12 passed" in view.line and "12 stale" in view.line


def test_streaks_count_runs_in_a_row_and_a_run_seen_twice_counts_once() -> None:
    ledger = VerificationLedger()
    for hours, failed in ((3, ()), (2, ("e2e",)), (1, ("e2e",))):
        ledger.take(VerificationUpdate("mqtt", NOW, smoke=tuple(suite(NOW - hours * HOUR, failed))))
    # Prometheus reports the last run again: the same run, not a fourth.
    again = SmokeRun("maestro", "e2e", "failed", NOW - HOUR, source="prometheus")
    ledger.take(VerificationUpdate("prometheus", NOW, smoke=(again,)))
    view = ledger.view(NOW, timedelta(hours=6), timedelta(days=14))
    e2e = view.test("e2e")
    assert e2e is not None and e2e.state is RunState.FAILED
    assert (e2e.streak, e2e.streak_text, len(e2e.runs)) == (2, "2× failed", 3)
    caching = view.test("build-caching")
    assert caching is not None and caching.streak_text == "3× passed"


def test_another_suites_results_are_not_this_one() -> None:
    ledger = VerificationLedger("maestro")
    ledger.take(VerificationUpdate("mqtt", NOW, smoke=(SmokeRun("other", "e2e", "passed", NOW),)))
    view = ledger.view(NOW, timedelta(hours=6), timedelta(days=14))
    assert view.test("e2e") is not None and view.test("e2e").state is RunState.NEVER  # type: ignore[union-attr]


# The room and its gate board ---------------------------------------------------------------


def room() -> ControlRoom:
    config = Config.model_validate(config_document())
    workbook = load_workbook(CONFIG.parent / config.waves.workbook)
    room = ControlRoom(room_settings(config, workbook))
    room.register_source("mqtt", NOW)
    room.apply(SourceHealth("mqtt", HealthState.CONNECTED, NOW))
    return room


def check(view: RoomView, key: str) -> tuple[CheckState, str, str]:
    assert view.gates is not None
    found = next(c for g in view.gates.gates for c in g.checks if c.spec.key == key)
    return found.state, found.value, found.reason


def test_the_gate_board_blocks_on_a_failed_smoke_test() -> None:
    r = room()
    r.apply(VerificationUpdate("mqtt", NOW, smoke=tuple(suite(NOW - HOUR, ("staging-deploy",)))))
    view = r.evaluate(NOW)
    assert check(view, "A/smoke-suite") == (
        CheckState.FAIL, "11/12 passed", "staging-deploy failed 1h ago"
    )  # fmt: skip
    assert check(view, "D/staging-deploy")[0] is CheckState.FAIL
    assert check(view, "D/promotion-gate")[0] is CheckState.PASS
    assert view.gates is not None and view.gates.verdict is Verdict.NO_GO
    assert any("Smoke suite passed" in line for line in view.gates.blocker_lines())


def test_the_gate_board_blocks_on_a_stale_smoke_test() -> None:
    r = room()
    r.apply(VerificationUpdate("mqtt", NOW, smoke=tuple(suite(NOW - HOUR, skip=("e2e",)))))
    r.apply(VerificationUpdate("mqtt", NOW, smoke=(SmokeRun("maestro", "e2e", "passed",
                                                            NOW - 7 * HOUR),)))  # fmt: skip
    state, value, reason = check(r.evaluate(NOW), "A/smoke-suite")
    assert (state, value) == (CheckState.FAIL, "11/12 passed")
    assert reason == "e2e stale (7h ago)"
    # Run again, it passes: nothing else was in the way.
    r.apply(VerificationUpdate("mqtt", NOW, smoke=tuple(suite(NOW))))
    assert check(r.evaluate(NOW), "A/smoke-suite")[:2] == (CheckState.PASS, "12/12 passed")


def test_smoke_checks_are_unknown_while_no_source_delivers_results() -> None:
    r = room()
    assert check(r.evaluate(NOW), "A/smoke-suite") == (
        CheckState.UNKNOWN, "—", "no smoke results yet"
    )  # fmt: skip


def prod(run_id: str, at: datetime, *, witness: bool | None, cosign: bool | None,
         no_op: bool = False) -> DeployRun:  # fmt: skip
    return DeployRun("cd.yml", "prod", "v2.14.1", "dana", "success", at, run_id, no_op=no_op,
                     witness=witness, cosign_verified=cosign, sbom=True, source="mqtt")  # fmt: skip


def test_every_prod_deploy_of_the_period_needs_a_witness_and_a_verified_signature() -> None:
    r = room()
    r.apply(VerificationUpdate("mqtt", NOW, deploys=(
        prod("1", NOW - timedelta(days=2), witness=True, cosign=True),
        prod("2", NOW - timedelta(days=9), witness=False, cosign=False),  # before the period
        prod("3", NOW - HOUR, witness=None, cosign=None, no_op=True),  # a dry run deploys nothing
    )))  # fmt: skip
    assert check(r.evaluate(NOW), "C/deploy-evidence") == (CheckState.PASS, "1/1 evidenced", "")
    r.apply(VerificationUpdate("mqtt", NOW, deploys=(
        prod("4", NOW - HOUR, witness=True, cosign=False),
        prod("5", NOW - HOUR, witness=None, cosign=True),
    )))  # fmt: skip
    state, value, reason = check(r.evaluate(NOW), "C/deploy-evidence")
    assert (state, value) == (CheckState.FAIL, "2/3 lacking")
    assert reason == ("cd.yml #4 lacks cosign verification; cd.yml #5 lacks witness unknown")


# The Definition of Done ---------------------------------------------------------------------


def test_a_breach_restarts_a_kpis_green_streak() -> None:
    streaks = GreenStreaks()
    start = NOW - timedelta(days=3)
    streaks.observe("success_rate", KpiVerdict.OK, NOW - HOUR, start=start)
    streaks.observe("success_rate", KpiVerdict.STALE, NOW - HOUR / 2)  # not current: kept
    (streak,) = streaks.streaks({"success_rate": "Success"})
    assert streak.since == start and streak.reaches(timedelta(days=14)) == start + timedelta(
        days=14
    )
    streaks.observe("success_rate", KpiVerdict.BREACH, NOW - HOUR / 4)
    (streak,) = streaks.streaks({"success_rate": "Success"})
    assert streak.since is None and streak.last_breach == NOW - HOUR / 4
    streaks.observe("success_rate", KpiVerdict.OK, NOW)
    (streak,) = streaks.streaks({"success_rate": "Success"})
    assert streak.since == NOW and streak.length(NOW + HOUR) == HOUR


def test_the_definition_of_done_counts_tier_0_and_1_on_maestro_and_the_rollback_drill() -> None:
    from maestro_control_room.cutover.updates import WaveMetricsUpdate
    from maestro_control_room.cutover.waves import RepoState

    r = room()
    rows = [row for row in r.settings.workbook.rows if row.tier in (0, 1)]
    states = {row.repo: RepoState.MAESTRO for row in rows[:3]}
    r.apply(WaveMetricsUpdate("mqtt", states, {}, NOW))
    r.apply(VerificationUpdate("mqtt", NOW, drills=(
        DrillRun("rollback", "passed", NOW - timedelta(days=20), "witness-9"),
    )))  # fmt: skip
    done = r.evaluate(NOW).done
    assert done is not None
    items = {item.id: item for item in done.items}
    share = f"{3 / len(rows):.0%}"
    assert items["on-maestro"].value == f"Tier-0/1 3/{len(rows)} ({share})"
    assert items["on-maestro"].state is CheckState.FAIL
    assert items["rollback"].state is CheckState.FAIL
    assert items["rollback"].value == "rollback drill stale (20d ago)"
    assert items["rollback"].detail == "not within 14d, evidence witness-9"
    r.apply(VerificationUpdate("mqtt", NOW, drills=(
        DrillRun("rollback", "passed", NOW - timedelta(days=1), "witness-10"),
    )))  # fmt: skip
    done = r.evaluate(NOW).done
    assert done is not None
    assert {i.id: i.state for i in done.items}["rollback"] is CheckState.PASS
    # The detail reads on its own, without a separator left over from the value.
    assert {i.id: i.detail for i in done.items}["rollback"] == "evidence witness-10"
    assert "✔ rollback drilled 1d ago" in done.line
    # The sign-offs are not current (no source keeps them): unknown, never complete.
    assert {i.id: i.state for i in done.items}["signoffs"] is CheckState.UNKNOWN


def healthy(unit: str, signal: str) -> float:
    """A value every KPI of the plan calls OK."""
    return 0.99 if signal.startswith("success") else {"ratio": 0.01, "s": 10.0, "$": 0.1}[unit]


@pytest.mark.parametrize(
    ("success", "shown", "breach"),
    [(0.99, "SLOs green 1h/14d", ""), (0.5, "SLOs green <1m/14d", "breach: Success")],
)
def test_the_done_line_shows_the_shortest_green_streak_restarted_at_a_breach(
    success: float, shown: str, breach: str
) -> None:
    r = room()
    for at in (NOW - HOUR, NOW):
        for kpi in r.settings.kpis:
            value = healthy(kpi.unit, kpi.signal)
            if at == NOW and kpi.signal == "success_rate":
                value = success
            r.apply(SignalUpdate(Signal.measured(kpi.signal, value, kpi.unit, at, source="mqtt")))
        done = r.evaluate(at).done
    assert done is not None
    assert shown in done.line
    slo = next(item for item in done.items if item.id == "slo")
    assert slo.state is CheckState.FAIL
    assert breach in slo.detail


def test_the_smoke_metrics_give_each_tests_last_run_and_nothing_guessed() -> None:
    from maestro_control_room.sources.prometheus import QueryResult, Series, smoke_runs_of

    stamp = (NOW - HOUR).timestamp()

    def series(test: str, value: float, suite: str = "maestro") -> Series:
        return Series({"suite": suite, "test": test}, ((NOW.timestamp(), value),))

    last_run = QueryResult((series("e2e", stamp), series("vuln-gates", stamp),
                            series("e2e", stamp, suite="other"), series("secrets-fetch", 0.0),
                            series("deny-egress", float("nan"))))  # fmt: skip
    success = QueryResult((series("e2e", 1.0), series("vuln-gates", 0.0),
                           series("secrets-fetch", 1.0), series("deny-egress", 1.0)))  # fmt: skip
    runs = smoke_runs_of(last_run, success, "maestro")
    # A test with no timestamp (0, NaN) is left out, never taken as a run.
    assert [(r.test, r.result, r.at) for r in runs] == [
        ("e2e", "passed", NOW - HOUR), ("vuln-gates", "failed", NOW - HOUR)
    ]  # fmt: skip
    assert smoke_runs_of(QueryResult(error="bad_data: x"), success, "maestro") == ()


def test_a_source_that_answered_with_no_results_fails_the_smoke_check_as_never_run() -> None:
    r = room()
    r.apply(VerificationUpdate("mqtt", NOW))
    state, value, reason = check(r.evaluate(NOW), "A/smoke-suite")
    assert (state, value) == (CheckState.FAIL, "0/12 passed")
    assert reason.startswith("build-caching never run; secrets-fetch never run")


def test_beside_cis_own_results_the_simulator_delivers_none() -> None:
    from maestro_control_room.sources.sim import build_simulation

    def results(**sources: object) -> int:
        config = Config.model_validate(config_document(**sources))
        workbook = load_workbook(CONFIG.parent / config.waves.workbook)
        simulation, _ = build_simulation(config, CONFIG.parent, workbook)
        updates = [*simulation.simulator.initial(), *simulation.simulator.advance(120)]
        return sum(isinstance(u, VerificationUpdate) for u in updates)

    assert results() == 2
    assert results(sources__mqtt={"enabled": True}) == 0
    assert results(sources__github={"enabled": True, "repository": "o/r"}) == 0
