"""The rollback playbook's steps, carried out: each to the backend it acts on, then the
step written into the run (the ConfigMap's `playbook`, or the simulator's), so every
control room shows it and a restart resumes it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from typing import Protocol

from ..cutover.actions import ActionKind, ActionOutcome, ActionPlan, Effector
from ..cutover.playbook import PlaybookRun, StepRecord, StepState
from ..cutover.playbook_plans import step_of
from ..cutover.routing import Routing


class PlaybookStore(Protocol):
    """Where the run is kept: the cluster's ConfigMap or the simulator."""

    async def record_step(self, record: StepRecord, trigger: str) -> PlaybookRun: ...


class StepBackend(Protocol):
    name: str

    async def apply(self, plan: ActionPlan) -> ActionOutcome: ...


class PlaybookEffector:
    """The room's effector, with the steps that act outside the cluster sent where they act
    (logs to a bundle, the incident to Alertmanager, the exec update to Slack and Grafana)
    and every step taken recorded in the run. Without a backend of its own a step goes to
    the room's effector: the simulator stands in for Alertmanager and the exec channel."""

    def __init__(
        self,
        effector: Effector,
        store: PlaybookStore | None,
        backends: dict[ActionKind, StepBackend],
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.effector = effector
        self.store = store
        self.backends = backends
        self.name = effector.name
        self._now = now or (lambda: datetime.now(timezone.utc))
        #: The run as last written here, for the MQTT announcement.
        self.run: PlaybookRun | None = None

    @property
    def routing(self) -> Routing | None:
        """The routing switch as the store last wrote it."""
        found = getattr(self.store, "routing", None)
        return found if isinstance(found, Routing) else None

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        backend = self.backends.get(plan.kind)
        outcome = await (backend or self.effector).apply(plan)
        step = step_of(plan)
        if not step or not outcome.ok:
            return outcome
        if self.store is None:
            return replace(outcome, message=outcome.message + "; no playbook run is kept here")
        skipped = plan.kind is ActionKind.SKIP_STEP
        record = StepRecord(
            step,
            StepState.SKIPPED if skipped else StepState.DONE,
            plan.operator,
            self._now(),
            "" if skipped else outcome.message[:400],
            plan.reason if skipped else "",
        )
        try:
            self.run = await self.store.record_step(record, plan.details.get("trigger", ""))
        except Exception as error:  # the step happened: say the record did not
            note = f"; the playbook's record of it was not written: {error}"
            return replace(outcome, message=outcome.message + note)
        return outcome
