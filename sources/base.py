"""What every source offers the app."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol
from urllib.parse import urlsplit

from ..cutover.updates import Update

#: Hands a batch of updates to the app; safe to call from the source's own task.
Deliver = Callable[[Sequence[Update]], None]


class Source(Protocol):
    """A backend the control room watches."""

    name: str

    async def run(self, deliver: Deliver) -> None:
        """Watch the backend until cancelled, delivering updates as they come."""
        ...


class Clock(Protocol):
    """Where `now` comes from: the wall clock, or the simulator's clock."""

    def now(self) -> datetime: ...


def address_of(url: str) -> str:
    """`https://prom.example:9091/api` → `prom.example:9091`; the scheme's port when none
    is written, so a failure always names the port it tried."""
    parts = urlsplit(url)
    host = parts.hostname or url
    port = parts.port or {"https": 443, "http": 80}.get(parts.scheme)
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"{host}:{port}" if port else host
