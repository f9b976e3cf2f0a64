"""Active alerts from Alertmanager (API v2, `httpx`), and silences for the operator.

Asks only for the alerts the triggers and the gate checks name (`filter=alertname=~"A|B"`),
active and neither silenced nor inhibited: a silenced CVE alert is someone's decision that it
should not drive the rollback trigger. Polls never overlap; a failure is the source's health,
with a reason.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from ..cutover.config import AlertmanagerSection
from ..cutover.updates import Alert, AlertsUpdate, HealthState, SourceHealth, Update
from .alertmanager_errors import AlertmanagerError, reason
from .alertmanager_silences import silences_update
from .base import Deliver, address_of

SOURCE = "alertmanager"
MAX_BACKOFF = 30.0
#: The whole answer's deadline when the client has no read timeout (seconds).
DEFAULT_TIMEOUT_S = 5.0


def wall_now() -> datetime:
    return datetime.now(timezone.utc)


def alertname_filter(alertnames: Iterable[str]) -> str:
    """The `filter` matcher for exactly these alert names."""
    names = sorted(set(alertnames))
    return 'alertname=~"' + "|".join(re.escape(n) for n in names) + '"'


def _time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        # Alertmanager writes nanoseconds; Python reads at most microseconds.
        trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
        try:
            return datetime.fromisoformat(trimmed)
        except ValueError:
            return None


def _mapping(value: object, what: str) -> dict[str, object]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = type(value).__name__
        raise AlertmanagerError(f"unexpected answer: {what} is {kind}, not an object")
    return value


def parse_alerts(document: object, wanted: frozenset[str]) -> tuple[Alert, ...]:
    """The alerts of a `GET /api/v2/alerts` answer that a trigger or gate check names.
    A wrong-shaped answer is an AlertmanagerError naming what was wrong, never a guess."""
    if not isinstance(document, list):
        raise AlertmanagerError("unexpected answer: not a list of alerts")
    alerts = []
    for index, item in enumerate(document):
        if not isinstance(item, dict):
            raise AlertmanagerError(f"unexpected answer: alert {index} is not an object")
        raw = _mapping(item.get("labels"), f"alert {index}'s labels")
        labels = {str(k): str(v) for k, v in raw.items()}
        name = labels.get("alertname", "")
        if name not in wanted:
            continue
        notes = _mapping(item.get("annotations"), f"alert {index}'s annotations")
        annotations = {str(k): str(v) for k, v in notes.items()}
        summary = str(annotations.get("summary") or annotations.get("description") or "")
        alerts.append(Alert(name, summary, labels, _time(item.get("startsAt")), annotations))
    return tuple(sorted(alerts, key=lambda a: (a.alertname, sorted(a.labels.items()))))


class AlertmanagerSource:
    """Polls active alerts for the alert names of the triggers and gate checks; also creates
    silences."""

    name = SOURCE

    def __init__(
        self,
        client: httpx.AsyncClient,
        alertnames: Iterable[str],
        *,
        refresh: timedelta,
        now: Callable[[], datetime] = wall_now,
    ) -> None:
        self.client = client
        self.alertnames = frozenset(alertnames)
        self.refresh = refresh
        self.now = now
        self.failures = 0

    @classmethod
    def from_config(
        cls, section: AlertmanagerSection, alertnames: Iterable[str]
    ) -> AlertmanagerSource:
        client = httpx.AsyncClient(
            base_url=section.url.rstrip("/"), timeout=section.timeout.total_seconds()
        )
        return cls(client, alertnames, refresh=section.refresh)

    async def alerts(self) -> tuple[Alert, ...]:
        """The active, unsilenced, uninhibited alerts a trigger or gate check names."""
        if not self.alertnames:
            return ()
        params = {
            "active": "true",
            "silenced": "false",
            "inhibited": "false",
            "filter": alertname_filter(self.alertnames),
        }
        # httpx's timeout is per read: a server sending a byte at a time would hold the
        # refresh for ever. The whole answer gets the read timeout.
        deadline = self.client.timeout.read or DEFAULT_TIMEOUT_S
        try:
            response = await asyncio.wait_for(
                self.client.get("/api/v2/alerts", params=params), deadline
            )
            response.raise_for_status()
            document = response.json()
        except TimeoutError as error:
            raise AlertmanagerError(f"timed out after {deadline:g} s") from error
        except (httpx.HTTPError, ValueError) as error:
            if isinstance(error, ValueError) and not isinstance(error, httpx.HTTPError):
                raise AlertmanagerError("not an Alertmanager answer (not JSON)") from error
            raise AlertmanagerError(reason(error)) from error
        return parse_alerts(document, self.alertnames)

    async def poll(self) -> list[Update]:
        now = self.now()
        try:
            alerts = await self.alerts()
        except AlertmanagerError as error:
            self.failures += 1
            return [SourceHealth(SOURCE, HealthState.ERROR, now, str(error))]
        self.failures = 0
        updates: list[Update] = [AlertsUpdate(SOURCE, alerts, now)]
        updates += await silences_update(self.client, self.alertnames, now)
        return [*updates, SourceHealth(SOURCE, HealthState.CONNECTED, now)]

    async def run(self, deliver: Deliver) -> None:
        try:
            while True:
                updates = await self.poll()
                refresh = self.refresh.total_seconds()
                # Back off after failures, never more than 30 s (or the refresh, if longer).
                delay = min(max(refresh, MAX_BACKOFF), refresh * 2 ** min(self.failures, 6))
                last = updates[-1]
                if isinstance(last, SourceHealth) and last.state is HealthState.ERROR:
                    updates[-1] = replace(
                        last,
                        address=address_of(str(self.client.base_url)),
                        retry_at=last.at + timedelta(seconds=delay),
                    )
                deliver(updates)
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            # Closed only when the app stops it: after any other end the supervisor runs
            # this source again, on the same client.
            await self.client.aclose()
            raise

    async def silence(
        self,
        matchers: Mapping[str, str],
        duration: timedelta,
        comment: str,
        created_by: str,
    ) -> str:
        """Silence alerts whose labels equal `matchers` for `duration`; the silence id."""
        if not matchers:
            raise ValueError("a silence needs at least one matcher")
        start = self.now()
        body: dict[str, Any] = {
            "matchers": [
                {"name": name, "value": value, "isRegex": False, "isEqual": True}
                for name, value in sorted(matchers.items())
            ],
            "startsAt": start.isoformat(),
            "endsAt": (start + duration).isoformat(),
            "createdBy": created_by,
            "comment": comment,
        }
        try:
            response = await self.client.post("/api/v2/silences", json=body)
            response.raise_for_status()
            return str(response.json()["silenceID"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as error:
            # TypeError: an answer that is JSON but not an object (a list, a string).
            said = reason(error) if isinstance(error, httpx.HTTPError) else "unexpected answer"
            raise AlertmanagerError(f"silence not created: {said}") from error
