"""Other control rooms: who is watching, in which mode, and what they did."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

#: The modes a control room announces; anything else is a rejected presence.
MODES = frozenset({"read-only", "operator"})
#: A control room repeats its presence this often, with `seen` its time; one that missed
#: `MISSED_HEARTBEATS` in a row (killed, its last will lost) is no longer shown watching.
HEARTBEAT = timedelta(seconds=30)
MISSED_HEARTBEATS = 3


@dataclass(frozen=True)
class Presence:
    """One control room, as it announces itself on `maestro/cutover/operators/<id>`."""

    operator_id: str
    operator: str
    host: str
    since: datetime
    mode: str  # "operator" or "read-only"
    #: Its latest heartbeat; `since` for a control room that sends none.
    seen: datetime | None = None
    #: The MQTT client id it connects with: two rooms sharing one take each other's session.
    client_id: str = ""

    def payload(self, since: str, seen: str) -> dict[str, str]:
        """The contract's presence payload (times already formatted), with this project's
        heartbeat and client id."""
        body = {"operator": self.operator, "host": self.host, "since": since, "mode": self.mode}
        body["seen"] = seen
        if self.client_id:
            body["client_id"] = self.client_id
        return body

    def expired(self, now: datetime, every: timedelta = HEARTBEAT) -> bool:
        """Gone quiet: no heartbeat for `MISSED_HEARTBEATS` intervals."""
        return now - (self.seen or self.since) > every * MISSED_HEARTBEATS


@dataclass(frozen=True)
class PeerAction:
    """An action another control room journalled, as heard on the audit topic."""

    operator: str
    host: str
    action: str
    target: str
    kind: str  # "intent" or "result"
    ok: bool | None
    message: str

    @classmethod
    def from_entry(cls, entry: Mapping[str, Any]) -> PeerAction:
        """From an audit entry as published; KeyError or TypeError when it is not one."""
        operator = entry["operator"]
        result = entry.get("result") or {}
        ok = result.get("ok") if isinstance(result, Mapping) else None
        message = ""
        if isinstance(result, Mapping):
            message = str(result.get("message") or result.get("error") or "")
        return cls(
            operator=str(operator["user"]),
            host=str(operator.get("host", "")),
            action=str(entry["action"]),
            target=str(entry["target"]),
            kind=str(entry["kind"]),
            ok=ok if isinstance(ok, bool) else None,
            message=message,
        )

    @property
    def text(self) -> str:
        if self.kind == "intent":
            return f"{self.operator}@{self.host} is about to {self.action} {self.target}"
        outcome = "done" if self.ok else f"failed: {self.message}"
        return f"{self.operator}@{self.host}: {self.action} {self.target} {outcome}"
