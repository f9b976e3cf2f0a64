"""The Kubernetes effector against the fake API server: the plugin's patches, the version
precondition, freeze and unfreeze, wave moves, and forbidden verbs."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any, cast

import pytest

from maestro_control_room.cutover.actions import (
    ActionKind,
    ActionOutcome,
    ActionPlan,
    Change,
    TargetChanged,
)
from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.permissions import ActionForbidden
from maestro_control_room.cutover.rollouts import RolloutPhase
from maestro_control_room.sources.rollouts import build_kubernetes
from tests.kube_fake import CONFIGMAPS, ROLLOUTS, FakeKube, Served, canary_rollout
from tests.kube_harness import FAST, kube_config, running_fake, seed_configmap, until, watching

NS = "maestro-system"
API = f"{NS}/maestro-api"


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with running_fake() as fake:
        yield fake


@pytest.fixture
def config(kube: FakeKube, tmp_path: Path) -> Config:
    return kube_config(kube, tmp_path)


def version(
    kube: FakeKube, resource: str = ROLLOUTS, ns: str = NS, name: str = "maestro-api"
) -> str:
    return str(kube.get(resource, ns, name)["metadata"]["resourceVersion"])


def plan(
    kind: ActionKind, target: str, seen: dict[str, str], *changes: Change, reason: str = ""
) -> ActionPlan:
    return ActionPlan(kind, target, changes, "alice", reason=reason, seen_versions=seen)


def with_status(**status: Any) -> dict[str, Any]:
    obj = canary_rollout("maestro-api")
    obj["status"].update(status)
    return obj


@pytest.mark.parametrize(
    ("case", "sent"),
    [
        (
            "spec paused",
            [("/status", {"status": {"pauseConditions": None}}), ("", {"spec": {"paused": False}})],
        ),
        ("pause conditions", [("/status", {"status": {"pauseConditions": None}})]),
        (
            "inconclusive analysis",
            [
                (
                    "/status",
                    {
                        "status": {
                            "pauseConditions": None,
                            "controllerPause": False,
                            "currentStepIndex": 5,
                        }
                    },
                )
            ],
        ),
        ("full", [("/status", {"status": {"promoteFull": True}})]),
    ],
)
async def test_promote_sends_the_plugins_patch_to_the_right_endpoint(
    kube: FakeKube, config: Config, case: str, sent: list[tuple[str, dict[str, Any]]]
) -> None:
    paused = [{"reason": "CanaryPauseStep"}]
    objects = {
        "spec paused": with_status(currentStepIndex=3, pauseConditions=paused),
        "pause conditions": with_status(
            currentStepIndex=3, pauseConditions=paused, controllerPause=True
        ),
        "inconclusive analysis": with_status(
            currentStepIndex=4,
            controllerPause=True,
            pauseConditions=[{"reason": "InconclusiveAnalysis"}],
            canary={"currentStepAnalysisRunStatus": {"name": "r", "status": "Inconclusive"}},
        ),
        "full": with_status(currentStepIndex=3),
    }
    obj = objects[case]
    if case == "spec paused":
        obj["spec"]["paused"] = True
    kube.put(ROLLOUTS, obj)
    seen = version(kube)
    _, effector = build_kubernetes(config)
    if case == "full":
        outcome = await effector.promote_full(API, seen)
    else:
        outcome = await effector.apply(plan(ActionKind.PROMOTE_ROLLOUT, API, {API: seen}))
    assert outcome.ok, outcome.message
    patches = kube.patches("maestro-api")
    path = f"/apis/argoproj.io/v1alpha1/namespaces/{NS}/rollouts/maestro-api"
    assert [(r.path, r.body) for r in patches] == [
        (path + suffix, {**body, "metadata": {"resourceVersion": version}})
        for (suffix, body), version in zip(
            sent, [seen, *[r.written for r in patches][:-1]], strict=True
        )
    ]
    assert {r.content_type for r in patches} == {"application/merge-patch+json"}
    assert {r.query.get("fieldManager") for r in patches} == {"maestro-control-room"}


async def test_abort_pause_and_retry_send_the_plugins_patches(
    kube: FakeKube, config: Config
) -> None:
    kube.put(ROLLOUTS, with_status(currentStepIndex=3))
    _, effector = build_kubernetes(config)
    await effector.apply(plan(ActionKind.ABORT_ROLLOUT, API, {API: version(kube)}))
    kube.reconcile(NS, "maestro-api")
    assert kube.get(ROLLOUTS, NS, "maestro-api")["status"]["phase"] == "Degraded"
    await effector.retry(API, version(kube))
    await effector.pause(API, version(kube))
    sent = [(r.path.endswith("/status"), r.body) for r in kube.patches("maestro-api")]
    assert [
        (status, {k: v for k, v in body.items() if k != "metadata"}) for status, body in sent
    ] == [
        (True, {"status": {"abort": True}}),
        (True, {"status": {"abort": False}}),
        (False, {"spec": {"paused": True}}),
    ]


async def test_two_control_rooms_promote_at_once_and_exactly_one_wins(
    kube: FakeKube, config: Config
) -> None:
    kube.put(ROLLOUTS, canary_rollout("maestro-api"))
    seed_configmap(kube)
    kube.settle(NS, "maestro-api")  # at the 2m pause step, waiting
    seen = version(kube)
    loser_source, first = build_kubernetes(config, tuning=FAST)
    _, second = build_kubernetes(config)
    async with watching(loser_source) as room:
        await until(lambda: (r := room.rollout(API)) and r.version == seen, what="the view")
        both = plan(ActionKind.PROMOTE_ROLLOUT, API, {API: seen})
        results = await asyncio.gather(
            first.apply(both), second.apply(both), return_exceptions=True
        )
        won = [r for r in results if isinstance(r, ActionOutcome) and r.ok]
        lost = [r for r in results if isinstance(r, TargetChanged)]
        assert len(won) == 1 and len(lost) == 1, results
        assert str(lost[0]).startswith("changed since you looked")
        accepted = [r for r in kube.patches("maestro-api") if r.status == 200]
        assert len(accepted) == 1
        # The loser's room then shows the new state.
        now = version(kube)
        shown = await until(
            lambda: (r := room.rollout(API)) and r.version == now and r, what="the new state"
        )
        assert shown.pause_reason == "" and shown.phase is RolloutPhase.PROGRESSING


async def test_a_stale_view_is_refused_before_anything_is_sent(
    kube: FakeKube, config: Config
) -> None:
    kube.put(ROLLOUTS, canary_rollout("maestro-api"))
    seen = version(kube)
    kube.reconcile(NS, "maestro-api")  # the controller moved on
    _, effector = build_kubernetes(config)
    with pytest.raises(TargetChanged, match="changed since you looked: maestro-system/maestro-api"):
        await effector.apply(plan(ActionKind.ABORT_ROLLOUT, API, {API: seen}))
    assert kube.patches() == []


async def test_freeze_then_unfreeze_resumes_only_what_the_freeze_paused(
    kube: FakeKube, config: Config
) -> None:
    for name, ns in (
        ("maestro-api", NS),
        ("maestro-scheduler", NS),
        ("executor-controller", "maestro-runners"),
    ):
        kube.put(ROLLOUTS, canary_rollout(name, ns))
    kube.modify(ROLLOUTS, NS, "maestro-scheduler", lambda o: o["spec"].update(paused=True))
    seen = seed_configmap(kube)
    _, effector = build_kubernetes(config)
    moving = [API, "maestro-runners/executor-controller"]
    freeze = plan(
        ActionKind.FREEZE,
        "cutover",
        {"freeze": seen},
        Change("cutover", "frozen", "false", "true"),
        *(Change(key, "paused", "false", "true") for key in moving),
        reason="registry brownout",
    )
    outcome = await effector.apply(freeze)
    assert outcome.ok
    data = kube.get(CONFIGMAPS, NS, "maestro-cutover")["data"]
    assert data["frozen"] == "true" and data["frozen_by"] == "alice"
    assert data["freeze_reason"] == "registry brownout" and data["frozen_at"]
    assert json.loads(data["paused_by_freeze"]) == sorted(moving)
    for name, ns in (("maestro-api", NS), ("executor-controller", "maestro-runners")):
        assert kube.get(ROLLOUTS, ns, name)["spec"]["paused"] is True
    freeze_patch = next(r for r in kube.patches("maestro-cutover"))
    assert freeze_patch.body["metadata"] == {"resourceVersion": seen}

    unfreeze = plan(
        ActionKind.UNFREEZE,
        "cutover",
        {"freeze": version(kube, CONFIGMAPS, name="maestro-cutover")},
    )
    outcome = await effector.apply(unfreeze)
    assert outcome.ok and "resumed 2" in outcome.message
    assert kube.get(ROLLOUTS, NS, "maestro-api")["spec"]["paused"] is False
    assert kube.get(ROLLOUTS, "maestro-runners", "executor-controller")["spec"]["paused"] is False
    assert kube.get(ROLLOUTS, NS, "maestro-scheduler")["spec"]["paused"] is True  # not ours
    data = kube.get(CONFIGMAPS, NS, "maestro-cutover")["data"]
    assert data["frozen"] == "false" and data["paused_by_freeze"] == "[]"


async def test_a_freeze_from_a_stale_view_changes_nothing(kube: FakeKube, config: Config) -> None:
    seen = seed_configmap(kube)
    kube.modify(CONFIGMAPS, NS, "maestro-cutover", lambda o: o["data"].update(waves="{}"))
    _, effector = build_kubernetes(config)
    with pytest.raises(TargetChanged):
        await effector.apply(plan(ActionKind.FREEZE, "cutover", {"freeze": seen}))
    assert kube.patches() == []


async def test_a_wave_moves_on_with_the_version_precondition(
    kube: FakeKube, config: Config
) -> None:
    seen = seed_configmap(kube, waves='{"Wave-1": {"state": "canary", "since": "", "by": ""}}')
    _, effector = build_kubernetes(config)
    outcome = await effector.apply(plan(ActionKind.PROMOTE_WAVE, "Wave-1", {"Wave-1": seen}))
    assert outcome.ok and outcome.changes == (Change("Wave-1", "state", "canary", "active"),)
    waves = json.loads(kube.get(CONFIGMAPS, NS, "maestro-cutover")["data"]["waves"])
    assert waves["Wave-1"]["state"] == "active" and waves["Wave-1"]["by"] == "alice"
    (sent,) = kube.patches("maestro-cutover")
    assert sent.body["metadata"] == {"resourceVersion": seen}
    with pytest.raises(TargetChanged):  # the same view again: the ConfigMap moved on
        await effector.apply(plan(ActionKind.ROLL_BACK_WAVE, "Wave-1", {"Wave-1": seen}))
    now = version(kube, CONFIGMAPS, name="maestro-cutover")
    await effector.apply(plan(ActionKind.ROLL_BACK_WAVE, "Wave-1", {"Wave-1": now}))
    waves = json.loads(kube.get(CONFIGMAPS, NS, "maestro-cutover")["data"]["waves"])
    assert waves["Wave-1"]["state"] == "rolled-back"


async def test_a_403_at_action_time_is_reported_and_never_retried(
    kube: FakeKube, config: Config
) -> None:
    kube.put(ROLLOUTS, canary_rollout("maestro-api"))
    kube.forbid("patch", "rollouts/status", NS)
    _, effector = build_kubernetes(config)
    with pytest.raises(
        ActionForbidden, match=r"^forbidden: patch rollouts/status in maestro-system$"
    ):
        await effector.apply(plan(ActionKind.ABORT_ROLLOUT, API, {API: version(kube)}))
    assert len(kube.patches()) == 1


# ---- the plugin's behaviour where the control room once differed -------------------------


async def test_promote_full_on_a_rollout_paused_by_hand_also_unpauses_so_it_moves(
    kube: FakeKube, config: Config
) -> None:
    obj = with_status(currentStepIndex=3)
    obj["spec"]["paused"] = True
    kube.put(ROLLOUTS, obj)
    _, effector = build_kubernetes(config)
    outcome = await effector.promote_full(API, version(kube))
    assert outcome.ok, outcome.message
    kube.settle(NS, "maestro-api")
    after = kube.get(ROLLOUTS, NS, "maestro-api")
    assert after["spec"]["paused"] is False
    assert after["status"]["phase"] == "Healthy", after["status"]


async def test_promote_on_a_canary_paused_by_hand_skips_its_step_as_the_plugin_does(
    kube: FakeKube, config: Config
) -> None:
    obj = with_status(currentStepIndex=4)  # at the analysis step, no pause conditions
    obj["spec"]["paused"] = True
    kube.put(ROLLOUTS, obj)
    _, effector = build_kubernetes(config)
    outcome = await effector.apply(plan(ActionKind.PROMOTE_ROLLOUT, API, {API: version(kube)}))
    assert outcome.ok, outcome.message
    after = kube.get(ROLLOUTS, NS, "maestro-api")
    assert after["spec"]["paused"] is False and after["status"]["currentStepIndex"] == 5


async def test_a_rollouts_crd_without_the_status_subresource_takes_the_patch_on_the_resource(
    kube: FakeKube, config: Config
) -> None:
    kube.install(Served("argoproj.io", "v1alpha1", ROLLOUTS, "Rollout", status_subresource=False))
    kube.put(ROLLOUTS, with_status(currentStepIndex=3))
    _, effector = build_kubernetes(config)
    outcome = await effector.apply(plan(ActionKind.ABORT_ROLLOUT, API, {API: version(kube)}))
    assert outcome.ok, outcome.message
    assert kube.get(ROLLOUTS, NS, "maestro-api")["status"]["abort"] is True
    assert [(r.path.endswith("/status"), r.status) for r in kube.patches("maestro-api")] == [
        (True, 404),
        (False, 200),
    ]


class _NotYetKnown(str, Enum):
    RESTART = "restart rollout"


async def test_an_action_kind_the_effector_does_not_know_is_refused_not_aborted(
    kube: FakeKube, config: Config
) -> None:
    kube.put(ROLLOUTS, with_status(currentStepIndex=3))
    _, effector = build_kubernetes(config)
    unknown = dataclasses.replace(
        plan(ActionKind.ABORT_ROLLOUT, API, {API: version(kube)}),
        kind=cast(ActionKind, _NotYetKnown.RESTART),
    )
    outcome = await effector.apply(unknown)
    assert not outcome.ok and "not an action" in outcome.message
    assert kube.patches() == []


async def test_every_write_names_the_control_room_as_its_field_manager(
    kube: FakeKube, config: Config
) -> None:
    kube.put(ROLLOUTS, with_status(currentStepIndex=3))
    seen = seed_configmap(kube)
    _, effector = build_kubernetes(config)
    await effector.apply(
        plan(ActionKind.FREEZE, "cutover", {"freeze": seen}, Change(API, "paused", "false", "true"))
    )
    await effector.apply(plan(ActionKind.ABORT_ROLLOUT, API, {API: version(kube)}))
    writes = kube.patches()
    assert len(writes) == 4  # the freeze, the pause, the freeze's record, the abort
    assert {r.query.get("fieldManager") for r in writes} == {"maestro-control-room"}
    managers = kube.get(ROLLOUTS, NS, "maestro-api")["metadata"]["managedFields"]
    assert {(m["manager"], m.get("subresource", "")) for m in managers} == {
        ("maestro-control-room", ""),
        ("maestro-control-room", "status"),
    }


async def test_the_freezes_record_is_derived_again_after_a_conflict(
    kube: FakeKube, config: Config
) -> None:
    """An unfreeze that lands while the freeze pauses: the record is not written into the
    unfrozen ConfigMap (where no unfreeze would ever read it), and the operator is told."""
    kube.put(ROLLOUTS, with_status(currentStepIndex=3))
    seen = seed_configmap(kube)
    _, effector = build_kubernetes(config)
    pause = effector._set_paused

    def unfrozen_meanwhile(key: str, paused: bool) -> bool:
        kube.modify(CONFIGMAPS, NS, "maestro-cutover", lambda o: o["data"].update(frozen="false"))
        return pause(key, paused)

    effector._set_paused = unfrozen_meanwhile  # type: ignore[method-assign]
    freeze = plan(
        ActionKind.FREEZE, "cutover", {"freeze": seen}, Change(API, "paused", "false", "true")
    )
    with pytest.raises(TargetChanged, match=f"still paused: {API}"):
        await effector.apply(freeze)
    data = kube.get(CONFIGMAPS, NS, "maestro-cutover")["data"]
    assert data["frozen"] == "false" and data["paused_by_freeze"] == "[]"


async def test_the_freezes_record_keeps_a_wave_move_that_came_in_between(
    kube: FakeKube, config: Config
) -> None:
    kube.put(ROLLOUTS, with_status(currentStepIndex=3))
    seen = seed_configmap(kube)
    _, effector = build_kubernetes(config)
    pause = effector._set_paused
    waves = '{"Wave-1": {"state": "active", "since": "", "by": "bob"}}'

    def wave_moved_meanwhile(key: str, paused: bool) -> bool:
        kube.modify(CONFIGMAPS, NS, "maestro-cutover", lambda o: o["data"].update(waves=waves))
        return pause(key, paused)

    effector._set_paused = wave_moved_meanwhile  # type: ignore[method-assign]
    freeze = plan(
        ActionKind.FREEZE, "cutover", {"freeze": seen}, Change(API, "paused", "false", "true")
    )
    assert (await effector.apply(freeze)).ok
    data = kube.get(CONFIGMAPS, NS, "maestro-cutover")["data"]
    assert data["waves"] == waves and json.loads(data["paused_by_freeze"]) == [API]


async def test_the_access_reviews_name_the_configmap_the_actions_patch(
    kube: FakeKube, config: Config
) -> None:
    """A Role with `resourceNames` allows only a review that names the object."""
    _, effector = build_kubernetes(config)
    await asyncio.to_thread(effector.review_access)
    reviews = [
        r.body["spec"]["resourceAttributes"]
        for r in kube.requests
        if r.path.endswith("/selfsubjectaccessreviews")
    ]
    named = {(a["resource"], a.get("subresource"), a["namespace"], a.get("name")) for a in reviews}
    assert named == {
        ("configmaps", None, NS, "maestro-cutover"),
        ("rollouts", None, NS, None),
        ("rollouts", "status", NS, None),
        ("rollouts", None, "maestro-runners", None),
        ("rollouts", "status", "maestro-runners", None),
    }
