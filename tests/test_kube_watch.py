"""The Kubernetes source where a real API server answers with errors: an HTTP 410 on a
watch, a denied list, one forbidden namespace among several, a cluster without Argo
Rollouts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro_control_room.cutover.rollouts import RolloutPhase
from maestro_control_room.cutover.updates import HealthState, SourceHealth
from maestro_control_room.sources.rollouts import build_kubernetes
from tests.kube_fake import ROLLOUTS, FakeKube, canary_rollout
from tests.kube_harness import FAST, Delivered, kube_config, seed_configmap, until, watching

NS, RUNNERS = "maestro-system", "maestro-runners"
API = f"{NS}/maestro-api"


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    fake = FakeKube(expired_as="status")
    fake.start()
    try:
        fake.put(ROLLOUTS, canary_rollout("maestro-api"))
        fake.put(ROLLOUTS, canary_rollout("executor-controller", RUNNERS))
        seed_configmap(fake)
        yield fake
    finally:
        fake.stop()


def _reason(seen: Delivered) -> str:
    health = seen.latest(SourceHealth)
    return health.reason if health is not None and health.state is HealthState.ERROR else ""


def _lists(kube: FakeKube, namespace: str) -> int:
    path = f"/apis/argoproj.io/v1alpha1/namespaces/{namespace}/rollouts"
    return sum(1 for r in kube.requests if r.path == path and "watch" not in r.query)


async def test_a_watch_refused_with_http_410_lists_again(kube: FakeKube, tmp_path: Path) -> None:
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        await until(lambda: seen.rollout(API), what="the rollouts")
        with kube._cond:  # a change and a compaction at once: the watch's version is gone
            kube.reconcile(NS, "maestro-api")
            kube.compact()
        moved = await until(
            lambda: (r := seen.rollout(API)) and r.step == 1 and r, what="the change, listed"
        )
        assert moved.weight == 10
        assert _lists(kube, NS) >= 2
        refused = [r for r in kube.requests if r.status == 410]
        assert refused and all(r.query.get("watch") == "true" for r in refused)


async def test_a_denied_list_names_the_verb_and_the_resource(
    kube: FakeKube, tmp_path: Path
) -> None:
    kube.forbid("list", "rollouts", RUNNERS)
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        reason = await until(lambda: _reason(seen), what="the error")
        assert reason == f"forbidden: list rollouts.argoproj.io in {RUNNERS}"


async def test_one_forbidden_namespace_leaves_the_others_on_the_board(
    kube: FakeKube, tmp_path: Path
) -> None:
    kube.forbid("list", "rollouts", RUNNERS)
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        await until(lambda: seen.rollout(API), what="the allowed namespace")
        rows = {r.key: r for r in seen.rollouts_latest()}
        assert set(rows) == {API, f"{RUNNERS}/—"}
        error = rows[f"{RUNNERS}/—"]
        assert error.message == f"forbidden: list rollouts.argoproj.io in {RUNNERS}"
        assert error.phase is RolloutPhase.DEGRADED
        assert not error.can_promote and not error.can_abort  # shown, never acted on
        kube.allow("list", "rollouts", RUNNERS)
        await until(
            lambda: (
                {r.key for r in seen.rollouts_latest()} == {API, f"{RUNNERS}/executor-controller"}
            ),
            what="the namespace, once allowed",
        )


async def test_a_cluster_without_argo_rollouts_says_so(kube: FakeKube, tmp_path: Path) -> None:
    kube.uninstall(ROLLOUTS)
    source, _ = build_kubernetes(kube_config(kube, tmp_path), tuning=FAST)
    async with watching(source) as seen:
        reason = await until(lambda: _reason(seen), what="the error")
        assert reason.startswith("Argo Rollouts (argoproj.io/v1alpha1 rollouts) is not installed")


async def test_an_action_on_a_cluster_without_argo_rollouts_says_so(
    kube: FakeKube, tmp_path: Path
) -> None:
    from maestro_control_room.cutover.actions import ActionKind, ActionPlan

    kube.uninstall(ROLLOUTS)
    _, effector = build_kubernetes(kube_config(kube, tmp_path))
    plan = ActionPlan(ActionKind.ABORT_ROLLOUT, API, (), "alice", seen_versions={API: ""})
    with pytest.raises(LookupError, match=r"Argo Rollouts \(argoproj.io/v1alpha1 rollouts\)"):
        await effector.apply(plan)
