"""Opening an incident: an alert posted to Alertmanager's API v2, which pages on-call.

The playbook's fifth step posts `MaestroCutoverIncident` with the trigger, severity, wave
and operator as labels (`POST /api/v2/alerts`), so the plan's Alertmanager route (the
PagerDuty receiver in `deploy/alertmanager/alertmanager.yaml`) pages whoever is on call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta, timezone

import httpx

from ..cutover.actions import ActionOutcome, ActionPlan, Change
from ..cutover.payloads import rfc3339

#: The label names the incident alert carries, from the plan's details.
LABELS = ("alertname", "trigger", "severity", "wave", "operator")
#: How long the alert stays active unless posted again: long enough to be worked.
ACTIVE_FOR = timedelta(hours=4)


def incident_alert(details: Mapping[str, str], summary: str, at: datetime) -> dict[str, object]:
    """The alert as Alertmanager's API v2 takes it (`postableAlert`)."""
    labels = {name: details[name] for name in LABELS if details.get(name)}
    return {
        "labels": labels,
        "annotations": {"summary": summary},
        "startsAt": rfc3339(at),
        "endsAt": rfc3339(at + ACTIVE_FOR),
    }


class AlertmanagerIncidents:
    """Posts the incident alert to one Alertmanager."""

    name = "alertmanager"

    def __init__(self, url: str, timeout: float, now: Callable[[], datetime] | None = None) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._now = now or (lambda: datetime.now(timezone.utc))

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        alert = incident_alert(plan.details, plan.reason, self._now())
        async with httpx.AsyncClient(timeout=self.timeout) as client:
            response = await client.post(f"{self.url}/api/v2/alerts", json=[alert])
        if not response.is_success:
            excerpt = " ".join(response.text.split())[:200]
            return ActionOutcome(False, f"Alertmanager answered {response.status_code}: {excerpt}")
        labels = alert["labels"]
        assert isinstance(labels, dict)
        said = ", ".join(f"{k}={v}" for k, v in labels.items() if k != "alertname")
        return ActionOutcome(
            True,
            f"{labels.get('alertname')} posted to {self.url} ({said}): on-call is paged",
            (Change(str(labels.get("alertname")), "alert", "—", f"firing ({said})"),),
        )
