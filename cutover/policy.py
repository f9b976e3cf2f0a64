"""The policy before confirmation: what may even be offered for confirming, beside the
pipeline (cutover/pipeline.py) that decides again, on live data, what is carried out.

An action is proposed from what the operator sees: read-only refuses first (whatever was
selected), then the plan is made, and what the cluster's RBAC forbids is refused before the
confirmation is opened. Each refusal comes back as a `Refusal` to show, never raised past
here. A new way to propose an action (a key, the palette, a screen) calls `vet` and shows
its refusal; it never checks read-only or permissions itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from .actions import ActionKind, ActionPlan, ActionUnavailable, FrozenRefusal, SignoffRefused
from .permissions import action_permitted
from .pipeline import ActionPipeline, ActionRefused
from .room import RoomView


@dataclass(frozen=True)
class Refusal:
    """Why a proposal goes no further, in the words of a toast."""

    message: str
    title: str = ""
    severity: Literal["warning", "error"] = "warning"


def vet(
    planner: Callable[[RoomView], ActionPlan],
    view: RoomView | None,
    pipeline: ActionPipeline,
    *,
    unfreeze_key: str,
    read_only_refusal: str = "",
) -> ActionPlan | Refusal | None:
    """The plan to confirm, or why not; None when there is nothing to plan from yet (no
    view). `unfreeze_key` is the unfreeze key as mapped, for the frozen refusal to name;
    `read_only_refusal` words the read-only refusal when the pipeline's reason will not do
    (a replay's)."""
    try:
        pipeline.refuse_if_read_only()
    except ActionRefused as refusal:
        return Refusal(read_only_refusal or str(refusal), "Read-only")
    if view is None:
        return None
    try:
        plan = planner(view)
    except SignoffRefused as refusal:
        return Refusal(str(refusal), "Not yours to sign", "error")
    except FrozenRefusal as refusal:
        # Who may not make the move at all is told so, not sent to unfreeze first.
        permitted, why = action_permitted(refusal.kind, view.permissions)
        if not permitted:
            return Refusal(why, f"{refusal.kind.value}: not permitted", "error")
        may_unfreeze, _ = action_permitted(ActionKind.UNFREEZE, view.permissions)
        way_on = (
            f"Unfreeze: {unfreeze_key}."
            if may_unfreeze
            else "You may not unfreeze: an operator who may lifts it."
        )
        return Refusal(f"{refusal} {way_on}", "Frozen", "error")
    except ActionUnavailable as reason:
        return Refusal(str(reason))
    permitted, why = action_permitted(plan.kind, view.permissions, plan.target)
    if not permitted:
        return Refusal(why, f"{plan.title}: not permitted", "error")
    return plan
