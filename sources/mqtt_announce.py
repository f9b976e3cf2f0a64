"""Announcing actions over MQTT: the retained freeze state, and every audit entry."""

from __future__ import annotations

from ..cutover.actions import ActionKind
from ..cutover.freeze import FreezeState
from ..cutover.payloads import freeze_payload
from ..cutover.pipeline import Executed
from .mqtt import MqttSource


class MqttAnnouncer:
    """Publishes on the control room's own MQTT connection after each action.

    The freeze state is retained, so a control room or CD job that connects later reads the
    current freeze at once; audit entries are published as the journal wrote them.
    """

    name = "mqtt"

    def __init__(self, source: MqttSource, *, freeze: bool, audit: bool) -> None:
        self.source = source
        self.freeze = freeze
        self.audit = audit

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
