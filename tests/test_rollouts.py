"""The Kubernetes source against the fake API server, through the real client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro_control_room.cutover.actions import ActionKind
from maestro_control_room.cutover.permissions import action_permitted
from maestro_control_room.cutover.rollouts import RolloutPhase
from maestro_control_room.cutover.updates import (
    FreezeUpdate,
    HealthState,
    PermissionsUpdate,
    SourceHealth,
    WavesUpdate,
)
from maestro_control_room.cutover.waves import WaveState
from maestro_control_room.sources.kubeconfig import KubernetesConfigError, api_client
from maestro_control_room.sources.rollouts import build_kubernetes
from tests.kube_fake import ROLLOUTS, FakeKube, canary_rollout
from tests.kube_harness import FAST, kube_config, running_fake, seed_configmap, until, watching

API = "maestro-system/maestro-api"


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with running_fake() as fake:
        fake.put(ROLLOUTS, canary_rollout("maestro-api"))
        fake.put(ROLLOUTS, canary_rollout("executor-controller", "maestro-runners"))
        fake.put(ROLLOUTS, canary_rollout("unrelated", labels={"app": "other"}))
        yield fake


async def test_lists_then_watches_rollouts_and_the_cutover_configmap(
    kube: FakeKube, tmp_path: Path
) -> None:
    waves = '{"Wave-1": {"state": "active", "since": "2026-12-01T08:00:00Z", "by": "bob"}}'
    version = seed_configmap(
        kube, frozen="true", frozen_by="alice", freeze_reason="brownout", waves=waves
    )
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        update = await until(lambda: seen.rollout(API), what="the rollouts")
        assert update.phase is RolloutPhase.PROGRESSING  # not yet observed by the controller
        keys = {r.key for r in seen.rollouts_latest()}
        assert keys == {API, "maestro-runners/executor-controller"}  # the selector holds
        freeze = await until(lambda: seen.latest(FreezeUpdate), what="the freeze")
        assert freeze.state.frozen and freeze.state.by == "alice"
        assert freeze.state.version == version
        waves_update = await until(lambda: seen.latest(WavesUpdate), what="the waves")
        (wave,) = waves_update.statuses
        assert (wave.wave, wave.state, wave.version) == ("Wave-1", WaveState.ACTIVE, version)
        assert waves_update.repo_states == {} and waves_update.shadow_pass == {}
        await until(lambda: _health(seen) is HealthState.CONNECTED, what="connected")

        kube.settle("maestro-system", "maestro-api")  # setWeight 10, then the 2m pause
        paused = await until(
            lambda: (r := seen.rollout(API)) and r.phase is RolloutPhase.PAUSED and r,
            what="the pause step",
        )
        assert (paused.step, paused.steps, paused.weight) == (1, 8, 10)
        assert paused.pause_reason == "CanaryPauseStep"
        assert (
            paused.version
            == kube.get(ROLLOUTS, "maestro-system", "maestro-api")["metadata"]["resourceVersion"]
        )


async def test_a_dropped_watch_resumes_from_its_last_version_and_misses_nothing(
    kube: FakeKube, tmp_path: Path
) -> None:
    seed_configmap(kube)
    kube.bookmark_every = 60.0  # no bookmark moves the version on while we look
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        first = await until(lambda: seen.rollout(API), what="the rollouts")
        lists_before = _lists(kube)
        # Cut the connection and keep the watch out while the rollout moves on.
        kube.forbid("watch", "rollouts", "maestro-system")
        kube.drop_watches()
        await until(lambda: "forbidden: watch rollouts" in _reason(seen), what="the error")
        before_changes = kube.resource_version
        kube.reconcile("maestro-system", "maestro-api")  # setWeight 10
        kube.reconcile("maestro-system", "maestro-api")  # the pause
        latest = kube.get(ROLLOUTS, "maestro-system", "maestro-api")["metadata"]["resourceVersion"]
        kube.allow("watch", "rollouts", "maestro-system")
        now = await until(
            lambda: (r := seen.rollout(API)) and r.version == latest and r, what="the resume"
        )
        assert now.phase is RolloutPhase.PAUSED and now.weight == 10
        watches = [
            r
            for r in kube.requests
            if r.query.get("watch") == "true" and r.path.endswith("/maestro-system/rollouts")
        ]
        refused = max(i for i, r in enumerate(watches) if r.status == 403)
        resumed = watches[refused + 1]
        assert resumed.status == 200
        # Resumed from where it was, before both changes: the server replayed them.
        assert int(first.version) <= int(resumed.query["resourceVersion"]) <= before_changes
        assert _lists(kube) == lists_before
        await until(lambda: _health(seen) is HealthState.CONNECTED, what="healthy again")


async def test_a_cut_connection_is_routine_no_error_no_relist(
    kube: FakeKube, tmp_path: Path
) -> None:
    seed_configmap(kube)
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        await until(lambda: kube.open_watches == 5, what="every watch open")
        lists_before = _lists(kube)
        kube.drop_watches()
        kube.settle("maestro-system", "maestro-api")
        latest = kube.get(ROLLOUTS, "maestro-system", "maestro-api")["metadata"]["resourceVersion"]
        await until(lambda: (r := seen.rollout(API)) and r.version == latest, what="the change")
        assert _lists(kube) == lists_before
        assert all(
            u.state is not HealthState.ERROR for u in seen.updates if isinstance(u, SourceHealth)
        )


async def test_a_410_expired_watch_lists_again_then_watches_on(
    kube: FakeKube, tmp_path: Path
) -> None:
    seed_configmap(kube)
    kube.bookmark_every = 60.0
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        await until(lambda: seen.rollout(API), what="the rollouts")
        lists_before = _lists(kube)
        kube.forbid("watch", "rollouts", "maestro-system")
        kube.drop_watches()
        await until(lambda: "forbidden" in _reason(seen), what="the error")
        kube.settle("maestro-system", "maestro-api")
        kube.delete(ROLLOUTS, "maestro-runners", "executor-controller")
        kube.compact()  # the version the watch holds is gone now
        kube.allow("watch", "rollouts", "maestro-system")
        latest = kube.get(ROLLOUTS, "maestro-system", "maestro-api")["metadata"]["resourceVersion"]
        await until(lambda: (r := seen.rollout(API)) and r.version == latest, what="re-listed")
        assert _lists(kube) > lists_before
        expired = [
            r
            for r in kube.requests
            if r.query.get("watch") == "true"
            and int(r.query.get("resourceVersion") or 0) < int(latest)
        ]
        assert expired  # the watch did ask for the old version first
        # The other namespace's watch also expired; its re-list sees the deletion.
        await until(lambda: {r.key for r in seen.rollouts_latest()} == {API}, what="deletion")
        kube.reconcile("maestro-system", "maestro-api")  # and it watches on after the list
        latest = kube.get(ROLLOUTS, "maestro-system", "maestro-api")["metadata"]["resourceVersion"]
        await until(lambda: (r := seen.rollout(API)) and r.version == latest, what="watching on")


async def test_the_current_steps_analysis_run_phase_is_shown(
    kube: FakeKube, tmp_path: Path
) -> None:
    seed_configmap(kube)
    kube.modify(
        ROLLOUTS, "maestro-system", "maestro-api", lambda o: o["status"].update(currentStepIndex=4)
    )
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        await until(lambda: seen.rollout(API), what="the rollouts")
        kube.reconcile("maestro-system", "maestro-api")  # creates the step's AnalysisRun
        await until(lambda: (r := seen.rollout(API)) and r.analysis == "Running", what="Running")
        kube.set_analysis("maestro-system", "maestro-api-canary-4", "Inconclusive")
        await until(
            lambda: (r := seen.rollout(API)) and r.analysis == "Inconclusive", what="Inconclusive"
        )


async def test_permissions_are_reviewed_at_start_and_a_forbidden_verb_says_why(
    kube: FakeKube, tmp_path: Path
) -> None:
    seed_configmap(kube)
    # The docs' operator Role, with two grants taken away from this operator.
    kube.forbid("patch", "rollouts/status", "maestro-system", user="operator")
    kube.forbid("patch", "configmaps", "maestro-system", user="operator")
    source, _ = build_kubernetes(kube_config(kube, tmp_path), context="operator", tuning=FAST)
    async with watching(source) as seen:
        update = await until(lambda: seen.latest(PermissionsUpdate), what="the review")
        permissions = update.permissions
        assert permissions.allowed["patch rollouts in maestro-system"] is True
        assert permissions.allowed["patch rollouts/status in maestro-system"] is False
        ok, reason = action_permitted(ActionKind.ABORT_ROLLOUT, permissions, API)
        assert not ok and reason.startswith("forbidden: patch rollouts/status in maestro-system")
        assert not action_permitted(ActionKind.FREEZE, permissions)[0]
        assert action_permitted(
            ActionKind.PROMOTE_ROLLOUT, permissions, "maestro-runners/executor-controller"
        ) == (True, "")
    reviews = [r for r in kube.requests if r.path.endswith("selfsubjectaccessreviews")]
    assert len(reviews) == 5  # configmaps, and rollouts + rollouts/status in 2 namespaces


async def test_an_unreachable_context_is_an_error_the_room_can_show(
    kube: FakeKube, tmp_path: Path
) -> None:
    config = kube_config(kube, tmp_path)
    source, _ = build_kubernetes(config, context="nowhere", tuning=FAST)
    async with watching(source) as seen:
        await until(lambda: _health(seen) is HealthState.ERROR, what="the error")
        assert "rollouts in maestro-system" in _reason(seen) or _reason(seen)
    with pytest.raises(KubernetesConfigError, match="contexts in the file: operator, viewer"):
        build_kubernetes(config, context="prod-eu1")


def test_no_kubeconfig_outside_a_cluster_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "absent"))
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(KubernetesConfigError, match="not running in a cluster"):
        api_client(None, None)
    with pytest.raises(KubernetesConfigError, match="no kubeconfig"):
        api_client(None, "prod-eu1")


def _health(seen: object) -> HealthState | None:
    update = seen.latest(SourceHealth)  # type: ignore[attr-defined]
    return None if update is None else update.state


def _reason(seen: object) -> str:
    update = seen.latest(SourceHealth)  # type: ignore[attr-defined]
    return "" if update is None else update.reason


def _lists(kube: FakeKube) -> int:
    """The watch streams' lists of rollouts (not a gate check's read across the cluster)."""
    return sum(
        1
        for r in kube.requests
        if r.method == "GET"
        and "/namespaces/" in r.path
        and r.path.endswith("/rollouts")
        and "watch" not in r.query
    )
