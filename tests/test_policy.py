"""The policy before confirmation: read-only first, then the plan, then the cluster's RBAC;
each refusal worded for a toast, the frozen one naming the unfreeze key as mapped."""

from __future__ import annotations

from maestro_control_room.cutover.actions import (
    ActionOutcome,
    ActionPlan,
    plan_freeze,
    plan_promote_rollout,
    plan_promote_wave,
)
from maestro_control_room.cutover.permissions import AccessCheck, Permissions
from maestro_control_room.cutover.pipeline import ActionPipeline
from maestro_control_room.cutover.policy import Refusal, vet
from maestro_control_room.cutover.room import ControlRoom, RoomView
from maestro_control_room.cutover.updates import PermissionsUpdate
from tests.test_actions import NOW, calm_room, frozen

API = "maestro-system/maestro-api"


class Nothing:
    """An effector never reached: the policy only plans."""

    name = "nothing"

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        raise AssertionError("the policy never carries anything out")


def pipeline(*, read_only: bool = False) -> ActionPipeline:
    return ActionPipeline(Nothing(), read_only=read_only)


def forbidding(room: ControlRoom, *checks: tuple[str, str]) -> RoomView:
    """`room` as seen by an operator the cluster refuses (verb, resource) in its namespace."""
    permissions = Permissions(
        checks=tuple(
            AccessCheck(verb, resource, "maestro-system", False, "RBAC: no rule")
            for verb, resource in checks
        ),
        rollout_namespaces=("maestro-system",),
        configmap_namespace="maestro-system",
    )
    room.apply(PermissionsUpdate("kubernetes", permissions, NOW))
    return room.evaluate(NOW)


def test_a_plan_that_may_go_ahead_is_offered_for_confirmation() -> None:
    view = calm_room().evaluate(NOW)
    plan = vet(lambda v: plan_freeze(v, "alice", "drill"), view, pipeline(), unfreeze_key="u")
    assert isinstance(plan, ActionPlan) and plan.title.startswith("Freeze")


def test_read_only_refuses_before_anything_is_planned() -> None:
    planned: list[RoomView] = []

    def planner(view: RoomView) -> ActionPlan:
        planned.append(view)
        return plan_freeze(view, "alice", "drill")

    view = calm_room().evaluate(NOW)
    refusal = vet(planner, view, pipeline(read_only=True), unfreeze_key="u")
    assert refusal == Refusal("refused: read-only mode", "Read-only")
    assert planned == []
    said = vet(planner, None, pipeline(read_only=True), unfreeze_key="u", read_only_refusal="no")
    assert said == Refusal("no", "Read-only")
    assert vet(planner, None, pipeline(), unfreeze_key="u") is None  # nothing to plan from


def test_frozen_names_the_unfreeze_key_as_mapped() -> None:
    view = frozen(calm_room()).evaluate(NOW)
    refusal = vet(lambda v: plan_promote_wave(v, "Wave-2", "alice"), view, pipeline(),
                  unfreeze_key="U")  # fmt: skip
    assert isinstance(refusal, Refusal) and refusal.title == "Frozen"
    assert refusal.message.endswith("Unfreeze: U.") and refusal.severity == "error"


def test_who_may_not_unfreeze_is_not_sent_to_unfreeze() -> None:
    view = forbidding(frozen(calm_room()), ("patch", "rollouts"))
    refusal = vet(lambda v: plan_promote_wave(v, "Wave-2", "alice"), view, pipeline(),
                  unfreeze_key="u")  # fmt: skip
    assert isinstance(refusal, Refusal)
    assert refusal.message.endswith("You may not unfreeze: an operator who may lifts it.")


def test_what_rbac_forbids_is_refused_before_the_confirmation() -> None:
    view = forbidding(calm_room(), ("patch", "rollouts/status"))
    refusal = vet(lambda v: plan_promote_rollout(v, API, "alice"), view, pipeline(),
                  unfreeze_key="u")  # fmt: skip
    assert isinstance(refusal, Refusal) and refusal.severity == "error"
    assert refusal.title.endswith(": not permitted")
    assert refusal.message == "forbidden: patch rollouts/status in maestro-system (RBAC: no rule)"
