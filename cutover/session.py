"""The control room's one runtime, without Textual: sources feed one room; a tick turns it
into a view.

A `Session` holds the room. Whatever feeds it (the live sources under their supervisor,
a recording played back, a test) hands it `Delivery` batches; whatever shows or keeps it (the
App's dashboard, the session recorder, a headless command) listens. The App, `check`,
`handover` and `replay` all drive this same object, so the loop exists once:

    session.deliver(Delivery(source, at, updates))   # applied to the room, then heard
    view = session.tick(now)                         # ticked, then evaluated into a view

A new listener implements `SessionListener` (both methods) and is added with `listen`; a new
feed calls `deliver` and `tick` (or `advance`, to move time without a view).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from .room import ControlRoom, RoomSettings, RoomView
from .updates import (
    EventsUpdate,
    GapBackfill,
    HealthState,
    HistoryBackfill,
    SourceHealth,
    Update,
)


@dataclass(frozen=True)
class Delivery:
    """What one source delivered at once: its name and the room clock's time, carried by
    the batch once rather than read back from each update."""

    source: str
    at: datetime
    updates: tuple[Update, ...]


class SessionListener(Protocol):
    """Hears the session: each batch once the room has taken it in, each tick before the
    room is evaluated (so a recorder keeps the tick in order with the batches). A listener
    does not tick the session from `heard`: whoever delivered decides when to look."""

    def heard(self, batch: Delivery) -> None:
        """`batch` is in the room."""
        ...

    def ticked(self, now: datetime) -> None:
        """The room is about to be evaluated (or advanced) at `now`."""
        ...


class Session:
    """One room, fed batches and ticked into views; the one loop under every command."""

    def __init__(self, settings: RoomSettings) -> None:
        self.settings = settings
        self.room = ControlRoom(settings)
        #: The last view a tick made; None before the first.
        self.view: RoomView | None = None
        self._listeners: list[SessionListener] = []
        #: Sources whose health has not left connecting yet.
        self._unheard: set[str] = set()
        #: Sources none of whose state has been delivered yet.
        self._unshown: set[str] = set()

    def listen(self, listener: SessionListener) -> None:
        self._listeners.append(listener)

    def register(self, sources: Iterable[str], now: datetime) -> None:
        """The sources that will feed the room: each is shown connecting until it answers."""
        for name in sources:
            self.room.register_source(name, now)
            self._unheard.add(name)
            self._unshown.add(name)

    def restart(self, room: ControlRoom, view: RoomView | None = None) -> None:
        """Go on from `room` (a replay's checkpoint, or a fresh room): nothing is heard."""
        self.room = room
        self.view = view

    def deliver(self, batch: Delivery) -> bool:
        """Apply a batch to the room, then tell the listeners. True when a screen should
        show it at once rather than at the next tick: the first batch of its source's state
        (a warming simulator's rollouts and waves), and the source's first answer (its
        health no longer connecting). History alone, or no events, is neither."""
        for update in batch.updates:
            self.room.apply(update)
        for listener in self._listeners:
            listener.heard(batch)
        source = batch.source
        if source not in self._unheard:
            return False
        first_state = source in self._unshown and any(map(_is_state, batch.updates))
        if first_state:
            self._unshown.discard(source)
        health = self.room.health.get(source)
        if health is None or health.state is HealthState.CONNECTING:
            return first_state
        self._unheard.discard(source)
        self._unshown.discard(source)
        return True

    def tick(self, now: datetime) -> RoomView:
        """Evaluate the room at `now`: the one place triggers advance and a view is made."""
        for listener in self._listeners:
            listener.ticked(now)
        self.view = self.room.evaluate(now)
        return self.view

    def advance(self, now: datetime) -> None:
        """Move the room's triggers to `now` without making a view (a replay catching up)."""
        for listener in self._listeners:
            listener.ticked(now)
        self.room.advance(now)


def delivery(source: str, at: datetime, updates: Sequence[Update]) -> Delivery:
    """A batch as a source hands it over (any sequence), kept as a tuple."""
    return Delivery(source, at, tuple(updates))


def _is_state(update: Update) -> bool:
    """What a panel shows of a source: not its health, its history or an empty batch."""
    if isinstance(update, (SourceHealth, HistoryBackfill, GapBackfill)):
        return False
    return not isinstance(update, EventsUpdate) or bool(update.events)
