"""The plans of the rollback playbook's steps: each one an action through the one pipeline,
confirmed with what it changes named (the routing, each rollout's revision and image, the
alert's labels, the wave and when it may go again)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta

from .actions import ActionKind, ActionPlan, ActionUnavailable, Change, plan_freeze
from .kpis import format_value
from .playbook import STEP_IDS, StepState, step_spec
from .room import RoomView
from .routing import CUTOVER, Route
from .waves import WaveProgress, WaveState, can_roll_back

#: The alert that opens an incident: the plan's Alertmanager route pages on-call on it.
INCIDENT_ALERT = "MaestroCutoverIncident"
#: Step ids to the action each takes.
STEP_KINDS: Mapping[str, ActionKind] = {
    "freeze": ActionKind.FREEZE,
    "re-point": ActionKind.REPOINT,
    "known-good": ActionKind.PROMOTE_KNOWN_GOOD,
    "export-logs": ActionKind.EXPORT_LOGS,
    "incident": ActionKind.OPEN_INCIDENT,
    "exec-update": ActionKind.EXEC_UPDATE,
    "re-cut": ActionKind.RECUT_PLAN,
}
#: The actions that are playbook steps in their own right (a freeze is one only when taken
#: from the playbook, or while a trigger fires: see `step_of`).
STEP_ACTIONS = frozenset(STEP_KINDS.values()) - {ActionKind.FREEZE} | {ActionKind.SKIP_STEP}


def step_of(plan: ActionPlan) -> str:
    """The playbook step a plan takes, or '' when it is not one."""
    if plan.kind is ActionKind.SKIP_STEP:
        return plan.target
    return plan.details.get("step", "")


def wave_in_scope(view: RoomView) -> WaveProgress | None:
    """The wave a rollback is about: the last one in flight (canary or active)."""
    moving = [w for w in view.waves if can_roll_back(w.state)]
    return moving[-1] if moving else None


def _details(step: str, trigger: str, **more: str) -> dict[str, str]:
    return {"step": step, "trigger": trigger, **more}


def plan_step(
    view: RoomView,
    step: str,
    operator: str,
    trigger: str = "",
    *,
    message: str = "",
    note: str = "",
    again_after: timedelta | None = None,
) -> ActionPlan:
    """The action of playbook step `step`, planned from what `view` shows."""
    if step not in STEP_IDS:
        raise ActionUnavailable(f"no playbook step {step}")
    if view.playbook.of(step).state is not StepState.TODO:
        raise ActionUnavailable(f"step {step_spec(step).number} is {view.playbook.of(step).line()}")
    wave = wave_in_scope(view)
    if step == "freeze":
        title = _title(view, trigger)
        plan = plan_freeze(view, operator, f"rollback playbook: {title}" if title else "rollback")
        return _with(plan, _details(step, trigger))
    if step == "re-point":
        return plan_repoint(view, operator, trigger)
    if step == "known-good":
        return plan_known_good(view, operator, trigger)
    if step == "export-logs":
        changes = (Change("logs", "export", "—", ".tar.gz with a sha256 manifest"),)
        return ActionPlan(ActionKind.EXPORT_LOGS, "logs", changes, operator,
                          details=_details(step, trigger))  # fmt: skip
    if step == "incident":
        return plan_incident(view, operator, trigger, wave)
    if step == "exec-update":
        if not message.strip():
            raise ActionUnavailable("the exec update has no message")
        changes = (Change("exec update", "message", "—", f"{len(message)} characters"),)
        return ActionPlan(ActionKind.EXEC_UPDATE, "exec update", changes, operator,
                          reason=message, details=_details(step, trigger))  # fmt: skip
    return plan_recut(view, operator, trigger, note, again_after or view.green_period)


def _with(plan: ActionPlan, details: Mapping[str, str]) -> ActionPlan:
    return replace(plan, details={**plan.details, **details})


def as_step(plan: ActionPlan, view: RoomView, step: str, trigger: str) -> ActionPlan:
    """A plan taken outside the playbook screen (a freeze from the dashboard while a
    trigger fires) that is also the run's step, while that step is still to do."""
    if view.playbook.of(step).state is not StepState.TODO:
        return plan
    return _with(plan, _details(step, trigger))


def _title(view: RoomView, trigger: str) -> str:
    status = next((t for t in view.triggers if t.spec.id == trigger), None)
    return status.spec.title if status is not None else trigger


def plan_repoint(view: RoomView, operator: str, trigger: str = "") -> ActionPlan:
    """Send the builds of the wave in flight (the whole cutover if none is) to legacy."""
    wave = wave_in_scope(view)
    target = wave.wave if wave is not None else CUTOVER
    routing = view.routing
    if target == CUTOVER and routing.cutover is Route.LEGACY:
        raise ActionUnavailable("every build already goes to legacy")
    if target != CUTOVER and routing.of(target) is Route.LEGACY:
        raise ActionUnavailable(f"{target}'s builds already go to legacy")
    after = routing.re_pointed(target, Route.LEGACY, operator, view.now)
    changes = [Change("routing", target, routing.describe(), after.describe())]
    if wave is not None:
        changes.append(
            Change(wave.wave, "builds on Maestro", f"{wave.on_maestro} repos", "0 (on legacy)")
        )
    return ActionPlan(ActionKind.REPOINT, target, tuple(changes), operator,
                      confirm_name=target, details=_details("re-point", trigger))  # fmt: skip


def plan_known_good(view: RoomView, operator: str, trigger: str = "") -> ActionPlan:
    """Each rollout part-way through its canary back to its stable ReplicaSet (the plugin's
    abort): the revision and image it leaves and what it goes back to, named."""
    moving = [r for r in view.rollouts if r.can_abort]
    if not moving:
        raise ActionUnavailable(
            "no rollout is part-way through a canary: each runs its stable revision"
        )
    changes = []
    for rollout in moving:
        leaving = f"revision {rollout.revision or '?'}" + (
            f" ({rollout.image})" if rollout.image else ""
        )
        back = rollout.stable or "the stable ReplicaSet"
        changes.append(Change(rollout.key, "runs", leaving, back))
    return ActionPlan(
        ActionKind.PROMOTE_KNOWN_GOOD,
        f"{len(moving)} rollout(s)",
        tuple(changes),
        operator,
        confirm_name="known-good",
        seen_versions={r.key: r.version for r in moving},
        details=_details("known-good", trigger),
    )


def incident_labels(
    view: RoomView, operator: str, trigger: str, wave: WaveProgress | None
) -> dict[str, str]:
    """The labels of the incident alert: what fired, how bad, where, and who opened it."""
    status = next((t for t in view.triggers if t.spec.id == trigger), None)
    severity = "critical"
    if status is not None and status.spec.alertname:
        alert = next((a for a in view.alerts if a.alertname == status.spec.alertname), None)
        severity = (alert.labels.get("severity") if alert is not None else None) or severity
    return {
        "alertname": INCIDENT_ALERT,
        "trigger": trigger or "none",
        "severity": severity,
        "wave": wave.wave if wave is not None else CUTOVER,
        "operator": operator,
    }


def plan_incident(
    view: RoomView, operator: str, trigger: str, wave: WaveProgress | None
) -> ActionPlan:
    labels = incident_labels(view, operator, trigger, wave)
    changes = tuple(
        Change(INCIDENT_ALERT, f"label {name}", "—", value)
        for name, value in labels.items()
        if name != "alertname"
    )
    title = _title(view, trigger) or "rollback playbook"
    return ActionPlan(ActionKind.OPEN_INCIDENT, INCIDENT_ALERT, changes, operator,
                      reason=f"{title}: rollback playbook run by {operator}",
                      details={**_details("incident", trigger), **labels})  # fmt: skip


def plan_recut(
    view: RoomView, operator: str, trigger: str, note: str, again_after: timedelta
) -> ActionPlan:
    """Roll the wave in flight back (if it has not been) and say when it may go again."""
    wave = wave_in_scope(view)
    if wave is None:
        rolled = [w for w in view.waves if w.state is WaveState.ROLLED_BACK]
        wave = rolled[-1] if rolled else None
    if wave is None:
        raise ActionUnavailable("no wave is in flight or rolled back: nothing to re-cut")
    not_before = view.now + again_after
    changes = []
    if wave.state is not WaveState.ROLLED_BACK:
        changes.append(Change(wave.wave, "state", wave.state.value, WaveState.ROLLED_BACK.value))
    changes.append(Change(wave.wave, "may go again", "—", f"after {_when(not_before)}"))
    return ActionPlan(ActionKind.RECUT_PLAN, wave.wave, tuple(changes), operator,
                      reason=note, confirm_name=wave.wave,
                      details=_details("re-cut", trigger, not_before=not_before.isoformat(),
                                       roll_back="yes" if len(changes) > 1 else ""))  # fmt: skip


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def plan_skip(
    view: RoomView, step: str, operator: str, reason: str, trigger: str = ""
) -> ActionPlan:
    """Mark a step skipped, with the reason: journalled like every other step."""
    if step not in STEP_IDS:
        raise ActionUnavailable(f"no playbook step {step}")
    record = view.playbook.of(step)
    if record.state is not StepState.TODO:
        raise ActionUnavailable(f"step {step_spec(step).number} is {record.line()}")
    spec = step_spec(step)
    changes = (Change(f"step {spec.number}", spec.title, "to do", "skipped"),)
    return ActionPlan(ActionKind.SKIP_STEP, step, changes, operator, reason=reason,
                      confirm_name=None, details={"step": step, "trigger": trigger})  # fmt: skip


def exec_update_message(view: RoomView, trigger: str) -> str:
    """The exec update's template: what fired, the KPIs now, what has been done, and what
    comes next; the operator edits it before it goes."""
    status = next((t for t in view.triggers if t.spec.id == trigger), None)
    if status is not None:
        since = f" at {status.fired_at:%H:%M} UTC" if status.fired_at is not None else ""
        fired = f"{status.spec.title} {status.state.value}{since}"
    else:
        fired = ", ".join(f"{t.spec.title} {t.state.value}" for t in view.alarming) or "none"
    alert = next(
        (a for a in view.alerts if status is not None and a.alertname == status.spec.alertname),
        None,
    )
    if alert is not None and alert.summary:
        fired += f": {alert.summary}"
    lines = [f"Maestro cutover: rollback playbook in progress. What fired: {fired}.", ""]
    lines.append("KPIs now:")
    for kpi in view.kpis:
        shown = format_value(kpi.signal.value, kpi.spec.unit)
        lines.append(f"- {kpi.spec.title}: {shown} ({kpi.verdict.value})")
    lines += ["", "Actions taken:"]
    taken = [
        (spec, record)
        for spec, record in view.playbook.rows()
        if record.state is not StepState.TODO
    ]
    lines += [f"- {spec.number}. {spec.title}: {record.line()}" for spec, record in taken]
    if not taken:
        lines.append("- none yet")
    if view.freeze.frozen and view.playbook.of("freeze").state is not StepState.DONE:
        lines.append(f"- the cutover is frozen by {view.freeze.by}")
    upcoming = [spec for spec, record in view.playbook.rows()
                if record.state is StepState.TODO and spec.id != "exec-update"]  # fmt: skip
    wave = wave_in_scope(view)
    nxt = upcoming[0].title if upcoming else "hypercare continues"
    if wave is not None:
        nxt += f" ({wave.wave})"
    lines += ["", f"Next step: {nxt}."]
    return "\n".join(lines)
