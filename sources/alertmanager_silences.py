"""Silences through Alertmanager's API v2 (`httpx`): read the ones on the triggers' alerts,
create one (`POST /api/v2/silences`) and expire it (`DELETE /api/v2/silence/{id}`), as the
effector of the silence actions. Every other action goes to the room's own effector."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from ..cutover.actions import ActionKind, ActionOutcome, ActionPlan, Change, Effector
from ..cutover.durations import format_duration
from ..cutover.response_actions import SILENCE_DURATION
from ..cutover.silences import Silence, Silences, parse_silences
from ..cutover.updates import SilencesUpdate
from .alertmanager_errors import AlertmanagerError, reason

#: The actions Alertmanager carries out.
SILENCE_KINDS = frozenset({ActionKind.SILENCE, ActionKind.EXPIRE_SILENCE})


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def fetch_silences(
    client: httpx.AsyncClient, alertnames: Iterable[str]
) -> tuple[Silence, ...]:
    """The active silences on these alert names (`GET /api/v2/silences`). Chosen here, not
    with `filter`: Alertmanager matches a silence filter against the silence's own matchers,
    so a regex filter finds no equality-matched silence."""
    names = frozenset(alertnames)
    if not names:
        return ()
    try:
        response = await client.get("/api/v2/silences")
        response.raise_for_status()
        document = response.json()
    except httpx.HTTPError as error:
        raise AlertmanagerError(f"silences: {reason(error)}") from error
    except ValueError as error:
        raise AlertmanagerError("silences: not an Alertmanager answer (not JSON)") from error
    return tuple(
        s
        for s in parse_silences(document)
        if s.state == "active" and s.matchers.get("alertname") in names
    )


class AlertmanagerSilencer:
    """Creates and expires silences as the operator who confirmed the plan."""

    name = "alertmanager"

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        duration: timedelta = SILENCE_DURATION,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.client = client
        self.duration = duration
        self.now = now

    @classmethod
    def for_url(cls, url: str, timeout: float = 5.0) -> AlertmanagerSilencer:
        return cls(httpx.AsyncClient(base_url=url.rstrip("/"), timeout=timeout))

    async def create(self, alertname: str, comment: str, created_by: str) -> str:
        start = self.now()
        body: dict[str, Any] = {
            "matchers": [
                {"name": "alertname", "value": alertname, "isRegex": False, "isEqual": True}
            ],
            "startsAt": _rfc3339(start),
            "endsAt": _rfc3339(start + self.duration),
            "createdBy": created_by,
            "comment": comment or f"silenced from the control room by {created_by}",
        }
        try:
            response = await self.client.post("/api/v2/silences", json=body)
            response.raise_for_status()
            return str(response.json()["silenceID"])
        except httpx.HTTPError as error:
            raise AlertmanagerError(f"silence not created: {reason(error)}") from error
        except (ValueError, KeyError) as error:
            raise AlertmanagerError("silence not created: unexpected answer") from error

    async def expire(self, silence_id: str) -> None:
        try:
            response = await self.client.delete(f"/api/v2/silence/{silence_id}")
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise AlertmanagerError(f"silence {silence_id} not expired: {reason(error)}") from error

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        alertname = plan.target
        if plan.kind is ActionKind.SILENCE:
            silence_id = await self.create(alertname, plan.reason, plan.operator)
            after = f"silenced for {format_duration(self.duration)} by {plan.operator}"
            return ActionOutcome(
                True,
                f"{alertname} silenced for {format_duration(self.duration)} ({silence_id})",
                (Change(alertname, "silence", "none", f"{after} ({silence_id})"),),
            )
        active = [
            s for s in await fetch_silences(self.client, [alertname]) if s.silences(alertname)
        ]
        if not active:
            return ActionOutcome(False, f"{alertname} has no active silence to expire")
        for silence in active:
            await self.expire(silence.id)
        ids = ", ".join(s.id for s in active)
        return ActionOutcome(
            True,
            f"silence on {alertname} expired ({ids})",
            tuple(Change(alertname, "silence", s.id, "expired") for s in active),
        )


class ResponseEffector:
    """The room's effector, with the silence actions carried out by Alertmanager."""

    def __init__(self, effector: Effector, silencer: AlertmanagerSilencer) -> None:
        self.effector = effector
        self.silencer = silencer
        self.name = effector.name

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        if plan.kind in SILENCE_KINDS:
            return await self.silencer.apply(plan)
        return await self.effector.apply(plan)


async def silences_update(
    client: httpx.AsyncClient, alertnames: Iterable[str], now: datetime
) -> list[SilencesUpdate]:
    """The silences, for the room; none when they cannot be read this time (the alerts
    were, so the source stays up, and the last silences known stand)."""
    try:
        found = await fetch_silences(client, alertnames)
    except AlertmanagerError:
        return []
    return [SilencesUpdate("alertmanager", Silences(found, "alertmanager"), now)]
