"""The control room without a screen: run the configured sources until each has answered,
and take one view. For commands that report and exit (`handover`, `check`)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from functools import partial

from ..cutover.room import ControlRoom, RoomView
from ..cutover.updates import HealthState, SourceHealth, Update
from ..sources.supervisor import supervise
from .build import room_parts
from .configfile import LoadedConfig


def every_source_answered(room: ControlRoom) -> bool:
    """Each registered source has delivered something, or failed with a reason: an error is
    an answer too, and the view shows it rather than waiting for the timeout."""
    return all(health.state is not HealthState.CONNECTING for health in room.health.values())


async def gather_view(
    loaded: LoadedConfig,
    timeout: float,
    ready: Callable[[ControlRoom], bool] | None = None,
    *,
    context: str | None = None,
) -> tuple[ControlRoom, RoomView]:
    """Run the config's sources as tasks feeding one room until `ready(room)` (by default:
    every source answered) or `timeout` seconds pass, then stop them and evaluate the room.

    Raises ConfigError as `build_app` does. A source that has not answered by the timeout
    is shown as connecting, and everything it feeds as not current."""
    parts = room_parts(loaded, context)
    room = ControlRoom(parts.settings)
    for source in parts.sources:
        room.register_source(source.name, parts.clock.now())
    done = asyncio.Event()
    is_ready = ready or every_source_answered

    def deliver(updates: Sequence[Update]) -> None:
        for update in updates:
            room.apply(update)
        if is_ready(room):
            done.set()

    def ended(name: str, task: asyncio.Task[None]) -> None:
        # The supervisor never ends by itself; should it, the source is shown in error.
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            reason = str(error) or type(error).__name__
            deliver([SourceHealth(name, HealthState.ERROR, parts.clock.now(), reason)])

    tasks: list[asyncio.Task[None]] = []
    for source in parts.sources:
        task = asyncio.create_task(supervise(source, deliver, parts.clock.now), name=source.name)
        task.add_done_callback(partial(ended, source.name))
        tasks.append(task)
    try:
        if not is_ready(room):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return room, room.evaluate(parts.clock.now())
