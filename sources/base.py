"""What every source offers the app."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from cutover.updates import Update

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
