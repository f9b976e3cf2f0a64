"""Argo Rollouts of the Maestro control plane, stepped the way the Argo controller steps them.

A canary walks its steps: `setWeight` takes effect at once, a timed `pause` waits, an
indefinite `pause` waits for a promote, an `analysis` measures the platform's success rate and
aborts the rollout when it is under target. The phase is derived as Argo derives it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ...cutover.rollouts import AnalysisRun, RolloutPhase, RolloutStatus
from ...cutover.rollouts import CanaryStep as DetailStep


@dataclass(frozen=True)
class CanaryStep:
    """One step of `spec.strategy.canary.steps`."""

    kind: str  # "setWeight", "pause" or "analysis"
    weight: int = 0
    seconds: float | None = None  # a pause without duration waits for a promote

    @classmethod
    def set_weight(cls, weight: int) -> CanaryStep:
        return cls("setWeight", weight=weight)

    @classmethod
    def pause(cls, seconds: float | None = None) -> CanaryStep:
        return cls("pause", seconds=seconds)

    @classmethod
    def analysis(cls, seconds: float = 180.0) -> CanaryStep:
        return cls("analysis", seconds=seconds)


#: The control plane's canary: the plan's 10 → 25 → (promote) → analysis → 50 → 100.
MAESTRO_CANARY: tuple[CanaryStep, ...] = (
    CanaryStep.set_weight(10),
    CanaryStep.pause(120),
    CanaryStep.set_weight(25),
    CanaryStep.pause(),
    CanaryStep.analysis(180),
    CanaryStep.set_weight(50),
    CanaryStep.pause(300),
    CanaryStep.set_weight(100),
)

#: The image each of Maestro's rollouts moves to, by name; the fleet's runners take the last.
IMAGES = {
    "maestro-api": "ghcr.io/intelgraph/maestro-api:2.14.0",
    "maestro-scheduler": "ghcr.io/intelgraph/maestro-scheduler:2.14.0",
    "executor-controller": "ghcr.io/intelgraph/executor-controller:2.14.0",
}
RUNNER_IMAGE = "ghcr.io/intelgraph/maestro-runner:2.14"
#: What the stable revision before runs.
STABLE_IMAGES = {name: image.replace(":2.14.0", ":2.13.2") for name, image in IMAGES.items()}
STABLE_RUNNER_IMAGE = "ghcr.io/intelgraph/maestro-runner:2.13"
#: The revision every rollout moves to (the stable one is the revision before).
REVISION = 2

#: How often the analysis run measures the success rate, in seconds.
MEASURE_EVERY = 60.0
#: Every Maestro rollout carries these labels and (signed, with an SBOM) annotations.
LABELS = {"app.kubernetes.io/part-of": "maestro"}
SIGNED = {"intelgraph.dev/signed": "true", "intelgraph.dev/sbom": "spdx"}

Versions = Callable[[], str]


class SimRollout:
    """One Argo Rollout: spec.paused, the current step, pause conditions and analysis."""

    def __init__(
        self,
        namespace: str,
        name: str,
        steps: tuple[CanaryStep, ...],
        step: int,
        next_version: Versions,
        *,
        success_target: float,
    ) -> None:
        self.namespace = namespace
        self.name = name
        self.steps = steps
        self.step = step
        self.success_target = success_target
        self._next_version = next_version
        self.spec_paused = False
        self.pause_condition = ""  # e.g. "CanaryPauseStep"
        self.pause_started: float | None = None
        self.aborted = False
        self.message = ""
        self.analysis = ""
        self._analysis_started = 0.0
        self._last_measure = 0.0
        self.weight = self._weight_through(step)
        self.labels = dict(LABELS)
        self.annotations = dict(SIGNED)
        self.version = next_version()
        self.revision = REVISION
        self.image = IMAGES.get(name, RUNNER_IMAGE)
        #: What the revision before ran: where an abort goes back to.
        self.stable_image = STABLE_IMAGES.get(name, STABLE_RUNNER_IMAGE)
        #: Where simulated second 0 is, for the analysis runs' start times; set by the
        #: simulator.
        self.epoch: datetime | None = None
        #: The step analyses run so far, as the AnalysisRuns the controller would make.
        self.runs: list[AnalysisRun] = []
        #: The weight the canary holds at each step, then 100: the steps never change.
        self._step_weights = (*(self._weight_through(i) for i in range(len(steps))), 100)
        self._status: tuple[tuple[object, ...], RolloutStatus] | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def done(self) -> bool:
        return self.step >= len(self.steps) and not self.aborted

    def _weight_through(self, step: int) -> int:
        weights = [s.weight for s in self.steps[:step] if s.kind == "setWeight"]
        return weights[-1] if weights else 0

    def _changed(self) -> None:
        self.version = self._next_version()

    def tick(self, t: float, success_rate: float | None) -> bool:
        """Let the controller reconcile at time `t`; True when anything changed."""
        if self.aborted or self.spec_paused or self.done:
            return False
        changed = False
        # Several instant steps (setWeight) can pass in one reconcile, as in Argo.
        while not self.done and not self.pause_condition:
            step = self.steps[self.step]
            if step.kind == "setWeight":
                self.weight = step.weight
                self.step += 1
                changed = True
            elif step.kind == "pause":
                if self.pause_started is None:
                    self.pause_started = t
                    changed = True
                if step.seconds is None:
                    self.pause_condition = "CanaryPauseStep"
                    break
                if t - self.pause_started < step.seconds:
                    break
                self.pause_started = None
                self.step += 1
                changed = True
            else:
                outcome = self._analyse(t, step, success_rate)
                changed = changed or outcome
                if self.analysis != "Successful" or self.aborted:
                    break
                self.step += 1
        if self.done and self.weight != 100:
            self.weight = 100
        if changed:
            self._changed()
        return changed

    def _analyse(self, t: float, step: CanaryStep, success_rate: float | None) -> bool:
        if self.analysis != "Running":
            self._analysis_started = self._last_measure = t
            started = None if self.epoch is None else self.epoch + timedelta(seconds=t)
            name = f"{self.name}-{self.revision}-{self.step}"
            self.runs.append(AnalysisRun(name, "Running", self.step, started))
            self._set_analysis("Running")
            return True
        if t - self._last_measure < MEASURE_EVERY:
            return False
        self._last_measure = t
        if success_rate is not None and success_rate < self.success_target:
            measured = f"success-rate {success_rate * 100:.1f}% < {self.success_target * 100:g}%"
            self._set_analysis("Failed", f"metric success-rate assessed Failed: {measured}")
            self.abort("RolloutAborted: metric success-rate assessed Failed")
            return True
        if t - self._analysis_started >= (step.seconds or 0):
            self._set_analysis("Successful")
            return True
        return False

    def _set_analysis(self, phase: str, message: str = "") -> None:
        """The current step's analysis, and its run's phase, as the controller records it."""
        self.analysis = phase
        if self.runs and self.runs[-1].phase == "Running":
            last = self.runs[-1]
            self.runs[-1] = AnalysisRun(last.name, phase, last.step, last.started, message)

    def annotate(self, key: str, value: str | None) -> None:
        """Set an annotation (None removes it), as a new revision's metadata would."""
        if value is None:
            self.annotations.pop(key, None)
        else:
            self.annotations[key] = value
        self._changed()

    # --- what operators do (the `kubectl argo rollouts` verbs) -----------------------------

    def pause(self) -> None:
        self.spec_paused = True
        self._changed()

    def resume(self) -> None:
        self.spec_paused = False
        self._changed()

    def promote(self) -> None:
        """Unpause when spec.paused; else skip the current pause or step, as the plugin does."""
        if self.spec_paused:
            self.spec_paused = False
        elif not self.done:
            step = self.steps[self.step]
            if step.kind == "setWeight":
                self.weight = step.weight
            if step.kind == "analysis" and self.analysis == "Running":
                self._set_analysis("Successful", "promoted past the analysis")
            self.step += 1
            self.pause_condition = ""
            self.pause_started = None
            if self.done:
                self.weight = 100
        self._changed()

    def abort(self, message: str = "RolloutAborted: aborted by operator") -> None:
        if self.analysis == "Running":
            self._set_analysis("Failed", "the rollout was aborted")
        self.aborted = True
        self.weight = 0
        self.pause_condition = ""
        self.pause_started = None
        self.message = message
        self._changed()

    def status(self) -> RolloutStatus:
        """The rollout as `kubectl argo rollouts get rollout` would show it: the same object
        while nothing it shows changed, so 200 quiet rollouts cost the room nothing."""
        key = (
            self.step, self.weight, self.spec_paused, self.pause_condition, self.aborted,
            self.analysis, self.message, self.version, len(self.runs),
        )  # fmt: skip
        if self._status is None or self._status[0] != key:
            self._status = (key, self._make_status())
        return self._status[1]

    def _make_status(self) -> RolloutStatus:
        if self.aborted:
            phase = RolloutPhase.DEGRADED
        elif self.spec_paused or self.pause_condition:
            phase = RolloutPhase.PAUSED
        elif self.done:
            phase = RolloutPhase.HEALTHY
        else:
            phase = RolloutPhase.PROGRESSING
        # Argo's own words: a pause condition's reason, or "manually paused" for spec.paused.
        reason = "manually paused" if self.spec_paused else self.pause_condition
        return RolloutStatus(
            namespace=self.namespace,
            name=self.name,
            phase=phase,
            step=min(self.step, len(self.steps)),
            steps=len(self.steps),
            weight=self.weight,
            analysis=self.analysis,
            pause_reason=reason if phase is RolloutPhase.PAUSED else "",
            message=self.message,
            paused=self.spec_paused or bool(self.pause_condition),
            aborted=self.aborted,
            version=self.version,
            stable=f"revision {self.revision - 1} ({self.stable_image})",
            step_weights=self._step_weights,
            canary=tuple(_detail_step(step) for step in self.steps),
            analysis_runs=tuple(self.runs),
            revision=str(self.revision),
            image=self.image,
        )


def _detail_step(step: CanaryStep) -> DetailStep:
    duration = None if step.seconds is None else timedelta(seconds=step.seconds)
    if step.kind == "analysis":
        return DetailStep("analysis", duration=duration, templates=("success-rate",))
    return DetailStep(step.kind, weight=step.weight, duration=duration)


#: The rollouts `maestro_rollouts` makes, by `namespace/name`.
MAESTRO_ROLLOUTS = (
    "maestro-system/maestro-api",
    "maestro-system/maestro-scheduler",
    "maestro-runners/executor-controller",
)


def maestro_rollouts(next_version: Versions, success_target: float) -> list[SimRollout]:
    """The control plane at T+1d2h: the API waits for a promote, the scheduler is done,
    the executor controller has just started its canary."""
    steps = MAESTRO_CANARY
    api = SimRollout("maestro-system", "maestro-api", steps, 3, next_version,
                     success_target=success_target)  # fmt: skip
    api.pause_condition = "CanaryPauseStep"
    api.pause_started = 0.0
    scheduler = SimRollout("maestro-system", "maestro-scheduler", steps, len(steps), next_version,
                           success_target=success_target)  # fmt: skip
    controller = SimRollout("maestro-runners", "executor-controller", steps, 1, next_version,
                            success_target=success_target)  # fmt: skip
    controller.weight = 10
    return [api, scheduler, controller]


#: Beyond the control plane, the runner fleet's rollouts spread over this many namespaces.
FLEET_NAMESPACES = 18


def fleet_rollouts(count: int, next_version: Versions, success_target: float) -> list[SimRollout]:
    """`count` more rollouts of the runner fleet, one per region and pool, most of them done
    and every seventh one on its way through the canary (deterministic, no draws)."""
    steps = MAESTRO_CANARY
    fleet: list[SimRollout] = []
    for index in range(count):
        namespace = f"maestro-fleet-{index % FLEET_NAMESPACES:02d}"
        name = f"runner-{index // FLEET_NAMESPACES:03d}"
        step = 1 if index % 7 == 3 else len(steps)
        rollout = SimRollout(namespace, name, steps, step, next_version,
                             success_target=success_target)  # fmt: skip
        if step == 1:
            rollout.weight = 10
        fleet.append(rollout)
    return fleet
