"""Announcing actions over MQTT: the retained freeze state, and every audit entry."""

from __future__ import annotations

from collections.abc import Callable

from ..cutover.actions import ActionKind
from ..cutover.freeze import FreezeState
from ..cutover.payloads import freeze_payload
from ..cutover.pipeline import Executed
from ..cutover.playbook import PlaybookRun
from ..cutover.playbook_plans import step_of
from ..cutover.routing import Routing
from .mqtt import MqttSource


class MqttAnnouncer:
    """Publishes on the control room's own MQTT connection after each action.

    The freeze state is retained, so a control room or CD job that connects later reads the
    current freeze at once; audit entries are published as the journal wrote them.
    """

    name = "mqtt"

    def __init__(
        self,
        source: MqttSource,
        *,
        freeze: bool,
        audit: bool,
        playbook: Callable[[], PlaybookRun | None] | None = None,
        routing: Callable[[], Routing | None] | None = None,
    ) -> None:
        self.source = source
        self.freeze = freeze
        self.audit = audit
        #: The run and the routing as last written by this room's effector, retained so a
        #: room that connects later shows "step 3 done by alice" at once.
        self.playbook = playbook
        self.routing = routing

    async def __call__(self, executed: Executed) -> None:
        section = self.source.section
        if self.audit:
            for entry in executed.audit:
                await self.source.publish(section.audit_topic, entry.body)
        kind = executed.plan.kind
        if self.freeze and executed.outcome.ok and kind in (ActionKind.FREEZE, ActionKind.UNFREEZE):
            state = FreezeState(
                frozen=kind is ActionKind.FREEZE,
                by=executed.plan.operator,
                reason=executed.plan.reason if kind is ActionKind.FREEZE else "unfrozen",
                at=executed.at,
            )
            await self.source.publish(section.freeze_topic, freeze_payload(state), retain=True)
        if not executed.outcome.ok:
            return
        run = self.playbook() if self.playbook is not None and step_of(executed.plan) else None
        if run is not None:
            await self.source.publish(section.playbook_topic, run.payload(), retain=True)
        routing = (
            self.routing() if self.routing is not None and kind is ActionKind.REPOINT else None
        )
        if routing is not None:
            await self.source.publish(section.routing_topic, routing.payload(), retain=True)
