"""Argo Rollouts of the Maestro control plane, as the control room shows them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class RolloutPhase(str, Enum):
    """The phases `kubectl argo rollouts get rollout` shows."""

    HEALTHY = "Healthy"
    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    DEGRADED = "Degraded"


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
    #: The revision rolling out (`rollout.argoproj.io/revision`) and its image; the stable
    #: ReplicaSet an abort goes back to, as far as it is known ("revision 6 (image)",
    #: "ReplicaSet 5c9b"). Empty when not known.
    revision: str = ""
    image: str = ""
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
