"""The simulator as a probe of the Go/No-Go checks: PromQL on its own scrapes, the objects of
its cluster, backups that run on its clock, the Watchdog, and the sign-offs it records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from maestro_control_room.cutover.actions import (
    ActionKind,
    ActionPlan,
    TargetChanged,
    plan_sign_off,
)
from maestro_control_room.cutover.config import Config, QueriesSection, room_settings
from maestro_control_room.cutover.gates import (
    CheckKind,
    CheckReading,
    CheckSpec,
    CheckState,
    ObjectRef,
    Verdict,
)
from maestro_control_room.cutover.room import ControlRoom, RoomView
from maestro_control_room.cutover.updates import GateReadingsUpdate, SignoffsUpdate, Update
from maestro_control_room.cutover.waves import Workbook, parse_workbook
from maestro_control_room.sources.sim import (
    EXAMPLE_WORKBOOK,
    ScenarioError,
    SimEffector,
    Simulator,
    build_simulation,
    load_scenario,
)
from maestro_control_room.sources.sim.cluster import SimCluster, label_selector
from maestro_control_room.sources.sim.promql import PromHistory
from maestro_control_room.sources.sim.scenario import parse_scenario
from maestro_control_room.sources.sim.source import stand_in_checks
from tests.conftest import AppFactory

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = GO_LIVE + timedelta(hours=26)
CONFIG = Config.model_validate(
    {"cutover": {"go_live": GO_LIVE.isoformat()}, "waves": {"workbook": str(EXAMPLE_WORKBOOK)}}
)
QUERIES = QueriesSection()


@pytest.fixture(scope="module")
def workbook() -> Workbook:
    return parse_workbook(EXAMPLE_WORKBOOK.read_text(encoding="utf-8"))


def simulator(
    workbook: Workbook,
    scenario: str = "calm",
    *,
    start: datetime = START,
    gates: Sequence[CheckSpec] | None = None,
    **options: Any,
) -> Simulator:
    return Simulator(
        workbook,
        load_scenario(scenario),
        seed=7,
        start=start,
        go_live=GO_LIVE,
        gates=stand_in_checks(CONFIG) if gates is None else gates,
        queries=CONFIG.queries.model_dump(),
        **options,
    )


def readings(updates: Sequence[Update]) -> dict[str, CheckReading]:
    found = [u for u in updates if isinstance(u, GateReadingsUpdate)]
    return {r.check: r for u in found for r in u.readings}


def promql(expr: str, threshold: float = 0.5, op: str = ">=") -> CheckSpec:
    return CheckSpec("q", "A", "a query", CheckKind.PROMQL, expr=expr, op=op,
                     threshold=threshold, unit="ratio")  # fmt: skip


# --- PromQL on the simulator's scrapes ---------------------------------------------------------


def test_every_probed_default_check_is_answered_from_the_start(workbook: Workbook) -> None:
    sim = simulator(workbook)
    found = readings(sim.initial())
    probed = {c.key for c in stand_in_checks(CONFIG)}
    assert set(found) == probed and len(probed) == 17
    assert all(r.source == "sim" and r.at == START for r in found.values())
    assert all(r.state is CheckState.PASS for r in found.values()), [
        (r.check, r.value, r.reason) for r in found.values() if r.state is not CheckState.PASS
    ]


def test_promql_checks_read_the_value_the_kpi_tiles_show(workbook: Workbook) -> None:
    sim = simulator(workbook)
    sim.advance(120)
    signals = sim.signals()
    for name, key in (("success_rate_7d", "A/success-7d"), ("queue_wait_p95", "A/queue-p95"),
                      ("cost_per_build", "B/cost")):  # fmt: skip
        spec = next(c for c in sim.gate_checks if c.key == key)
        value, error = sim.evaluate(spec.expr)
        assert (value, error) == (signals[name], "")
    shadow, error = sim.evaluate(QUERIES.shadow_pass)
    history: PromHistory = sim.history
    assert shadow == history.shadow_pass() and error == "" and shadow is not None
    by_wave = history.shadow_pass_by_wave()
    assert min(by_wave.values()) <= shadow <= max(by_wave.values())


def test_a_known_query_is_recognised_whatever_its_whitespace(workbook: Workbook) -> None:
    sim = simulator(workbook)
    spaced = "\n  ".join(QUERIES.flake_rate.split(" "))
    assert sim.evaluate(spaced) == sim.evaluate(QUERIES.flake_rate)
    assert sim.evaluate(spaced)[0] is not None


@pytest.mark.parametrize(
    ("expr", "value", "reason"),
    [
        ("vector(1)", "error", "the simulator cannot evaluate this expression"),
        (
            "sum(rate(maestro_jobs_total[5m]",
            "error",
            "the simulator cannot evaluate this expression",
        ),
        (QUERIES.shadow_pass_by_wave, "error", "series, expected 1"),
        (QUERIES.repo_states, "error", "series, expected 1"),
    ],
)
def test_what_the_simulator_cannot_evaluate_is_unknown_never_passed(
    workbook: Workbook, expr: str, value: str, reason: str
) -> None:
    spec = promql(expr, threshold=0.0)
    sim = simulator(workbook, gates=[spec])
    (reading,) = readings(sim.initial()).values()
    assert reading.state is CheckState.UNKNOWN
    assert reading.value == value and reason in reading.reason


# --- the simulated cluster ---------------------------------------------------------------------


def test_objects_are_found_by_name_namespace_and_selector(workbook: Workbook) -> None:
    sim = simulator(workbook)
    find = sim.cluster.find
    kyverno = ObjectRef.parse("kyverno.io/v1/clusterpolicies", name="verify-maestro-images")
    assert [o["metadata"]["name"] for o in find(kyverno, sim.now)] == ["verify-maestro-images"]
    elsewhere = ObjectRef.parse("external-secrets.io/v1beta1/externalsecrets",
                                namespace="default", name="maestro-secrets")  # fmt: skip
    assert find(elsewhere, sim.now) == []
    rollouts = ObjectRef.parse("argoproj.io/v1alpha1/rollouts",
                               label_selector="app.kubernetes.io/part-of=maestro")  # fmt: skip
    found = find(rollouts, sim.now)
    assert sorted(f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in found) == [
        "maestro-runners/executor-controller",
        "maestro-system/maestro-api",
        "maestro-system/maestro-scheduler",
    ]
    assert all(o["metadata"]["annotations"]["intelgraph.dev/sbom"] == "spdx" for o in found)


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ("app=maestro", True),
        ("app==maestro,tier!=0", True),
        ("app=legacy", False),
        ("tier", True),
        ("!tier", False),
        ("!owner", True),
        ("tier in (1, 2),app notin (legacy)", True),
        ("tier notin (1)", False),
    ],
)
def test_label_selectors_match_as_the_api_server_does(selector: str, matches: bool) -> None:
    assert label_selector(selector)({"app": "maestro", "tier": "1"}) is matches


def test_a_selector_the_api_would_refuse_is_refused_with_nothing_to_match() -> None:
    ref = ObjectRef.parse("argoproj.io/v1alpha1/rollouts", label_selector="app=(maestro")
    with pytest.raises(ValueError, match="unable to parse label selector"):
        SimCluster(lambda: ()).find(ref, GO_LIVE)


def test_a_selector_the_api_would_refuse_makes_the_check_unknown(workbook: Workbook) -> None:
    spec = CheckSpec("signed", "C", "signed", CheckKind.K8S_EXISTS,
                     object=ObjectRef.parse("argoproj.io/v1alpha1/rollouts",
                                            label_selector="app=(maestro"))  # fmt: skip
    sim = simulator(workbook, gates=[spec])
    (reading,) = readings(sim.initial()).values()
    assert reading.state is CheckState.UNKNOWN
    assert reading.reason == "unable to parse label selector term 'app=(maestro'"


def test_a_missing_object_fails_its_check(workbook: Workbook) -> None:
    spec = CheckSpec("runbooks", "H", "runbooks", CheckKind.K8S_EXISTS,
                     object=ObjectRef.parse("v1/configmaps", namespace="maestro-system",
                                            name="maestro-playbooks"))  # fmt: skip
    (reading,) = readings(simulator(workbook, gates=[spec]).initial()).values()
    assert (reading.state, reading.value) == (CheckState.FAIL, "missing")


def test_backups_succeed_daily_on_the_simulated_clock(workbook: Workbook) -> None:
    # Five minutes before the database backup's 02:00 run, which takes 14 minutes.
    sim = simulator(workbook, start=datetime(2026, 12, 3, 1, 55, tzinfo=UTC))
    before = readings(sim.initial())["E/db-backup"]
    assert (before.state, before.value) == (CheckState.PASS, "23h 41m ago")
    sim.advance(18 * 60)  # 02:13: the run is still going
    running = sim.cluster.backups["maestro-db-backup"].object(sim.now)["status"]
    assert running == {"lastScheduleTime": "2026-12-03T02:00:00Z",
                       "lastSuccessfulTime": "2026-12-02T02:14:00Z"}  # fmt: skip
    sim.advance(2 * 60)
    after = {r.check: r for r in sim.gate_readings()}["E/db-backup"]
    assert (after.state, after.value) == (CheckState.PASS, "1m ago")


# --- the scenario scripts failures ---------------------------------------------------------------


def test_brownout_has_a_failing_config_backup_and_an_unsigned_hotfix(workbook: Workbook) -> None:
    sim = simulator(workbook, "brownout")
    first = readings(sim.initial())
    backup = first["E/config-backup"]
    assert (backup.state, backup.value, backup.reason) == (
        CheckState.FAIL, "2d 8h ago", "older than 1d 2h",
    )  # fmt: skip
    assert first["C/signed-rollouts"].state is CheckState.PASS
    seen: dict[int, CheckReading] = {}
    events: list[str] = []
    for minute in range(1, 15):
        updates = sim.advance(60)
        seen[minute] = readings(updates)["C/signed-rollouts"]
        events += [e.event for u in updates for e in getattr(u, "events", ())]
    assert seen[2].state is CheckState.PASS
    assert seen[3].state is seen[12].state is CheckState.FAIL
    assert seen[3].reason == "executor-controller lacks intelgraph.dev/sbom"
    assert seen[3].value == "1/3 lacking"
    assert seen[14].state is CheckState.PASS
    assert {"rollout.unsigned", "backup.failed", "rollout.signed"} <= set(events)


@pytest.mark.parametrize(
    ("incident", "message"),
    [
        ('event = "backup.failed"', "needs 'cronjob', one of maestro-db-backup"),
        ('event = "backup.failed"\ncronjob = "nightly"', "needs 'cronjob'"),
        ('event = "rollout.unsigned"\nrollout = "maestro-api"',
         "needs 'rollout', one of maestro-system/maestro-api"),
    ],
)  # fmt: skip
def test_scenario_failures_name_what_they_need(incident: str, message: str) -> None:
    text = f'name = "x"\n[[incidents]]\nat = "1m"\n{incident}\n'
    with pytest.raises(ScenarioError, match="incidents\\[0\\]") as raised:
        parse_scenario(text, "x.toml")
    assert message in str(raised.value)


def test_a_role_signs_once_in_a_scenario() -> None:
    text = (
        'name = "x"\n[[signoffs]]\nrole = "SRE"\nby = "li"\n[[signoffs]]\nrole = "SRE"\nby = "k"\n'
    )
    with pytest.raises(ScenarioError, match="repeated: SRE"):
        parse_scenario(text, "x.toml")


# --- cadence and freshness ------------------------------------------------------------------------


def test_checks_are_evaluated_every_few_seconds_and_at_once_after_a_change(
    workbook: Workbook,
) -> None:
    sim = simulator(workbook, gate_every=timedelta(seconds=5))
    sim.initial()
    delivered = [bool(readings(sim.advance(1))) for _ in range(10)]
    assert delivered == [False, False, False, False, True] * 2
    sim.do_sign_off("Exec Sponsor", "pat", "")
    assert readings(sim.advance(0)), "an action is shown at once"


def test_readings_stay_fresh_in_the_room_at_one_simulated_second_a_second(
    workbook: Workbook, tmp_path: Path
) -> None:
    config = Config.model_validate(
        {**CONFIG.model_dump(include={"waves"}), "cutover": {"go_live": GO_LIVE.isoformat()},
         "sources": {"sim": {"scenario": "calm", "time_scale": 1, "max_age": "10s"}}}
    )  # fmt: skip
    source, _ = build_simulation(config, tmp_path, workbook)
    room = ControlRoom(room_settings(config, workbook))
    for update in source.simulator.initial():
        room.apply(update)
    for _ in range(40):
        for update in source.step(1):
            room.apply(update)
        board = room.evaluate(source.now()).gates
        assert board is not None
        stale = [c.spec.key for g in board.gates for c in g.checks if "stale" in c.reason]
        assert stale == [] and board.verdict is not Verdict.UNKNOWN


def test_the_simulator_answers_only_for_the_backends_it_stands_in_for() -> None:
    kinds = {c.kind for c in stand_in_checks(CONFIG)}
    assert kinds == {CheckKind.PROMQL, CheckKind.K8S_EXISTS, CheckKind.K8S_CRONJOB_RECENT}
    with_prometheus = Config.model_validate(
        {**CONFIG.model_dump(include={"waves"}), "cutover": {"go_live": GO_LIVE.isoformat()},
         "sources": {"prometheus": {"enabled": True}, "kubernetes": {"enabled": True}}}
    )  # fmt: skip
    assert stand_in_checks(with_prometheus) == ()


# --- alerts and sign-offs ----------------------------------------------------------------------


def test_the_watchdog_is_always_firing(workbook: Workbook) -> None:
    sim = simulator(workbook, "brownout")
    assert [a.alertname for a in sim.active_alerts()] == ["Watchdog"]
    sim.advance(5 * 60)
    names = [a.alertname for a in sim.active_alerts()]
    assert names[0] == "Watchdog" and "MaestroCriticalCVE" in names


def sim_room(sim: Simulator) -> ControlRoom:
    room = ControlRoom(room_settings(CONFIG, sim.workbook))
    for update in sim.initial():
        room.apply(update)
    return room


def board_of(room: ControlRoom, sim: Simulator) -> RoomView:
    view = room.evaluate(sim.now)
    assert view.gates is not None
    return view


def test_the_demo_board_shows_what_blocks_the_go(workbook: Workbook) -> None:
    sim = simulator(workbook, "brownout")
    room = sim_room(sim)
    board = board_of(room, sim).gates
    assert board is not None and board.verdict is Verdict.NO_GO
    signed = {role: s.by for role, s in board.signoffs.by_role.items()}
    assert signed == {"Security": "dana", "SRE": "li", "Platform": "sam"}
    assert board.blocker_lines() == (
        "E Config backup: fail (older than 1d 2h)",
        "Sign-off App Eng: fail (unsigned)",
        "Sign-off Compliance/Legal: fail (unsigned)",
        "Sign-off Exec Sponsor: fail (unsigned)",
    )
    checks = {c.spec.key: c for g in board.gates for c in g.checks}
    assert checks["B/paging"].state is CheckState.PASS and checks["B/paging"].value == "firing"
    assert checks["B/metrics"].state is CheckState.PASS


async def test_signing_off_and_withdrawing_through_the_effector(workbook: Workbook) -> None:
    sim = simulator(workbook, "brownout")
    room = sim_room(sim)
    effector = SimEffector(sim)
    plan = plan_sign_off(board_of(room, sim), "Exec Sponsor", "alice", "board approved")
    assert plan.kind is ActionKind.SIGN_OFF
    outcome = await effector.apply(plan)
    assert outcome.ok and [(c.before, c.after) for c in outcome.changes] == [
        ("unsigned", "signed by alice")
    ]
    with pytest.raises(TargetChanged, match="signoffs"):
        await effector.apply(plan)  # the version it saw is gone
    for update in sim.advance(0):
        room.apply(update)
    view = board_of(room, sim)
    assert view.gates is not None
    signed = view.gates.signoffs.of("Exec Sponsor")
    assert signed is not None and (signed.by, signed.note, signed.at) == (
        "alice", "board approved", sim.now,
    )  # fmt: skip
    withdraw = plan_sign_off(view, "Exec Sponsor", "bob")
    assert withdraw.kind is ActionKind.WITHDRAW_SIGNOFF
    assert (await effector.apply(withdraw)).ok
    updates = sim.advance(0)
    (record,) = [u.signoffs for u in updates if isinstance(u, SignoffsUpdate)]
    assert record.of("Exec Sponsor") is None and record.version == sim.versions()["signoffs"]
    assert "Security" in record.by_role
    # Withdrawing what is not signed is refused by the record, not carried out.
    again = ActionPlan(ActionKind.WITHDRAW_SIGNOFF, "Exec Sponsor", (), "bob",
                       seen_versions={"signoffs": record.version})  # fmt: skip
    refused = await effector.apply(again)
    assert not refused.ok and refused.message == "Exec Sponsor has not signed"


async def test_the_app_on_the_simulator_shows_the_board(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert app.view is not None and app.view.gates is not None
        board = app.view.gates
        unknown = [c.spec.key for g in board.gates for c in g.checks
                   if c.state is CheckState.UNKNOWN]  # fmt: skip
        assert unknown == [] and board.verdict is Verdict.NO_GO


def test_beside_real_backends_the_simulator_leaves_their_records_to_them(
    workbook: Workbook, tmp_path: Path
) -> None:
    config = Config.model_validate(
        {**CONFIG.model_dump(include={"waves"}), "cutover": {"go_live": GO_LIVE.isoformat()},
         "sources": {"alertmanager": {"enabled": True}, "kubernetes": {"enabled": True}}}
    )  # fmt: skip
    source, _ = build_simulation(config, tmp_path, workbook)
    kinds = {type(u).__name__ for u in source.simulator.initial()}
    assert "AlertsUpdate" not in kinds and "SignoffsUpdate" not in kinds
    assert "GateReadingsUpdate" in kinds, "it still answers the promql checks"
