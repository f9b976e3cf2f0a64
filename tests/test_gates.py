"""The Go/No-Go matrix: judging each check kind, the three-valued verdict, freshness in the
room, and the plan's gates as the default config."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from maestro_control_room.cutover.actions import ActionKind, plan_sign_off
from maestro_control_room.cutover.config import (
    SIGNOFF_ROLES,
    Config,
    QueriesSection,
    gate_alertnames,
    gate_specs,
)
from maestro_control_room.cutover.gates import (
    CheckKind,
    CheckSpec,
    CheckState,
    GateSpec,
    ObjectRef,
    Signoff,
    Signoffs,
    Verdict,
    combine,
    cronjob_reading,
    judge_promql,
    objects_reading,
    promql_reading,
    with_triggers,
)
from maestro_control_room.cutover.room import ControlRoom, RoomSettings, RoomView
from maestro_control_room.cutover.updates import (
    Alert,
    AlertsUpdate,
    GateReadingsUpdate,
    HealthState,
    SignoffsUpdate,
    SourceHealth,
)
from maestro_control_room.tui.configfile import ConfigError, load_config
from tests.test_room import CONFIG, GO_LIVE, WORKBOOK

NOW = GO_LIVE + timedelta(days=3)
BASE = {"cutover": {"go_live": GO_LIVE.isoformat()}, "waves": {"workbook": "workbook.csv"}}
SECOND = timedelta(seconds=1)


def promql(op: str = ">=", threshold: float = 0.98, unit: str = "ratio") -> CheckSpec:
    return CheckSpec("success-7d", "A", "Job success rate", CheckKind.PROMQL,
                     expr="x", op=op, threshold=threshold, unit=unit)  # fmt: skip


# --- judging what probes measure ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "value", "state"),
    [
        (">=", 0.98, CheckState.PASS),
        (">=", 0.979, CheckState.FAIL),
        ("<=", 0.98, CheckState.PASS),
        ("<=", 0.981, CheckState.FAIL),
        (">", 0.98, CheckState.FAIL),
        ("<", 0.97, CheckState.PASS),
        ("==", 0.98, CheckState.PASS),
    ],
)
def test_promql_value_against_its_comparator(op: str, value: float, state: CheckState) -> None:
    assert judge_promql(promql(op), value) is state


@pytest.mark.parametrize(
    ("value", "error", "shown", "reason"),
    [
        (None, "", "no data", "the expression returned nothing"),
        (math.nan, "", "nan", "not a number"),
        (math.inf, "", "inf", "not a number"),
        (0.99, "bad_data: parse error", "error", "bad_data: parse error"),
    ],
)
def test_promql_without_a_number_is_unknown_never_passed(
    value: float | None, error: str, shown: str, reason: str
) -> None:
    reading = promql_reading(promql(), value, "prometheus", NOW, error)
    assert reading.state is CheckState.UNKNOWN
    assert (reading.value, reading.reason) == (shown, reason)


def test_promql_reading_shows_the_value_in_its_unit_and_what_passing_needs() -> None:
    passing = promql_reading(promql(), 0.991, "prometheus", NOW)
    assert (passing.state, passing.value, passing.reason) == (CheckState.PASS, "99.1%", "")
    failing = promql_reading(promql("<=", 60, "s"), 71.0, "prometheus", NOW)
    assert (failing.state, failing.value, failing.reason) == (
        CheckState.FAIL, "71s", "needs <= 60s",
    )  # fmt: skip
    assert failing.check == "A/success-7d" and failing.source == "prometheus"


ROLLOUTS = ObjectRef.parse("argoproj.io/v1alpha1/rollouts", label_selector="app=maestro")
SIGNED = {"intelgraph.dev/signed": "true", "intelgraph.dev/sbom": "spdx"}


def rollout(name: str, **annotations: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "annotations": annotations}}


def test_objects_found_pass_only_with_every_required_annotation() -> None:
    spec = CheckSpec("signed", "C", "Rollouts signed", CheckKind.K8S_EXISTS, object=ROLLOUTS,
                     annotations=SIGNED)  # fmt: skip
    ok = objects_reading(spec, [rollout("api", **SIGNED), rollout("web", **SIGNED)], "k", NOW)
    assert (ok.state, ok.value) == (CheckState.PASS, "2 found")
    lacking = objects_reading(
        spec, [rollout("api", **SIGNED), rollout("web", **{"intelgraph.dev/signed": "true"})],
        "k", NOW,
    )  # fmt: skip
    assert lacking.state is CheckState.FAIL
    assert (lacking.value, lacking.reason) == ("1/2 lacking", "web lacks intelgraph.dev/sbom")
    wrong = objects_reading(spec, [rollout("api", **{**SIGNED, "intelgraph.dev/sbom": "cdx"})],
                            "k", NOW)  # fmt: skip
    assert wrong.state is CheckState.FAIL
    missing = objects_reading(spec, [], "k", NOW)
    assert (missing.state, missing.value) == (CheckState.FAIL, "missing")
    assert missing.reason == "no rollouts [app=maestro]"
    unanswered = objects_reading(spec, None, "k", NOW, "403 Forbidden")
    assert (unanswered.state, unanswered.reason) == (CheckState.UNKNOWN, "403 Forbidden")


BACKUP = CheckSpec(
    "db-backup", "E", "Database backup", CheckKind.K8S_CRONJOB_RECENT,
    object=ObjectRef.parse("batch/v1/cronjobs", namespace="ops", name="db-backup"),
    max_age=timedelta(hours=26),
)  # fmt: skip


def cronjob(last: str | None) -> dict[str, Any]:
    return {"status": {"lastSuccessfulTime": last} if last else {}}


def test_cronjob_passes_within_its_max_age_since_the_last_success() -> None:
    recent = cronjob_reading(BACKUP, cronjob("2026-12-04T02:14:00Z"), "k", NOW)
    assert (recent.state, recent.value) == (CheckState.PASS, "6h 46m ago")
    old = cronjob_reading(BACKUP, cronjob("2026-12-03T02:14:00Z"), "k", NOW)
    assert (old.state, old.value, old.reason) == (
        CheckState.FAIL, "1d 6h ago", "older than 1d 2h",
    )  # fmt: skip
    never = cronjob_reading(BACKUP, cronjob(None), "k", NOW)
    assert (never.state, never.value) == (CheckState.FAIL, "never succeeded")
    missing = cronjob_reading(BACKUP, None, "k", NOW)
    assert (missing.state, missing.reason) == (CheckState.FAIL, "no cronjobs ops/db-backup")
    failed = cronjob_reading(BACKUP, None, "k", NOW, "connection refused")
    assert (failed.state, failed.reason) == (CheckState.UNKNOWN, "connection refused")


# --- the three-valued verdict ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("states", "combined"),
    [
        ((CheckState.PASS, CheckState.PASS), CheckState.PASS),
        ((CheckState.PASS, CheckState.UNKNOWN), CheckState.UNKNOWN),
        ((CheckState.UNKNOWN, CheckState.FAIL, CheckState.PASS), CheckState.FAIL),
        ((), CheckState.PASS),
    ],
)
def test_a_failure_decides_else_an_unknown_leaves_it_unknown(
    states: tuple[CheckState, ...], combined: CheckState
) -> None:
    assert combine(states) is combined


def test_rollback_triggers_count_in_the_overall_verdict() -> None:
    room = gate_room(source_check("metrics", "prometheus"))
    room.apply(SourceHealth("prometheus", HealthState.CONNECTED, NOW))
    board = room.evaluate(NOW).gates
    assert board is not None and board.verdict is Verdict.GO
    assert with_triggers(board, ["inactive", "resolved"]) is Verdict.GO
    assert with_triggers(board, ["inactive", "unknown"]) is Verdict.UNKNOWN
    assert with_triggers(board, ["unknown", "firing"]) is Verdict.NO_GO
    assert [v.exit_code for v in Verdict] == [0, 1, 2]


# --- the board in the room: freshness and the checks the room judges ------------------------------


def source_check(check_id: str, source: str, required: bool = True) -> CheckSpec:
    return CheckSpec(check_id, "B", check_id, CheckKind.SOURCE_HEALTHY, required, source=source)


def alert_check(kind: CheckKind, alertname: str) -> CheckSpec:
    return CheckSpec(alertname.lower(), "B", alertname, kind, alertname=alertname)


def signoff_check(role: str) -> CheckSpec:
    return CheckSpec(role.lower(), "Sign-off", role, CheckKind.SIGNOFF, role=role)


MAX_AGE = {"prometheus": timedelta(seconds=60), "alertmanager": timedelta(seconds=60)}


def gate_room(*checks: CheckSpec) -> ControlRoom:
    """A room with only these checks, in gates of their own, and no KPIs or triggers."""
    ids = dict.fromkeys(c.gate for c in checks)
    gates = tuple(GateSpec(g, g, tuple(c for c in checks if c.gate == g)) for g in ids)
    return ControlRoom(
        RoomSettings(
            name="Maestro cutover",
            go_live=GO_LIVE,
            kpis=(),
            triggers=(),
            green_period=timedelta(hours=48),
            workbook=WORKBOOK,
            max_age=MAX_AGE,
            gates=gates,
        )
    )


def check(view: RoomView, key: str) -> tuple[CheckState, str, str]:
    assert view.gates is not None
    found = next(c for g in view.gates.gates for c in g.checks if c.spec.key == key)
    return found.state, found.value, found.reason


def test_a_probed_reading_is_current_until_its_source_max_age_then_unknown() -> None:
    spec = promql()
    room = gate_room(spec)
    assert check(room.evaluate(NOW), "A/success-7d") == (CheckState.UNKNOWN, "—", "no reading yet")
    reading = promql_reading(spec, 0.991, "prometheus", NOW)
    room.apply(GateReadingsUpdate("prometheus", (reading,), NOW))
    assert check(room.evaluate(NOW + 60 * SECOND), "A/success-7d") == (
        CheckState.PASS, "99.1%", "",
    )  # fmt: skip
    stale = room.evaluate(NOW + 61 * SECOND)
    assert check(stale, "A/success-7d") == (CheckState.UNKNOWN, "99.1%", "stale 61s")
    assert stale.gates is not None and stale.gates.verdict is Verdict.UNKNOWN
    assert stale.gates.blocker_lines() == ("A Job success rate: unknown (stale 61s)",)


def test_a_probed_reading_is_unknown_at_once_when_its_source_errs() -> None:
    spec = promql()
    room = gate_room(spec)
    room.apply(GateReadingsUpdate("prometheus", (promql_reading(spec, 0.5, "prometheus", NOW),),
                                  NOW))  # fmt: skip
    assert check(room.evaluate(NOW), "A/success-7d")[0] is CheckState.FAIL
    room.apply(SourceHealth("prometheus", HealthState.ERROR, NOW + SECOND, "connection refused"))
    assert check(room.evaluate(NOW + SECOND), "A/success-7d") == (
        CheckState.UNKNOWN, "—", "error: connection refused",
    )  # fmt: skip


def test_sources_healthy_pass_only_when_connected_and_fresh() -> None:
    room = gate_room(source_check("metrics", "prometheus"), source_check("cluster", "kubernetes"))
    room.register_source("prometheus", NOW)
    view = room.evaluate(NOW)
    assert check(view, "B/metrics") == (CheckState.UNKNOWN, "connecting", "connecting")
    assert check(view, "B/cluster") == (CheckState.FAIL, "not configured", "not configured")
    room.apply(SourceHealth("prometheus", HealthState.CONNECTED, NOW))
    assert check(room.evaluate(NOW + 60 * SECOND), "B/metrics")[0] is CheckState.PASS
    assert check(room.evaluate(NOW + 61 * SECOND), "B/metrics") == (
        CheckState.UNKNOWN, "stale 61s", "stale 61s",
    )  # fmt: skip


def test_alert_checks_follow_the_current_alerts_and_are_unknown_without_them() -> None:
    paging = alert_check(CheckKind.ALERT_PRESENT, "Watchdog")
    cve = alert_check(CheckKind.ALERT_ABSENT, "MaestroCriticalCVE")
    room = gate_room(paging, cve)
    view = room.evaluate(NOW)
    assert check(view, "B/watchdog") == (CheckState.UNKNOWN, "—", "alerts not current")
    room.apply(AlertsUpdate("alertmanager", (Alert("Watchdog"),), NOW))
    view = room.evaluate(NOW + SECOND)
    assert check(view, "B/watchdog") == (CheckState.PASS, "firing", "")
    assert check(view, "B/maestrocriticalcve") == (CheckState.PASS, "clear", "")
    assert view.gates is not None and view.gates.verdict is Verdict.GO
    room.apply(AlertsUpdate("alertmanager", (Alert("MaestroCriticalCVE"),), NOW + SECOND))
    view = room.evaluate(NOW + SECOND)
    assert check(view, "B/watchdog")[0] is CheckState.FAIL
    assert check(view, "B/maestrocriticalcve") == (CheckState.FAIL, "firing", "")
    assert view.gates is not None and view.gates.verdict is Verdict.NO_GO
    stale = room.evaluate(NOW + 62 * SECOND)
    assert check(stale, "B/maestrocriticalcve")[0] is CheckState.UNKNOWN


def test_alert_checks_are_unknown_as_soon_as_alertmanager_errs() -> None:
    room = gate_room(alert_check(CheckKind.ALERT_ABSENT, "MaestroCriticalCVE"))
    room.apply(AlertsUpdate("alertmanager", (), NOW))
    assert check(room.evaluate(NOW), "B/maestrocriticalcve")[0] is CheckState.PASS
    room.apply(SourceHealth("alertmanager", HealthState.ERROR, NOW + SECOND, "timed out"))
    assert check(room.evaluate(NOW + SECOND), "B/maestrocriticalcve") == (
        CheckState.UNKNOWN, "—", "alerts not current",
    )  # fmt: skip


def test_signoffs_pass_when_signed_and_are_unknown_when_their_record_is_not_current() -> None:
    room = gate_room(signoff_check("Security"), signoff_check("SRE"))
    view = room.evaluate(NOW)
    assert check(view, "Sign-off/security") == (CheckState.UNKNOWN, "—", "sign-offs not current")
    signed = Signoffs({"Security": Signoff("Security", "dana", NOW)}, version="7")
    room.apply(SignoffsUpdate("kubernetes", signed, NOW))
    view = room.evaluate(NOW + SECOND)
    assert check(view, "Sign-off/security") == (CheckState.PASS, "signed by dana", "")
    assert check(view, "Sign-off/sre") == (CheckState.FAIL, "unsigned", "")
    assert view.gates is not None and view.gates.roles == ("Security", "SRE")
    # Past the default max age of a source the settings do not name (30 s).
    assert check(room.evaluate(NOW + 31 * SECOND), "Sign-off/security")[0] is CheckState.UNKNOWN


def test_an_optional_check_shows_but_does_not_decide() -> None:
    room = gate_room(source_check("metrics", "prometheus"),
                     source_check("extra", "kubernetes", required=False))  # fmt: skip
    room.apply(SourceHealth("prometheus", HealthState.CONNECTED, NOW))
    board = room.evaluate(NOW).gates
    assert board is not None
    assert check(room.evaluate(NOW), "B/extra")[0] is CheckState.FAIL
    assert board.verdict is Verdict.GO and board.blockers == ()


def test_signing_off_is_planned_with_the_version_seen_and_withdrawn_the_same_way() -> None:
    room = gate_room(signoff_check("Security"))
    room.apply(SignoffsUpdate("sim", Signoffs({}, "4"), NOW))
    signing = plan_sign_off(room.evaluate(NOW), "Security", "alice", "reviewed")
    assert signing.kind is ActionKind.SIGN_OFF
    assert signing.seen_versions == {"signoffs": "4"} and signing.reason == "reviewed"
    signed = Signoffs({"Security": Signoff("Security", "alice", NOW)}, "5")
    room.apply(SignoffsUpdate("sim", signed, NOW))
    withdrawing = plan_sign_off(room.evaluate(NOW), "Security", "bob")
    assert withdrawing.kind is ActionKind.WITHDRAW_SIGNOFF
    assert withdrawing.seen_versions == {"signoffs": "5"}


# --- the config: the plan's gates by default, and errors naming the key ---------------------------


def test_default_gates_are_the_plans_a_to_h_and_its_six_signoffs() -> None:
    gates = gate_specs(CONFIG)
    assert [g.id for g in gates] == [*"ABCDEFGH", "Sign-off"]
    roles = [c.role for c in gates[-1].checks]
    assert tuple(roles) == SIGNOFF_ROLES and len(roles) == 6
    checks = {c.key: c for g in gates for c in g.checks}
    success = checks["A/success-7d"]
    assert success.kind is CheckKind.PROMQL and success.unit == "ratio"
    assert success.expr == QueriesSection().success_rate_7d
    assert (success.op, success.threshold) == (">=", CONFIG.thresholds.success_rate_target)
    assert checks["F/shadow-pass"].expr == QueriesSection().shadow_pass
    assert gate_alertnames(gates) == (
        "Watchdog", "MaestroCriticalCVE", "MaestroAuditFailure", "MaestroIntegrationDown",
    )  # fmt: skip
    backup = checks["E/config-backup"]
    assert backup.object == ObjectRef("batch", "v1", "cronjobs", "maestro-system",
                                      "maestro-config-backup")  # fmt: skip
    assert backup.max_age == timedelta(hours=26)
    signed = checks["C/signed-rollouts"]
    assert signed.object is not None
    assert signed.object.label_selector == "app.kubernetes.io/part-of=maestro"
    assert signed.annotations == SIGNED
    # With the simulator alone, it answers for the sources it stands in for.
    assert checks["B/metrics"].source == "sim"


def test_default_source_checks_name_the_real_sources_when_they_are_configured() -> None:
    config = Config.model_validate(
        {**BASE,
         "sources": {"sim": {"enabled": False}, "prometheus": {"enabled": True}}}
    )  # fmt: skip
    checks = {c.key: c for g in gate_specs(config) for c in g.checks}
    assert checks["B/metrics"].source == "prometheus"
    assert checks["B/events"].source == "mqtt"


def test_configured_gates_replace_the_plans() -> None:
    config = Config.model_validate(
        {**BASE, "gates": [
            {"id": "A", "title": "Reliability", "checks": [
                {"id": "p95", "kind": "promql", "query": "queue_wait_p95", "op": "<=",
                 "threshold": 90},
                {"id": "own", "kind": "promql", "expr": "vector(1)", "threshold": 1,
                 "required": False},
            ]},
        ]}
    )  # fmt: skip
    (gate,) = gate_specs(config)
    p95, own = gate.checks
    assert (p95.expr, p95.unit, p95.title) == (QueriesSection().queue_wait_p95, "s", "p95")
    assert (own.expr, own.required) == ("vector(1)", False)


GATES_TOML = """
[[gates]]
id = "A"
[[gates.checks]]
id = "success"
kind = "promql"
{check}
"""


@pytest.mark.parametrize(
    ("check", "expected"),
    [
        ('query = "success_rate_7d"',
         "gates[1].checks[1]: check 'success' (promql) needs 'threshold'"),
        ('query = "success_rate_7d"\nexpr = "vector(1)"\nthreshold = 1',
         "needs exactly one of 'query' (a [queries] name) or 'expr'"),
        ('query = "no_such_query"\nthreshold = 1',
         "gates[1].checks[1]: check 'success' (promql) needs 'query' to name a [queries] entry"),
        ('threshold = 1\nexpr = "vector(1)"\nop = "=>"', "gates[1].checks[1].op:"),
        ('threshold = 1\nexpr = "vector(1)"\nthreshhold = 2',
         "gates[1].checks[1].threshhold: unknown key"),
    ],
)  # fmt: skip
def test_a_bad_gate_names_the_key(tmp_path: Path, check: str, expected: str) -> None:
    from tests.conftest import CONFIG as CONFIG_FILE

    text = CONFIG_FILE.read_text() + GATES_TOML.format(check=check)
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert expected in str(raised.value)


def test_a_resource_that_is_not_group_version_plural_is_refused() -> None:
    document = {**BASE, "gates": [{"id": "C", "checks": [
        {"id": "policy", "kind": "k8s_exists", "resource": "clusterpolicies", "name": "x"},
    ]}]}  # fmt: skip
    with pytest.raises(ValueError, match="'resource': expected a resource as group/version"):
        Config.model_validate(document)
