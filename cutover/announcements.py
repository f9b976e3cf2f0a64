"""What an announcement says about a carried-out action, in one line a human reads."""

from __future__ import annotations

from .actions import ActionKind, Change
from .pipeline import Executed

_VERBS = {
    ActionKind.FREEZE: "froze",
    ActionKind.UNFREEZE: "unfroze",
    ActionKind.PROMOTE_WAVE: "promoted",
    ActionKind.ROLL_BACK_WAVE: "rolled back",
    ActionKind.PROMOTE_ROLLOUT: "promoted rollout",
    ActionKind.ABORT_ROLLOUT: "aborted rollout",
}


def announcement_text(executed: Executed) -> str:
    """For example "alice froze the cutover: registry brownout (2 rollouts paused)"."""
    plan = executed.plan
    who = plan.operator or "someone"
    changes = executed.outcome.changes or plan.changes
    target = "the cutover" if plan.target == "cutover" else plan.target
    text = f"{who} {_VERBS.get(plan.kind, plan.kind.value)} {target}"
    if plan.kind is ActionKind.FREEZE and plan.reason:
        text += f": {plan.reason}"
    detail = _detail(plan.kind, plan.target, changes)
    if detail:
        text += f" ({detail})"
    if executed.override:
        text += f" [override: {executed.override}]"
    if not executed.outcome.ok:
        text += f" FAILED: {executed.outcome.message}"
    return text


def _detail(kind: ActionKind, target: str, changes: tuple[Change, ...]) -> str:
    if kind in (ActionKind.FREEZE, ActionKind.UNFREEZE):
        count = sum(1 for change in changes if change.field == "paused")
        verb = "paused" if kind is ActionKind.FREEZE else "resumed"
        return f"{count} rollout{'' if count == 1 else 's'} {verb}"
    own = [change for change in changes if change.target == target]
    return ", ".join(f"{c.field} {c.before} → {c.after}" for c in own)
