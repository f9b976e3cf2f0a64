"""Garbage in reference cycles, collected in full on the room's tick once a minute.

The dashboard freezes what it built at mount and raises the young generation to 20,000
objects, so that a burst's events are freed by their reference counts before a collection
comes. What outlives that is garbage in cycles, Textual's strips and the caches they keep
(in 90 s at 300 events/s: 1,414 caches, 202 strips, 477 segments). At that rate the young
generation filled once every few minutes and a full collection came less than once an
hour; memory grew with the garbage meanwhile, 16 MB/h where a collection every 30 s held
it to 4. A full collection walks only what is not frozen: under 30 ms there, once a minute,
on a tick that is awake anyway."""

from __future__ import annotations

import gc

#: Seconds between two full collections.
COLLECT_EVERY = 60.0


class CycleCollector:
    """Runs a full collection when `COLLECT_EVERY` has passed since the last one."""

    def __init__(self, every: float = COLLECT_EVERY) -> None:
        self.every = every
        self._last: float | None = None
        self.collections = 0

    def collect_when_due(self, now: float) -> bool:
        """At `now` (a monotonic clock's seconds): collect if due; True if it did."""
        if self._last is None:
            self._last = now  # the first tick starts the period
            return False
        if now - self._last < self.every:
            return False
        self._last = now
        gc.collect()
        self.collections += 1
        return True
