"""What every source offers the app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable
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


class Beat:
    """The room's refresh, for a source that steps with it rather than on a timer of its
    own: a `wait` ends on the room's next tick, in the same turn of the event loop, so the
    source's step and the tick share one wake-up of the process and one frame, and the
    tick shows the step it follows."""

    def __init__(self) -> None:
        self._waiting: list[asyncio.Future[None]] = []

    async def wait(self) -> None:
        future = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        await future

    def beat(self) -> bool:
        """Wake every source waiting; True when one was (the tick then lets it step first)."""
        waiting, self._waiting = self._waiting, []
        woken = False
        for future in waiting:
            if not future.done():  # a source cancelled while it waited is left alone
                future.set_result(None)
                woken = True
        return woken


@runtime_checkable
class Paced(Protocol):
    """A source that can step or read on the room's beat, where that saves a wake-up."""

    def step_with(self, beat: Beat, every: timedelta) -> None:
        """Take `beat`, which comes every `every`: the source decides what it does on it."""
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
