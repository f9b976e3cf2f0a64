"""Action plans: what an action will change, from what to what, and its preconditions.

An action is planned from the view the operator saw, and its preconditions are checked again
against the live view at the moment the operator confirms.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from .action_kinds import ActionKind as ActionKind
from .durations import format_duration
from .rollouts import RolloutPhase, RolloutStatus
from .room import RoomView
from .signers import UNRESTRICTED, Signer, SignoffPolicy
from .triggers import TriggerState
from .waves import (
    WaveState,
    can_roll_back,
    eligibility,
    next_wave,
    previous_wave,
    promoted_wave,
    recut_refusal,
)


@dataclass(frozen=True)
class Change:
    """One object that the action changes, from what to what."""

    target: str
    field: str
    before: str
    after: str

    def __str__(self) -> str:
        return f"{self.target}: {self.field} {self.before} → {self.after}"


@dataclass(frozen=True)
class Precondition:
    """A check on live data. A failed overridable check blocks unless a reason is typed."""

    id: str
    title: str
    ok: bool
    detail: str = ""
    overridable: bool = True


@dataclass(frozen=True)
class WorkflowDispatch:
    """A `workflow_dispatch` of a CI workflow: which workflow, on which ref, with which
    inputs (GitHub takes every input as a string)."""

    repository: str
    workflow: str
    ref: str
    inputs: tuple[tuple[str, str], ...] = ()

    @property
    def body(self) -> dict[str, object]:
        return {"ref": self.ref, "inputs": dict(self.inputs)}

    @property
    def summary(self) -> str:
        inputs = ", ".join(f"{k}={v}" for k, v in self.inputs) or "no inputs"
        return f"ref {self.ref}, {inputs}"


@dataclass(frozen=True)
class ActionPlan:
    """An action as the operator is asked to confirm it."""

    kind: ActionKind
    target: str
    changes: tuple[Change, ...]
    operator: str
    reason: str = ""
    #: The name the operator types to confirm; None where one key and Enter suffice.
    confirm_name: str | None = None
    #: The version of each target as shown, so a change in between is caught.
    seen_versions: Mapping[str, str] = field(default_factory=dict)
    #: A sign-off's signer: the identity the decision used, journalled with it.
    signer: Signer | None = None
    #: dispatch workflow: what is dispatched.
    dispatch: WorkflowDispatch | None = None
    #: A playbook step's particulars (`step`, `trigger`, `wave`, `not_before`, ...).
    details: Mapping[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return f"{self.kind.value.capitalize()} {self.target}"


@dataclass(frozen=True)
class ActionOutcome:
    """What an effector did."""

    ok: bool
    message: str
    changes: tuple[Change, ...] = ()


class TargetChanged(Exception):
    """The target changed since the operator looked; nothing was done."""


class Effector(Protocol):
    """Carries out a confirmed plan against a cluster, broker or the simulator."""

    name: str

    async def apply(self, plan: ActionPlan) -> ActionOutcome: ...


class ActionUnavailable(Exception):
    """The action cannot be planned: nothing to act on, or nothing would change."""


#: The moves forward: what a freeze stops outright. Moves back (abort a rollout, roll back a
#: wave, the playbook's steps) stay open: a freeze is where a rollback starts.
FORWARD: frozenset[ActionKind] = frozenset({ActionKind.PROMOTE_WAVE, ActionKind.PROMOTE_ROLLOUT})


class FrozenRefusal(ActionUnavailable):
    """A move forward while the cutover is frozen: refused, with no override. The way on is
    to unfreeze, its own confirmed and journalled action."""

    def __init__(self, kind: ActionKind, view: RoomView) -> None:
        self.kind = kind
        super().__init__(
            f"{kind.value} refused: the cutover is {frozen_by(view)}. A freeze stops every"
            " move forward and no reason overrides it; unfreeze first (its own confirmed"
            " action), then promote."
        )


def frozen_by(view: RoomView) -> str:
    """`frozen by alice at 11:02: queue p95 breach`, as far as the freeze state says."""
    state = view.freeze
    text = f"frozen by {state.by or 'someone'}"
    if state.at is not None:
        text += f" at {state.at:%H:%M}"
    return text + (f": {state.reason}" if state.reason else "")


class SignoffRefused(ActionUnavailable):
    """The role is not this signer's to sign: refused before any confirmation."""


def refuse_forward_while_frozen(kind: ActionKind, view: RoomView) -> None:
    """Raise FrozenRefusal for a move forward while `view` is frozen."""
    if kind in FORWARD and view.freeze.frozen:
        raise FrozenRefusal(kind, view)


def plan_freeze(view: RoomView, operator: str, reason: str) -> ActionPlan:
    if view.freeze.frozen:
        raise ActionUnavailable(f"already frozen by {view.freeze.by}: {view.freeze.reason}")
    changes = [Change("cutover", "frozen", "false", "true")]
    for rollout in view.rollouts:
        if not rollout.paused and rollout.can_promote:
            changes.append(Change(rollout.key, "paused", "false", "true"))
    return ActionPlan(
        ActionKind.FREEZE,
        "cutover",
        tuple(changes),
        operator,
        reason=reason,
        seen_versions={"freeze": view.freeze.version},
    )


def plan_unfreeze(view: RoomView, operator: str) -> ActionPlan:
    if not view.freeze.frozen:
        raise ActionUnavailable("not frozen")
    changes = [Change("cutover", "frozen", "true", "false")]
    changes += [Change(key, "paused", "true", "false") for key in view.freeze.paused_by_freeze]
    return ActionPlan(
        ActionKind.UNFREEZE,
        "cutover",
        tuple(changes),
        operator,
        confirm_name="unfreeze",
        seen_versions={"freeze": view.freeze.version},
    )


def plan_promote_wave(view: RoomView, wave: str, operator: str) -> ActionPlan:
    refuse_forward_while_frozen(ActionKind.PROMOTE_WAVE, view)
    progress = view.wave(wave)
    if progress is None:
        raise ActionUnavailable(f"no wave {wave}")
    after = promoted_wave(progress.state, progress.recut)
    if after is None:
        raise ActionUnavailable(f"{wave} is {progress.state.value}: nothing to promote")
    refusal = recut_refusal(wave, progress.recut, view.now)
    if refusal:
        raise ActionUnavailable(refusal)
    return ActionPlan(
        ActionKind.PROMOTE_WAVE,
        wave,
        (Change(wave, "state", progress.state.value, after.value),),
        operator,
        confirm_name=wave,
        seen_versions={wave: progress.version},
    )


def plan_roll_back_wave(view: RoomView, wave: str, operator: str) -> ActionPlan:
    progress = view.wave(wave)
    if progress is None:
        raise ActionUnavailable(f"no wave {wave}")
    if not can_roll_back(progress.state):
        raise ActionUnavailable(f"{wave} is {progress.state.value}: nothing to roll back")
    changes = [Change(wave, "state", progress.state.value, WaveState.ROLLED_BACK.value)]
    if progress.on_maestro:
        # What moves for the teams: their repositories build on Jenkins again.
        changes.append(
            Change(
                wave,
                "repos on Maestro",
                f"{progress.on_maestro}/{progress.repos}",
                f"0/{progress.repos} ({progress.on_maestro} back to legacy)",
            )
        )
    following = next_wave(view.waves, wave)
    if following is not None and following.state in (WaveState.PLANNED, WaveState.CANARY):
        changes.append(
            Change(
                following.wave,
                "next eligible",
                eligibility(following, view.clock.go_live, view.now),
                f"blocked: {wave} rolled back",
            )
        )
    return ActionPlan(
        ActionKind.ROLL_BACK_WAVE,
        wave,
        tuple(changes),
        operator,
        confirm_name=wave,
        seen_versions={wave: progress.version},
    )


def plan_promote_rollout(view: RoomView, key: str, operator: str) -> ActionPlan:
    refuse_forward_while_frozen(ActionKind.PROMOTE_ROLLOUT, view)
    rollout = view.rollout(key)
    if rollout is None:
        raise ActionUnavailable(f"no rollout {key}")
    if not rollout.can_promote:
        raise ActionUnavailable(f"{key} is {rollout.phase.value}: nothing to promote")
    return ActionPlan(
        ActionKind.PROMOTE_ROLLOUT,
        key,
        promotion_changes(rollout),
        operator,
        confirm_name=rollout.name,
        seen_versions={key: rollout.version},
    )


def promotion_changes(rollout: RolloutStatus) -> tuple[Change, ...]:
    """What a promote moves, as the plugin's promote does: the pause is lifted (at a pause
    step or by hand), the status promoted a step, and the weight that step sets."""
    key, steps = rollout.key, rollout.steps
    after = min(rollout.step + 1, steps)
    changes = []
    if rollout.paused:
        changes.append(Change(key, "paused", "true", "false"))
    if steps or not rollout.paused:
        changes.append(Change(key, "step", f"{rollout.step}/{steps}", f"{after}/{steps}"))
    weights = rollout.step_weights
    if steps and len(weights) == steps + 1:
        weight = weights[after]
        text = f"{weight} %"
        if weight == rollout.weight:
            later = next(((i, w) for i, w in enumerate(weights) if i > after and w != weight), None)
            text += " (unchanged" + (
                f"; {later[1]} % at step {later[0]}/{steps})" if later else ")"
            )
        changes.append(Change(key, "weight", f"{rollout.weight} %", text))
    return tuple(changes)


def plan_abort_rollout(view: RoomView, key: str, operator: str) -> ActionPlan:
    rollout = view.rollout(key)
    if rollout is None:
        raise ActionUnavailable(f"no rollout {key}")
    if not rollout.can_abort:
        raise ActionUnavailable(f"{key} is {rollout.phase.value}: nothing to abort")
    return ActionPlan(
        ActionKind.ABORT_ROLLOUT,
        key,
        (
            Change(key, "phase", rollout.phase.value, RolloutPhase.DEGRADED.value),
            Change(key, "weight", f"{rollout.weight}%", "0% (stable)"),
        ),
        operator,
        confirm_name=rollout.name,
        seen_versions={key: rollout.version},
    )


def plan_sign_off(
    view: RoomView,
    role: str,
    operator: str,
    note: str = "",
    *,
    signer: Signer | None = None,
    policy: SignoffPolicy = UNRESTRICTED,
) -> ActionPlan:
    """Sign `role`'s Go/No-Go line, or withdraw it when it is signed, as `signer` (the
    operator when none is given). Raises SignoffRefused when `policy` does not let the
    signer sign that role."""
    board = view.gates
    if board is None or role not in board.roles:
        raise ActionUnavailable(f"no sign-off role {role}")
    permitted, why = policy.may_sign(role, signer)
    if not permitted:
        raise SignoffRefused(f"refused: {why}")
    signer = signer or Signer(operator)
    operator = signer.user  # the sign-off is recorded under the identity that decided it
    signed = board.signoffs.of(role)
    seen = {"signoffs": board.signoffs.version}
    if signed is not None:
        return ActionPlan(
            ActionKind.WITHDRAW_SIGNOFF,
            role,
            (Change("sign-off", role, f"signed by {signed.by}", "unsigned"),),
            operator,
            reason=note,
            confirm_name=role,
            seen_versions=seen,
            signer=signer,
        )
    return ActionPlan(
        ActionKind.SIGN_OFF,
        role,
        (Change("sign-off", role, "unsigned", f"signed by {operator}"),),
        operator,
        reason=note,
        confirm_name=role,
        seen_versions=seen,
        signer=signer,
    )


#: What the control room may dispatch: the smoke suite and the CD workflow's dry run. A prod
#: deploy is the CD system's to start, never this room's.
SMOKE_SUITE = "smoke suite"
CD_DRY_RUN = "CD dry run"


def plan_dispatch(what: str, repository: str, workflow: str, ref: str, operator: str) -> ActionPlan:
    """Dispatch the smoke suite (`SMOKE_SUITE`) or the CD dry run (`CD_DRY_RUN`, with
    `no_op=true`): confirmed with the workflow, ref and inputs named."""
    if what == SMOKE_SUITE:
        inputs: tuple[tuple[str, str], ...] = ()
    elif what == CD_DRY_RUN:
        inputs = (("no_op", "true"),)
    else:
        raise ActionUnavailable(f"only the {SMOKE_SUITE} and the {CD_DRY_RUN} are dispatched")
    if not workflow or not ref:
        raise ActionUnavailable(f"no workflow configured for the {what}")
    dispatch = WorkflowDispatch(repository, workflow, ref, inputs)
    where = f"{repository}/{workflow}" if repository else workflow
    changes = [Change(where, "workflow_dispatch", "—", f"ref {ref}")]
    changes += [Change(where, f"input {name}", "—", value) for name, value in inputs]
    return ActionPlan(
        ActionKind.DISPATCH_WORKFLOW,
        workflow,
        tuple(changes),
        operator,
        reason=f"{what}: {dispatch.summary}",
        dispatch=dispatch,
    )


class RoutingEffector:
    """One effector for the pipeline, handing each kind of action to the effector that
    carries it out: workflow dispatches to CI, everything else to the cluster or simulator."""

    def __init__(self, default: Effector | None, routes: Mapping[ActionKind, Effector]) -> None:
        self.default = default
        self.routes = dict(routes)
        names = [e.name for e in (default, *self.routes.values()) if e is not None]
        self.name = "+".join(dict.fromkeys(names))

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        effector = self.routes.get(plan.kind, self.default)
        if effector is None:
            return ActionOutcome(False, f"{plan.title}: nothing here carries it out")
        return await effector.apply(plan)


def check_preconditions(plan: ActionPlan, view: RoomView) -> tuple[Precondition, ...]:
    """The plan's preconditions, judged against the live view."""
    checks: list[Precondition] = [_unchanged(plan, view)]
    kind = plan.kind
    if kind in (ActionKind.PROMOTE_WAVE, ActionKind.PROMOTE_ROLLOUT, ActionKind.UNFREEZE):
        if kind is not ActionKind.UNFREEZE:
            checks.append(_not_frozen(view))
        checks.append(_no_alarm(view))
        checks.append(_inputs_current(view))
    if kind is ActionKind.PROMOTE_WAVE:
        checks.append(_previous_wave_green(plan.target, view))
        target = view.wave(plan.target)
        if target is not None and target.recut is not None:
            checks.append(_recut_time_passed(plan.target, view))
    if kind is ActionKind.ACKNOWLEDGE:
        checks.append(_still_firing(plan.target, view))
    return tuple(checks)


def _still_firing(trigger: str, view: RoomView) -> Precondition:
    """An acknowledgement is of a firing: one that ended since it was asked for is moot."""
    status = next((t for t in view.triggers if t.spec.id == trigger), None)
    if status is None or status.state is not TriggerState.FIRING:
        state = "not configured" if status is None else status.state.value
        return Precondition(
            "still-firing", "trigger still firing", False, f"{trigger} is {state}", False
        )
    return Precondition("still-firing", "trigger still firing", True)


def blocking(checks: tuple[Precondition, ...], override: str) -> tuple[Precondition, ...]:
    """The failed checks that still block: all failed ones without an override reason,
    and the ones no reason can override."""
    failed = tuple(check for check in checks if not check.ok)
    if override.strip():
        return tuple(check for check in failed if not check.overridable)
    return failed


def _unchanged(plan: ActionPlan, view: RoomView) -> Precondition:
    current = _versions(plan, view)
    changed = [key for key, seen in plan.seen_versions.items() if current.get(key) != seen]
    if changed:
        return Precondition(
            "unchanged",
            "target unchanged since shown",
            False,
            f"changed since you looked: {', '.join(changed)}",
            overridable=False,
        )
    return Precondition("unchanged", "target unchanged since shown", True)


def _versions(plan: ActionPlan, view: RoomView) -> dict[str, str]:
    versions = {"freeze": view.freeze.version}
    for rollout in view.rollouts:
        versions[rollout.key] = rollout.version
    for wave in view.waves:
        versions[wave.wave] = wave.version
    if view.gates is not None:
        versions["signoffs"] = view.gates.signoffs.version
    return versions


def _not_frozen(view: RoomView) -> Precondition:
    # Not overridable: a freeze that a typed reason lifts is no freeze. Unfreeze is the way on.
    if view.freeze.frozen:
        return Precondition(
            "not-frozen",
            "cutover not frozen",
            False,
            f"{frozen_by(view)}; unfreeze first",
            overridable=False,
        )
    return Precondition("not-frozen", "cutover not frozen", True)


def _no_alarm(view: RoomView) -> Precondition:
    title = "no rollback trigger pending or firing"
    alarming = view.alarming
    if alarming:
        names = ", ".join(f"{t.spec.title} {t.state.value}" for t in alarming)
        return Precondition("no-trigger", title, False, names)
    # A trigger whose input is missing may be firing for all anyone knows: never a pass.
    unknown = [t.spec.title for t in view.triggers if t.state is TriggerState.UNKNOWN]
    if unknown:
        return Precondition("no-trigger", title, False, "not known: " + ", ".join(unknown))
    return Precondition("no-trigger", title, True)


def _inputs_current(view: RoomView) -> Precondition:
    unknown = view.unknown_inputs
    if unknown:
        return Precondition(
            "inputs-current", "every input current", False, "not current: " + ", ".join(unknown)
        )
    return Precondition("inputs-current", "every input current", True)


def _previous_wave_green(wave: str, view: RoomView) -> Precondition:
    """A wave moves on only after the wave it follows has been green for the green period;
    an active wave completes only after it has itself been green that long."""
    title = f"green for {format_duration(view.green_period)} first"
    target = view.wave(wave)
    if target is None:
        return Precondition("green-period", title, False, f"no wave {wave}")
    if target.state is WaveState.ACTIVE:
        soaking, since = target, target.since
    else:
        before = previous_wave(view.waves, wave)
        if before is None:
            return Precondition("green-period", title, True, "first wave")
        if before.state not in (WaveState.ACTIVE, WaveState.COMPLETE):
            return Precondition(
                "green-period", title, False, f"{before.wave} is {before.state.value}"
            )
        soaking, since = before, before.since
    if view.green_since is None:
        return Precondition("green-period", title, False, "a rollback trigger is not clear")
    start = view.green_since if since is None else max(view.green_since, since)
    ready = start + view.green_period
    if ready > view.now:
        left = format_duration(ready - view.now)
        return Precondition("green-period", title, False, f"{soaking.wave} green for {left} more")
    return Precondition("green-period", title, True)


def _recut_time_passed(wave: str, view: RoomView) -> Precondition:
    """A re-cut wave goes again only from the time the re-cut set. Not overridable: the
    re-cut is the plan's word on when, and a new re-cut is the way to change it."""
    title = "re-cut's time reached"
    target = view.wave(wave)
    refusal = recut_refusal(wave, target.recut if target else None, view.now)
    if refusal:
        return Precondition("recut-time", title, False, refusal, overridable=False)
    return Precondition("recut-time", title, True)
