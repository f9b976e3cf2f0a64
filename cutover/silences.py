"""Alertmanager silences on the alerts behind the rollback triggers: what a silence is, how
one reads from `GET /api/v2/silences`. Pure: the silencer in sources/ does the I/O; the
plans are in cutover/response_actions.py."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Silence:
    """One Alertmanager silence: equality matchers only are kept (the ones this room makes)."""

    id: str
    matchers: Mapping[str, str]
    created_by: str
    comment: str
    starts: datetime | None
    ends: datetime | None
    state: str = "active"

    def silences(self, alertname: str) -> bool:
        return self.state == "active" and self.matchers.get("alertname") == alertname


@dataclass(frozen=True)
class Silences:
    """The silences Alertmanager holds for the alerts the triggers name, as of one poll."""

    items: tuple[Silence, ...] = ()
    #: Where they come from; empty when no Alertmanager answers (nothing can be silenced).
    source: str = ""

    def of(self, alertname: str | None) -> Silence | None:
        """The active silence on `alertname` that lasts longest."""
        if not alertname:
            return None
        found = [s for s in self.items if s.silences(alertname)]
        return max(found, key=lambda s: s.ends or datetime.min, default=None)


def _time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    trimmed = re.sub(r"(\.\d{6})\d+", r"\1", text.replace("Z", "+00:00"))
    try:
        return datetime.fromisoformat(trimmed)
    except ValueError:
        return None


def parse_silences(document: object) -> tuple[Silence, ...]:
    """The silences of a `GET /api/v2/silences` answer; anything malformed is skipped."""
    if not isinstance(document, list):
        return ()
    found = []
    for item in document:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        matchers = {
            str(m.get("name")): str(m.get("value"))
            for m in item.get("matchers") or ()
            if isinstance(m, dict) and not m.get("isRegex") and m.get("isEqual", True)
        }
        status = item.get("status")
        state = str(status.get("state", "")) if isinstance(status, dict) else ""
        found.append(
            Silence(
                str(item["id"]),
                matchers,
                str(item.get("createdBy") or ""),
                str(item.get("comment") or ""),
                _time(item.get("startsAt")),
                _time(item.get("endsAt")),
                state,
            )
        )
    return tuple(found)


def silence_note(silence: Silence) -> str:
    """`silenced until 13:05 by alice`, for the trigger's row."""
    until = f" until {silence.ends:%H:%M}" if silence.ends else ""
    return f"silenced{until} by {silence.created_by or 'someone'}"
