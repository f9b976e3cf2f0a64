"""The exec update: the playbook's sixth step, one message to Slack and as a Grafana
annotation, as the operator edited it from the template."""

from __future__ import annotations

from datetime import datetime, timezone

from ..cutover.actions import ActionOutcome, ActionPlan, Change
from .grafana import GrafanaAnnouncer
from .slack import SlackAnnouncer


class ExecUpdate:
    """Sends the message to each configured channel; done when at least one took it, and
    the outcome names each that failed."""

    name = "exec-update"

    def __init__(self, slack: SlackAnnouncer | None, grafana: GrafanaAnnouncer | None) -> None:
        self.slack = slack
        self.grafana = grafana

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        message = plan.reason
        at = datetime.now(timezone.utc)
        sends = []
        if self.slack is not None:
            sends.append(("slack", self.slack.post_text(message)))
        if self.grafana is not None:
            sends.append(("grafana", self.grafana.post_text(message, "exec update", at)))
        sent: list[str] = []
        failed: list[str] = []
        for name, send in sends:
            try:
                await send
                sent.append(name)
            except Exception as error:  # each channel on its own: one down is said, not fatal
                failed.append(f"{name}: {error}")
        note = f"; not sent: {'; '.join(failed)}" if failed else ""
        if not sent:
            return ActionOutcome(False, "exec update not sent" + (note or ": no channel"))
        return ActionOutcome(
            True,
            f"exec update sent to {' and '.join(sent)}{note}",
            tuple(Change("exec update", name, "—", "sent") for name in sent),
        )
