"""Argo Rollouts as `kubectl argo rollouts get rollout` shows them, and the plugin's patches.

Pure functions of the Rollout object (a plain mapping, as the API returns it). The phase,
step, weights and patches follow the plugin's own code: `utils/rollout/rolloututil.go`
(`GetRolloutPhase`), `utils/replicaset/canary.go` (`GetCurrentSetWeight`) and
`pkg/kubectl-argo-rollouts/cmd/{promote,abort,pause,retry}`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .durations import parse_duration
from .rollouts import AnalysisRun, CanaryStep, RolloutPhase, RolloutStatus

Obj = Mapping[str, Any]

#: Condition reasons after which the plugin calls a rollout Degraded.
_DEGRADED_REASONS = ("RolloutAborted", "ProgressDeadlineExceeded")


def _map(value: Any) -> Obj:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> Sequence[Any]:
    return value if isinstance(value, list | tuple) else ()


def steps_of(obj: Obj) -> Sequence[Obj]:
    """`spec.strategy.canary.steps`, empty for a blue-green or step-less rollout."""
    canary = _map(_map(_map(obj.get("spec")).get("strategy")).get("canary"))
    return [_map(step) for step in _list(canary.get("steps"))]


def is_canary(obj: Obj) -> bool:
    return "canary" in _map(_map(obj.get("spec")).get("strategy"))


def current_step_index(obj: Obj) -> int | None:
    """`status.currentStepIndex`, or None before the controller set it."""
    index = _map(obj.get("status")).get("currentStepIndex")
    return index if isinstance(index, int) and not isinstance(index, bool) else None


def _generation_observed(obj: Obj) -> bool:
    # observedGeneration is a string; a non-numeric one (v0.9 hash) counts as observed.
    observed = _map(obj.get("status")).get("observedGeneration")
    try:
        number = int(str(observed))
    except ValueError:
        return True
    generation = _map(obj.get("metadata")).get("generation", 0)
    return number >= int(generation or 0)


def rollout_phase(obj: Obj) -> tuple[RolloutPhase, str]:
    """The phase and message, as `GetRolloutPhase` derives them."""
    spec, status = _map(obj.get("spec")), _map(obj.get("status"))
    pause_conditions = _list(status.get("pauseConditions"))
    if not _generation_observed(obj):
        return RolloutPhase.PROGRESSING, "waiting for rollout spec update to be observed"
    if status.get("controllerPause") and not pause_conditions:
        return RolloutPhase.PROGRESSING, "waiting for rollout to unpause"
    phase = status.get("phase")
    if isinstance(phase, str) and phase:
        # Rollouts 1.0+ compute phase and message in the controller.
        try:
            return RolloutPhase(phase), str(status.get("message") or "")
        except ValueError:
            return RolloutPhase.PROGRESSING, f"{phase}: {status.get('message') or ''}".strip()
    return _calculated_phase(spec, status)


def _calculated_phase(spec: Obj, status: Obj) -> tuple[RolloutPhase, str]:
    """`CalculateRolloutPhase`, for controllers older than 1.0 that set no phase."""
    for condition in _list(status.get("conditions")):
        condition = _map(condition)
        if condition.get("type") == "InvalidSpec":
            return RolloutPhase.DEGRADED, f"InvalidSpec: {condition.get('message', '')}"
        if condition.get("reason") in _DEGRADED_REASONS:
            return RolloutPhase.DEGRADED, f"{condition['reason']}: {condition.get('message', '')}"
    if status.get("abort"):
        return RolloutPhase.DEGRADED, "RolloutAborted"
    if spec.get("paused"):
        return RolloutPhase.PAUSED, "manually paused"
    for condition in _list(status.get("pauseConditions")):
        return RolloutPhase.PAUSED, str(_map(condition).get("reason", ""))
    replicas = spec.get("replicas", 1)
    replicas = 1 if replicas is None else int(replicas)
    updated = int(status.get("updatedReplicas", replicas) or 0)
    available = int(status.get("availableReplicas", updated) or 0)
    if updated < replicas:
        return RolloutPhase.PROGRESSING, "more replicas need to be updated"
    if available < updated:
        return RolloutPhase.PROGRESSING, "updated replicas are still becoming available"
    stable = status.get("stableRS") or ""
    if not stable or stable != status.get("currentPodHash"):
        return RolloutPhase.PROGRESSING, "waiting for all steps to complete"
    return RolloutPhase.HEALTHY, ""


def set_weight(obj: Obj) -> int:
    """The desired canary weight, as `GetCurrentSetWeight`: 0 when aborted, 100 past the
    last step, else the nearest `setWeight` at or before the current step."""
    if _map(obj.get("status")).get("abort"):
        return 0
    steps = steps_of(obj)
    index = current_step_index(obj) or 0
    if not steps or index >= len(steps):
        return 100
    for step in reversed(steps[: index + 1]):
        if "setWeight" in step:
            return int(step["setWeight"])
    return 0


def actual_weight(obj: Obj) -> int | None:
    """The traffic weight the router reports (`status.canary.weights.canary.weight`)."""
    weights = _map(_map(_map(obj.get("status")).get("canary")).get("weights"))
    weight = _map(weights.get("canary")).get("weight")
    return int(weight) if isinstance(weight, int | float) else None


def pause_reasons(obj: Obj) -> tuple[str, ...]:
    """Why the rollout waits: a manual pause, then each pause condition's reason."""
    reasons = ["manually paused"] if _map(obj.get("spec")).get("paused") else []
    for condition in _list(_map(obj.get("status")).get("pauseConditions")):
        reason = _map(condition).get("reason")
        if reason:
            reasons.append(str(reason))
    return tuple(reasons)


def current_step_run(obj: Obj, runs: Iterable[Obj] = ()) -> tuple[str, str]:
    """The current step's AnalysisRun: (name, phase), or ("", "") when there is none.

    The rollout names its run in `status.canary.currentStepAnalysisRunStatus`; the run's own
    `status.phase` is fresher, so it wins when the run is known.
    """
    meta = _map(obj.get("metadata"))
    named = _map(_map(_map(obj.get("status")).get("canary")).get("currentStepAnalysisRunStatus"))
    name, phase = str(named.get("name") or ""), str(named.get("status") or "")
    index = current_step_index(obj)
    for run in runs:
        run_meta = _map(run.get("metadata"))
        labels = _map(run_meta.get("labels"))
        owners = {_map(o).get("name") for o in _list(run_meta.get("ownerReferences"))}
        if name:
            match = run_meta.get("name") == name
        else:
            match = (
                meta.get("name") in owners
                and labels.get("rollout-type") == "Step"
                and index is not None
                and labels.get("step-index") == str(index)
            )
        if match:
            return str(run_meta.get("name", "")), str(_map(run.get("status")).get("phase") or phase)
    return name, phase


def rollout_status(obj: Obj, runs: Iterable[Obj] = ()) -> RolloutStatus:
    """One rollout as `kubectl argo rollouts get rollout` shows it."""
    meta, spec, status = _map(obj.get("metadata")), _map(obj.get("spec")), _map(obj.get("status"))
    phase, message = rollout_phase(obj)
    steps = steps_of(obj)
    index = current_step_index(obj)
    actual = actual_weight(obj)
    _, analysis = current_step_run(obj, runs)
    return RolloutStatus(
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        phase=phase,
        step=min(index or 0, len(steps)) if steps else 0,
        steps=len(steps),
        weight=actual if actual is not None else set_weight(obj),
        analysis=analysis,
        pause_reason=", ".join(pause_reasons(obj)),
        message=message,
        paused=bool(spec.get("paused")),
        aborted=bool(status.get("abort")),
        version=str(meta.get("resourceVersion", "")),
        step_weights=step_weights(steps),
        canary=tuple(canary_step(step) for step in steps),
        analysis_runs=analysis_runs(obj, runs),
        revision=str(_map(meta.get("annotations")).get(REVISION, "")),
        image=", ".join(images(obj)),
        stable=f"ReplicaSet {status['stableRS']}" if status.get("stableRS") else "",
    )


#: The annotation the controller numbers each revision of a rollout with.
REVISION = "rollout.argoproj.io/revision"


def canary_step(step: Obj) -> CanaryStep:
    """One of `spec.strategy.canary.steps` as the detail names it. A pause's duration is
    Argo's: a number of seconds or a Go duration (`2m`); none waits for a promote."""
    if "setWeight" in step:
        return CanaryStep("setWeight", weight=int(step["setWeight"]))
    if "pause" in step:
        return CanaryStep("pause", duration=_duration(_map(step["pause"]).get("duration")))
    if "analysis" in step:
        templates = _list(_map(step["analysis"]).get("templates"))
        names = tuple(str(_map(t).get("templateName", "")) for t in templates)
        return CanaryStep("analysis", templates=tuple(n for n in names if n))
    return CanaryStep(next(iter(step), "unknown"))


def _duration(value: Any) -> timedelta | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if text.isdigit():
            return timedelta(seconds=int(text))
        try:
            return parse_duration(text)
        except ValueError:
            return None
    return None


def images(obj: Obj) -> tuple[str, ...]:
    """The images of the pod template's containers, in order."""
    template = _map(_map(_map(obj.get("spec")).get("template")).get("spec"))
    found = (_map(c).get("image") for c in _list(template.get("containers")))
    return tuple(str(image) for image in found if image)


def analysis_runs(obj: Obj, runs: Iterable[Obj]) -> tuple[AnalysisRun, ...]:
    """The AnalysisRuns the rollout owns, oldest first."""
    name = _map(obj.get("metadata")).get("name")
    found = []
    for run in runs:
        meta = _map(run.get("metadata"))
        owners = {_map(o).get("name") for o in _list(meta.get("ownerReferences"))}
        if name not in owners:
            continue
        status = _map(run.get("status"))
        index = _map(meta.get("labels")).get("step-index")
        found.append(
            AnalysisRun(
                name=str(meta.get("name", "")),
                phase=str(status.get("phase") or "Pending"),
                step=int(index) if isinstance(index, str) and index.isdigit() else None,
                started=_time(meta.get("creationTimestamp")),
                message=str(status.get("message") or ""),
            )
        )
    return tuple(sorted(found, key=_run_order))


def _run_order(run: AnalysisRun) -> tuple[bool, float, str]:
    return run.started is None, run.started.timestamp() if run.started else 0.0, run.name


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def step_weights(steps: Sequence[Obj]) -> tuple[int, ...]:
    """The weight `set_weight` gives at each step index from 0 to past the last (100)."""
    weights = []
    weight = 0
    for step in steps:
        if "setWeight" in step:
            weight = int(step["setWeight"])
        weights.append(weight)
    return (*weights, 100) if steps else ()


# ---- the plugin's patches -----------------------------------------------------------------


@dataclass(frozen=True)
class RolloutPatch:
    """One merge patch the plugin sends: to the resource ("") or to its `status`.

    `unified` is what the plugin sends to the resource instead when the `/status` patch
    gets 404 (a Rollouts CRD without the status subresource); it replaces this patch and
    every one after it.
    """

    subresource: str
    body: Mapping[str, Any]
    unified: Mapping[str, Any] | None = None

    @property
    def endpoint(self) -> str:
        return "rollouts/status" if self.subresource == "status" else "rollouts"


def _inconclusive(obj: Obj) -> bool:
    run = _map(_map(_map(obj.get("status")).get("canary")).get("currentStepAnalysisRunStatus"))
    return is_canary(obj) and run.get("status") == "Inconclusive"


def _next_step(obj: Obj) -> int | None:
    """The step after the current one, as the plugin counts (`GetCurrentCanaryStep`): None
    for a rollout without canary steps, never past the last step."""
    steps = steps_of(obj)
    if not is_canary(obj) or not steps:
        return None
    index = current_step_index(obj) or 0
    return index + 1 if index < len(steps) else index


_UNPAUSE: Mapping[str, Any] = {"paused": False}


def _in_order(
    paused: bool, status: Mapping[str, Any] | None, unified: Mapping[str, Any]
) -> tuple[RolloutPatch, ...]:
    """The plugin's order: the status patch first, then the spec patch (unpause)."""
    patches = []
    if status is not None:
        patches.append(RolloutPatch("status", {"status": dict(status)}, unified))
    if paused:
        patches.append(RolloutPatch("", {"spec": dict(_UNPAUSE)}))
    return tuple(patches)


def promote_patches(obj: Obj) -> tuple[RolloutPatch, ...]:
    """What `kubectl argo rollouts promote` sends, in its order; empty when there is
    nothing to promote.

    A rollout paused by hand is unpaused on the resource, and its status is patched as for
    one that is not paused: the pause conditions cleared or, for a canary without any, the
    current step skipped, as the plugin does.
    """
    spec, status = _map(obj.get("spec")), _map(obj.get("status"))
    paused = bool(spec.get("paused"))
    pause_conditions = _list(status.get("pauseConditions"))
    next_index = _next_step(obj)
    unified: dict[str, Any] = {"spec": dict(_UNPAUSE), "status": {"pauseConditions": None}}
    patch: dict[str, Any] | None = None
    if _inconclusive(obj) and pause_conditions and status.get("controllerPause"):
        if next_index is not None:
            patch = {"pauseConditions": None, "controllerPause": False}
            patch["currentStepIndex"] = next_index
    elif pause_conditions:
        patch = {"pauseConditions": None}
    elif next_index is not None:
        # No pause conditions (mid-step, or paused by hand): the plugin skips the step.
        patch = {"pauseConditions": None, "currentStepIndex": next_index}
        unified = {"spec": dict(_UNPAUSE), "status": dict(patch)}
    return _in_order(paused, patch, unified)


def promote_full_patches(obj: Obj) -> tuple[RolloutPatch, ...]:
    """`promote --full`: skip every remaining step (unless already fully promoted) and
    unpause a rollout paused by hand, which the controller would otherwise stay halted on."""
    spec, status = _map(obj.get("spec")), _map(obj.get("status"))
    full = {"promoteFull": True}
    # Already fully promoted: only a manual pause is left to lift.
    patch = None if status.get("currentPodHash") == status.get("stableRS") else full
    unified = {"spec": dict(_UNPAUSE), "status": dict(full)}
    return _in_order(bool(spec.get("paused")), patch, unified)


PAUSE = RolloutPatch("", {"spec": {"paused": True}})
RESUME = RolloutPatch("", {"spec": {"paused": False}})
ABORT = RolloutPatch("status", {"status": {"abort": True}}, {"status": {"abort": True}})
RETRY = RolloutPatch("status", {"status": {"abort": False}}, {"status": {"abort": False}})


def with_version(body: Mapping[str, Any], resource_version: str) -> dict[str, Any]:
    """The patch body with `metadata.resourceVersion`, so the server refuses it (409) when
    the object changed since the operator looked."""
    return {**body, "metadata": {"resourceVersion": resource_version}}
