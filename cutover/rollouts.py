"""Argo Rollouts of the Maestro control plane, as the control room shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum


class RolloutPhase(str, Enum):
    """The phases `kubectl argo rollouts get rollout` shows."""

    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    DEGRADED = "Degraded"


@dataclass(frozen=True)
class CanaryStep:
    """One step of a rollout's canary as the detail names it: `setWeight`, `pause` (with
    its duration, or None for one that waits for a promote) or `analysis`."""

    kind: str
    weight: int = 0
    duration: timedelta | None = None
    #: analysis: the templates it runs.
    templates: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalysisRun:
    """One AnalysisRun of a rollout: its phase, the step that started it, when."""

    name: str
    phase: str
    step: int | None = None
    started: datetime | None = None
    message: str = ""


@dataclass(frozen=True)
class RolloutStatus:
    """One rollout: its phase, canary step and weight, analysis and pause reasons."""

    namespace: str
    name: str
    phase: RolloutPhase
    step: int
    steps: int
    weight: int
    analysis: str = ""
    pause_reason: str = ""
    message: str = ""
    paused: bool = False
    aborted: bool = False
    version: str = ""
    #: The canary weight in force at each step, 0 to `steps`, so a promotion can say the
    #: weight it moves to; empty when not known.
    step_weights: tuple[int, ...] = ()
    #: The canary's steps, in order; empty when not known.
    canary: tuple[CanaryStep, ...] = ()
    #: The rollout's analysis runs, oldest first.
    analysis_runs: tuple[AnalysisRun, ...] = ()
    #: The revision being rolled out (`rollout.argoproj.io/revision`) and its image(s).
    revision: str = ""
    image: str = ""
    #: The stable ReplicaSet an abort goes back to, as far as it is known ("revision 1
    #: (image)", "ReplicaSet 5c9b"); empty when not known.
    stable: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def done(self) -> bool:
        return self.step >= self.steps and self.phase is RolloutPhase.HEALTHY

    @property
    def can_promote(self) -> bool:
        return not self.aborted and not self.done

    @property
    def can_abort(self) -> bool:
        return not self.aborted and not self.done
