"""The control room without a screen: the configured sources feed one session until each
has answered, and one tick makes the view. For commands that report and exit (`handover`,
`check`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from functools import partial

from ..cutover.room import ControlRoom, RoomView
from ..cutover.session import Delivery, Session
from ..cutover.updates import HealthState, SourceHealth, Update
from ..sources.base import Clock, Source
from ..sources.supervisor import supervise
from .composition import room_parts
from .configfile import LoadedConfig


def every_source_answered(room: ControlRoom) -> bool:
    """Each registered source has delivered something, or failed with a reason: an error is
    an answer too, and the view shows it rather than waiting for the timeout."""
    return all(health.state is not HealthState.CONNECTING for health in room.health.values())


async def feed_until(
    session: Session,
    sources: Sequence[Source],
    clock: Clock,
    ready: Callable[[ControlRoom], bool],
    timeout: float,
) -> None:
    """Run `sources` as tasks feeding `session` until `ready(room)` or `timeout` seconds
    pass, then stop them."""
    done = asyncio.Event()

    def deliver(name: str, updates: Sequence[Update]) -> None:
        session.deliver(Delivery(name, clock.now(), tuple(updates)))
        if ready(session.room):
            done.set()

    def ended(name: str, task: asyncio.Task[None]) -> None:
        # The supervisor never ends by itself; should it, the source is shown in error.
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            reason = str(error) or type(error).__name__
            deliver(name, [SourceHealth(name, HealthState.ERROR, clock.now(), reason)])

    tasks: list[asyncio.Task[None]] = []
    for source in sources:
        task = asyncio.create_task(
            supervise(source, partial(deliver, source.name), clock.now), name=source.name
        )
        task.add_done_callback(partial(ended, source.name))
        tasks.append(task)
    try:
        if not ready(session.room):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def gather_view(
    loaded: LoadedConfig,
    timeout: float,
    ready: Callable[[ControlRoom], bool] | None = None,
    *,
    context: str | None = None,
) -> tuple[ControlRoom, RoomView]:
    """Feed one session from the config's sources until `ready(room)` (by default: every
    source answered) or `timeout` seconds pass, then stop them and tick it once.

    Raises ConfigError as `compose` does. A source that has not answered by the timeout is
    shown as connecting, and everything it feeds as not current."""
    parts = room_parts(loaded, context)
    session = Session(parts.settings)
    session.register((source.name for source in parts.sources), parts.clock.now())
    await feed_until(session, parts.sources, parts.clock, ready or every_source_answered, timeout)
    return session.room, session.tick(parts.clock.now())
