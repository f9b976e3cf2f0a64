"""The gate checks the cluster answers, and the Go/No-Go sign-offs, against the fake API
server through the real client: the plan's default gates C, D, E and H as an operator would
have them, and sign-offs through the action pipeline into the ConfigMap and the journal."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from maestro_control_room.cutover.actions import ActionKind, TargetChanged, plan_sign_off
from maestro_control_room.cutover.config import Config, gate_specs, room_settings
from maestro_control_room.cutover.gates import (
    CheckKind,
    CheckReading,
    CheckResult,
    CheckState,
    Verdict,
)
from maestro_control_room.cutover.pipeline import ActionPipeline
from maestro_control_room.cutover.room import ControlRoom, RoomView
from maestro_control_room.cutover.updates import (
    GateReadingsUpdate,
    HealthState,
    SignoffsUpdate,
    SourceHealth,
)
from maestro_control_room.cutover.waves import Workbook
from maestro_control_room.sources.journal import AuditJournal, read_journal
from maestro_control_room.sources.rollouts import build_kubernetes
from tests.kube_fake import (
    CONFIGMAPS,
    CRONJOBS,
    ROLLOUTS,
    FakeKube,
    Served,
    backup_cronjob,
    canary_rollout,
)
from tests.kube_harness import (
    FAST,
    Delivered,
    kube_config,
    running_fake,
    seed_configmap,
    until,
    watching,
)

NS = "maestro-system"
GATEKEEPER = "constraints.gatekeeper.sh"
#: The Gatekeeper constraints of gate C: (constraint kind's plural, constraint name).
CONSTRAINTS = (
    ("k8srequiredimagedigest", "required-imagedigest"),
    ("k8sdisallowedtags", "disallow-latest"),
    ("k8scontainerlimits", "required-limits"),
    ("k8srequiredannotations", "required-annotations-values"),
)
CLUSTER_POLICIES = Served("kyverno.io", "v1", "clusterpolicies", "ClusterPolicy", namespaced=False)
EXTERNAL_SECRETS = Served("external-secrets.io", "v1beta1", "externalsecrets", "ExternalSecret")
ANALYSIS_TEMPLATES = Served("argoproj.io", "v1alpha1", "analysistemplates", "AnalysisTemplate")
SIGNED = {"intelgraph.dev/signed": "true", "intelgraph.dev/sbom": "spdx"}


def rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(**delta: float) -> str:
    return rfc3339(datetime.now(timezone.utc) - timedelta(**delta))


def named(name: str, namespace: str = "") -> dict[str, Any]:
    return {"metadata": {"name": name, **({"namespace": namespace} if namespace else {})}}


def signed_rollout(name: str, namespace: str = NS) -> dict[str, Any]:
    obj = canary_rollout(name, namespace)
    obj["metadata"]["annotations"] = dict(SIGNED)
    return obj


def ready_cluster(kube: FakeKube, *, kyverno: bool = True) -> None:
    """Everything gates C, D, E and H look for, as on a cluster ready to go live."""
    for plural, name in CONSTRAINTS:
        kind = plural.replace("k8s", "K8s", 1)
        kube.install(Served(GATEKEEPER, "v1beta1", plural, kind, namespaced=False))
        kube.put(plural, named(name))
    if kyverno:
        kube.install(CLUSTER_POLICIES)
        kube.put("clusterpolicies", named("verify-maestro-images"))
    kube.install(EXTERNAL_SECRETS)
    kube.put("externalsecrets", named("maestro-secrets", NS))
    kube.install(ANALYSIS_TEMPLATES)
    kube.put("analysistemplates", named("maestro-slo", NS))
    kube.put(ROLLOUTS, signed_rollout("maestro-api"))
    kube.put(ROLLOUTS, signed_rollout("executor-controller", "maestro-runners"))
    kube.put(ROLLOUTS, canary_rollout("unrelated", labels={"app": "other"}))  # not selected
    kube.put(CRONJOBS, backup_cronjob("maestro-db-backup", ago(hours=2)))
    kube.put(CRONJOBS, backup_cronjob("maestro-config-backup", ago(hours=5)))
    kube.put(CONFIGMAPS, named("maestro-runbooks", NS))
    seed_configmap(kube)


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with running_fake() as fake:
        yield fake


def cluster_keys(config: Config) -> list[str]:
    kinds = (CheckKind.K8S_EXISTS, CheckKind.K8S_CRONJOB_RECENT)
    return [c.key for g in gate_specs(config) for c in g.checks if c.kind in kinds]


def readings(seen: Delivered) -> dict[str, CheckReading]:
    update = seen.latest(GateReadingsUpdate)
    return {} if update is None else {r.check: r for r in update.readings}


async def reading_of(
    seen: Delivered, key: str, wanted: Callable[[CheckReading], bool] = lambda r: True
) -> CheckReading:
    return await until(
        lambda: (r := readings(seen).get(key)) is not None and wanted(r) and r,
        what=f"a reading of {key}",
    )


def room_of(config: Config, seen: Delivered) -> ControlRoom:
    room = ControlRoom(room_settings(config, Workbook(())))
    for update in seen.updates:
        room.apply(update)
    return room


def board(view: RoomView) -> dict[str, CheckResult]:
    assert view.gates is not None
    return {c.spec.key: c for gate in view.gates.gates for c in gate.checks}


# ---- k8s_exists and k8s_cronjob_recent -------------------------------------------------------


async def test_every_cluster_check_passes_on_a_ready_cluster(
    kube: FakeKube, tmp_path: Path
) -> None:
    ready_cluster(kube)
    config = kube_config(kube, tmp_path)
    source, _ = build_kubernetes(config, tuning=FAST)
    async with watching(source) as seen:
        await until(lambda: readings(seen), what="the first readings, at once")
    found = readings(seen)
    assert sorted(found) == sorted(cluster_keys(config))
    assert {key: r.state for key, r in found.items() if r.state is not CheckState.PASS} == {}
    assert found["C/signed-rollouts"].value == "2 found"  # the unlabelled one is not asked for
    assert found["C/kyverno-verify"].value == "found"
    assert found["E/db-backup"].value == "2h ago"
    assert found["E/config-backup"].value == "5h ago"
    paths = {r.path for r in kube.requests if r.method == "GET" and "watch" not in r.query}
    # Cluster-scoped by name; by selector in every namespace; namespaced by name.
    assert f"/apis/{GATEKEEPER}/v1beta1/k8srequiredimagedigest/required-imagedigest" in paths
    assert "/apis/argoproj.io/v1alpha1/rollouts" in paths
    assert f"/apis/batch/v1/namespaces/{NS}/cronjobs/maestro-db-backup" in paths
    assert f"/api/v1/namespaces/{NS}/configmaps/maestro-runbooks" in paths
    listed = next(r for r in kube.requests if r.path == "/apis/argoproj.io/v1alpha1/rollouts")
    assert listed.query["labelSelector"] == "app.kubernetes.io/part-of=maestro"

    view = room_of(config, seen).evaluate(datetime.now(timezone.utc))
    checks = board(view)
    for gate in ("C", "D", "E", "H"):
        shown = {k: c.state for k, c in checks.items() if k.startswith(f"{gate}/")}
        cluster = {k: s for k, s in shown.items() if k in found}
        assert set(cluster.values()) == {CheckState.PASS}, (gate, shown)


@pytest.mark.parametrize(
    ("case", "key", "state", "value", "reason"),
    [
        (
            "a constraint deleted",
            "C/disallow-latest",
            CheckState.FAIL,
            "missing",
            "no k8sdisallowedtags disallow-latest",
        ),
        (
            "Kyverno not installed",
            "C/kyverno-verify",
            CheckState.FAIL,
            "missing",
            "clusterpolicies.kyverno.io not installed: the cluster serves no clusterpolicies"
            " in kyverno.io/v1",
        ),
        (
            "no runbooks ConfigMap",
            "H/runbooks",
            CheckState.FAIL,
            "missing",
            f"no configmaps {NS}/maestro-runbooks",
        ),
        (
            "a rollout not signed",
            "C/signed-rollouts",
            CheckState.FAIL,
            "1/2 lacking",
            "executor-controller lacks intelgraph.dev/sbom",
        ),
        (
            "rollouts not listable",
            "C/signed-rollouts",
            CheckState.UNKNOWN,
            "error",
            "forbidden: list rollouts.argoproj.io",
        ),
        (
            "secrets not readable",
            "C/secrets",
            CheckState.UNKNOWN,
            "error",
            f"forbidden: get externalsecrets.external-secrets.io in {NS}",
        ),
        (
            "backup too old",
            "E/db-backup",
            CheckState.FAIL,
            "1d 3h ago",
            "older than 1d 2h",
        ),
        (
            "backup never succeeded",
            "E/config-backup",
            CheckState.FAIL,
            "never succeeded",
            "no lastSuccessfulTime",
        ),
        (
            "backup CronJob missing",
            "E/db-backup",
            CheckState.FAIL,
            "missing",
            f"no cronjobs {NS}/maestro-db-backup",
        ),
        (
            "CronJobs not readable",
            "E/config-backup",
            CheckState.UNKNOWN,
            "error",
            f"forbidden: get cronjobs.batch in {NS}",
        ),
    ],
)
async def test_a_cluster_check_fails_or_is_unknown_and_says_why(
    kube: FakeKube,
    tmp_path: Path,
    case: str,
    key: str,
    state: CheckState,
    value: str,
    reason: str,
) -> None:
    ready_cluster(kube, kyverno=case != "Kyverno not installed")
    if case == "a constraint deleted":
        kube.delete("k8sdisallowedtags", "", "disallow-latest")
    elif case == "no runbooks ConfigMap":
        kube.delete(CONFIGMAPS, NS, "maestro-runbooks")
    elif case == "a rollout not signed":
        strip = lambda o: o["metadata"]["annotations"].pop("intelgraph.dev/sbom")  # noqa: E731
        kube.modify(ROLLOUTS, "maestro-runners", "executor-controller", strip)
    elif case == "rollouts not listable":
        kube.forbid("list", ROLLOUTS)
    elif case == "secrets not readable":
        kube.forbid("get", "externalsecrets", NS)
    elif case == "backup too old":
        kube.put(CRONJOBS, backup_cronjob("maestro-db-backup", ago(hours=27, minutes=1)))
    elif case == "backup never succeeded":
        kube.put(CRONJOBS, backup_cronjob("maestro-config-backup", None))
    elif case == "backup CronJob missing":
        kube.delete(CRONJOBS, NS, "maestro-db-backup")
    elif case == "CronJobs not readable":
        kube.forbid("get", CRONJOBS, NS)
    config = kube_config(kube, tmp_path)
    source, _ = build_kubernetes(config, tuning=FAST)
    async with watching(source) as seen:
        found = await reading_of(seen, key)
    assert (found.state, found.value, found.reason) == (state, value, reason), case
    # The rest of the cluster is fine (a forbidden resource is so for all its checks).
    specs = {c.key: c for g in gate_specs(config) for c in g.checks}
    plural = specs[key].object.plural if specs[key].object else ""
    others = {
        k: r.state
        for k, r in readings(seen).items()
        if k != key and not (state is CheckState.UNKNOWN and specs[k].object.plural == plural)
    }
    assert set(others.values()) == {CheckState.PASS}, others
    # The board: a failure makes the verdict NO-GO; an unknown is never passed.
    shown = board(room_of(config, seen).evaluate(datetime.now(timezone.utc)))[key]
    assert shown.state is state and shown.blocks


async def test_a_change_in_the_cluster_shows_at_the_next_refresh(
    kube: FakeKube, tmp_path: Path
) -> None:
    ready_cluster(kube)
    config = kube_config(kube, tmp_path, refresh="200ms")
    source, _ = build_kubernetes(config, tuning=FAST)
    async with watching(source) as seen:
        await reading_of(seen, "C/signed-rollouts", lambda r: r.state is CheckState.PASS)
        strip = lambda o: o["metadata"]["annotations"].pop("intelgraph.dev/signed")  # noqa: E731
        kube.modify(ROLLOUTS, NS, "maestro-api", strip)
        failed = await reading_of(seen, "C/signed-rollouts", lambda r: r.state is CheckState.FAIL)
        assert failed.reason == "maestro-api lacks intelgraph.dev/signed"
        kube.put(CRONJOBS, backup_cronjob("maestro-db-backup", None))
        await reading_of(seen, "E/db-backup", lambda r: r.value == "never succeeded")


async def test_the_api_down_makes_the_checks_unknown_and_old_readings_go_stale(
    kube: FakeKube, tmp_path: Path
) -> None:
    ready_cluster(kube)
    config = kube_config(kube, tmp_path, refresh="200ms")
    max_age = config.sources.kubernetes.max_age
    key = "C/required-imagedigest"
    source, _ = build_kubernetes(config, tuning=FAST)
    async with watching(source) as seen:
        passed = await reading_of(seen, key, lambda r: r.state is CheckState.PASS)
        # Nothing heard for longer than the source's max age: the pass is not current.
        later = passed.at + max_age + timedelta(seconds=1)
        stale = board(room_of(config, seen).evaluate(later))[key]
        assert (stale.state, stale.value, stale.reason) == (
            CheckState.UNKNOWN,
            "found",
            f"stale {int((later - passed.at).total_seconds())}s",
        )

        kube.stop()
        down = await reading_of(seen, key, lambda r: r.state is CheckState.UNKNOWN)
        assert down.reason.startswith(
            f"get k8srequiredimagedigest.{GATEKEEPER}: cannot reach the API server ("
        )
        await until(
            lambda: (h := seen.latest(SourceHealth)) and h.state is HealthState.ERROR,
            what="the source's error",
        )
        room = room_of(config, seen)
    now = datetime.now(timezone.utc)
    for moment in (now, now + max_age + timedelta(seconds=1)):
        view = room.evaluate(moment)
        shown = board(view)[key]
        assert shown.state is CheckState.UNKNOWN and shown.reason
        assert view.gates is not None and view.gates.verdict is not Verdict.GO
    assert room.health_of("kubernetes", now).state is HealthState.ERROR


# ---- sign-offs ------------------------------------------------------------------------------


async def current_view(
    config: Config, seen: Delivered, wanted: Callable[[RoomView], bool], what: str
) -> RoomView:
    def view() -> RoomView | None:
        shown = room_of(config, seen).evaluate(datetime.now(timezone.utc))
        return shown if wanted(shown) else None

    return await until(view, what=what)


def signoffs_in(kube: FakeKube) -> dict[str, Any]:
    value = json.loads(kube.get(CONFIGMAPS, NS, "maestro-cutover")["data"]["signoffs"])
    assert isinstance(value, dict)
    return value


async def signoffs_known(config: Config, seen: Delivered, version: str) -> RoomView:
    """The room once it shows the sign-offs of ConfigMap `version` as known: the source
    reads the ConfigMap first, and the sign-offs are current once it has listed the rest."""
    return await current_view(
        config,
        seen,
        lambda v: (
            v.gates is not None
            and v.gates.signoffs.version == version
            and board(v)["Sign-off/security"].state is not CheckState.UNKNOWN
        ),
        "the sign-offs as recorded",
    )


async def test_a_signoff_and_its_withdrawal_land_in_the_configmap_and_the_journal(
    kube: FakeKube, tmp_path: Path
) -> None:
    first = seed_configmap(kube)
    config = kube_config(kube, tmp_path)
    source, effector = build_kubernetes(config, tuning=FAST)
    journal_path = tmp_path / "audit.jsonl"
    pipeline = ActionPipeline(effector, read_only=False, journal=AuditJournal(journal_path))
    async with watching(source) as seen:
        view = await signoffs_known(config, seen, first)
        assert board(view)["Sign-off/security"].state is CheckState.FAIL  # unsigned
        sign = plan_sign_off(view, "Security", "alice", note="pen test closed, SEC-112")
        assert sign.kind is ActionKind.SIGN_OFF
        done = await pipeline.execute(sign, view)
        assert done.outcome.ok and done.outcome.message == "Security signed off by alice"
        record = signoffs_in(kube)["Security"]
        assert record["by"] == "alice" and record["note"] == "pen test closed, SEC-112"
        signed_at = datetime.fromisoformat(record["at"].replace("Z", "+00:00"))
        assert abs(datetime.now(timezone.utc) - signed_at) < timedelta(seconds=10)
        (patch,) = kube.patches("maestro-cutover")
        assert patch.body["metadata"] == {"resourceVersion": first}
        assert set(patch.body["data"]) == {"signoffs"}  # nothing else in the ConfigMap

        # Every control room watching sees it, and the board passes the line.
        view = await current_view(
            config,
            seen,
            lambda v: v.gates is not None and v.gates.signoffs.of("Security") is not None,
            "the sign-off in the room",
        )
        shown = board(view)["Sign-off/security"]
        assert (shown.state, shown.value) == (CheckState.PASS, "signed by alice")
        update = seen.latest(SignoffsUpdate)
        assert update is not None and update.signoffs.version == str(
            kube.get(CONFIGMAPS, NS, "maestro-cutover")["metadata"]["resourceVersion"]
        )

        withdraw = plan_sign_off(view, "Security", "bob", note="SEC-112 reopened")
        assert withdraw.kind is ActionKind.WITHDRAW_SIGNOFF
        done = await pipeline.execute(withdraw, view)
        assert done.outcome.ok and done.outcome.message == "Security sign-off withdrawn (was alice)"
        assert signoffs_in(kube) == {}

    report = read_journal(journal_path)
    assert report.result.ok, report.result.why
    bodies = [body for _, body in report.entries]
    assert all(isinstance(body, dict) for body in bodies)
    assert [(b["kind"], b["action"], b["target"]) for b in bodies if isinstance(b, dict)] == [
        ("intent", "sign off", "Security"),
        ("result", "sign off", "Security"),
        ("intent", "withdraw sign-off", "Security"),
        ("result", "withdraw sign-off", "Security"),
    ]
    results = [b["result"] for b in bodies if isinstance(b, dict) and b["kind"] == "result"]
    assert results == [
        {"ok": True, "message": "Security signed off by alice"},
        {"ok": True, "message": "Security sign-off withdrawn (was alice)"},
    ]


async def test_a_signoff_on_a_configmap_changed_since_shown_writes_nothing(
    kube: FakeKube, tmp_path: Path
) -> None:
    first = seed_configmap(kube)
    config = kube_config(kube, tmp_path)
    source, effector = build_kubernetes(config, tuning=FAST)
    journal_path = tmp_path / "audit.jsonl"
    pipeline = ActionPipeline(effector, read_only=False, journal=AuditJournal(journal_path))
    async with watching(source) as seen:
        view = await signoffs_known(config, seen, first)
        sign = plan_sign_off(view, "SRE", "alice", note="runbooks reviewed")
        # Another control room signs first; this one has not heard of it yet.
        elsewhere = '{"SRE": {"by": "carol", "at": "2026-12-01T08:00:00Z", "note": ""}}'
        kube.modify(
            CONFIGMAPS, NS, "maestro-cutover", lambda o: o["data"].update(signoffs=elsewhere)
        )
        with pytest.raises(TargetChanged, match=r"^changed since you looked: maestro-system/"):
            await pipeline.execute(sign, view)
    assert kube.patches() == []
    assert signoffs_in(kube)["SRE"]["by"] == "carol"
    report = read_journal(journal_path)
    assert report.result.ok
    bodies = [body for _, body in report.entries if isinstance(body, dict)]
    assert [b["kind"] for b in bodies] == ["intent", "result"]
    assert bodies[1]["result"]["error"].startswith("target changed: changed since you looked")
