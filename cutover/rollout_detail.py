"""What Enter on a rollout shows: its canary steps (which one is current), its analysis
runs, the revision and image it moves to, and this cutover's actions on it from the audit
journal. Pure: the screen renders it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .audit import entry_operator
from .durations import format_duration
from .handover import TakenAction, pair_actions
from .rollouts import AnalysisRun, CanaryStep, RolloutStatus


@dataclass(frozen=True)
class StepLine:
    """One canary step with the weight in force once it is reached, and where the rollout
    stands on it: `done`, `current` or `to do`."""

    index: int
    step: CanaryStep
    weight: int
    place: str

    @property
    def what(self) -> str:
        step = self.step
        if step.kind == "setWeight":
            return f"set weight {step.weight}%"
        if step.kind == "pause":
            if step.duration is None:
                return "pause until promoted"
            return f"pause {format_duration(step.duration)}"
        if step.kind == "analysis":
            templates = ", ".join(step.templates) or "its templates"
            return f"analysis ({templates})"
        return step.kind


@dataclass(frozen=True)
class ActionLine:
    """One action of this cutover on the rollout, from the journal."""

    at: datetime | None
    by: str
    action: str
    outcome: str


@dataclass(frozen=True)
class RolloutDetail:
    """Everything the rollout detail screen shows about one rollout."""

    status: RolloutStatus
    steps: tuple[StepLine, ...]
    runs: tuple[AnalysisRun, ...]
    actions: tuple[ActionLine, ...]


def step_lines(status: RolloutStatus) -> tuple[StepLine, ...]:
    """The canary's steps, each with its weight and whether it is done, current or to do.
    An aborted rollout's current step is the one it was aborted on."""
    lines = []
    weight = 0
    for index, step in enumerate(status.canary):
        if step.kind == "setWeight":
            weight = step.weight
        if index < status.step:
            place = "done"
        elif index == status.step and not status.done:
            place = "current"
        else:
            place = "to do"
        lines.append(StepLine(index, step, weight, place))
    return tuple(lines)


def _touches(entry: Mapping[str, Any], key: str) -> bool:
    if entry.get("target") == key:
        return True
    changes = entry.get("changes")
    return isinstance(changes, list) and any(
        isinstance(change, Mapping) and change.get("target") == key for change in changes
    )


def rollout_actions(entries: Iterable[Mapping[str, Any]], key: str) -> tuple[ActionLine, ...]:
    """The journal's actions on rollout `key`, oldest first: its promotions and aborts,
    and the freezes that paused it (their changes name it)."""
    found: list[TakenAction] = [
        pair
        for pair in pair_actions(entries)
        if any(_touches(e, key) for e in (pair.intent, pair.result) if e is not None)
    ]
    return tuple(
        ActionLine(pair.at, entry_operator(pair.first), str(pair.first.get("action", "?")),
                   pair.outcome)
        for pair in found
    )  # fmt: skip


def rollout_detail(status: RolloutStatus, entries: Iterable[Mapping[str, Any]]) -> RolloutDetail:
    """The detail of one rollout from the room's view and the journal's entries."""
    return RolloutDetail(
        status=status,
        steps=step_lines(status),
        runs=status.analysis_runs,
        actions=rollout_actions(entries, status.key),
    )
