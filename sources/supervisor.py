"""One supervisor for every source: whatever ends a source's run, it is started again.

A source handles the failures it expects (a server down, a refused answer) itself and says
so in its health. Anything else (a wrong-shaped answer no parser foresaw, a bug) would end
its task and leave its panels frozen on the last reading; here it becomes the source's
health, in error with the exception's type and message, and the source is run again after
a backoff, so it recovers on its own once the server answers well again.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from ..cutover.updates import HealthState, SourceHealth, Update
from .base import Deliver, Source

log = logging.getLogger(__name__)

#: How long a message may be in the health row before it is cut.
REASON_LENGTH = 120


@dataclass(frozen=True)
class Backoff:
    """Seconds between restarts: doubling from `first` to `most`, jittered; a run that
    lasted `healthy` seconds or more starts the doubling over."""

    first: float = 0.5
    most: float = 30.0
    healthy: float = 60.0

    def delay(self, failures: int) -> float:
        ceiling = min(self.most, self.first * 2 ** max(0, failures - 1))
        # Jitter, so that many control rooms do not restart against a server in step.
        return float(ceiling * random.uniform(0.8, 1.0))


def failure_reason(error: BaseException) -> str:
    """The exception's type and message, short enough for the health row."""
    message = " ".join(str(error).split())
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    return text if len(text) <= REASON_LENGTH else text[: REASON_LENGTH - 1] + "…"


class SourceSupervisor:
    """Runs one source until cancelled, restarting it after any exception or return."""

    def __init__(
        self,
        source: Source,
        deliver: Deliver,
        now: Callable[[], datetime],
        backoff: Backoff | None = None,
    ) -> None:
        self.source = source
        self.deliver = deliver
        self.now = now
        self.backoff = backoff or Backoff()
        #: Restarts so far, and the last failure's reason, for the diagnostics and tests.
        self.restarts = 0
        self.last_failure = ""

    async def run(self) -> None:
        failures = 0
        name = self.source.name
        while True:
            started = time.monotonic()
            try:
                await self.source.run(self.deliver)
                reason = "stopped by itself"
            except asyncio.CancelledError:
                raise
            except Exception as error:
                reason = failure_reason(error)
                log.exception("source %s failed", name)
            if time.monotonic() - started >= self.backoff.healthy:
                failures = 0
            failures += 1
            delay = self.backoff.delay(failures)
            self.restarts += 1
            self.last_failure = reason
            health = SourceHealth(
                name, HealthState.ERROR, self.now(), f"{reason}; restarting in {delay:.1f}s"
            )
            self._tell([health])
            await asyncio.sleep(delay)

    def _tell(self, updates: Sequence[Update]) -> None:
        # The failure is told through the same delivery; should that fail too, it is logged
        # and the restart goes ahead regardless.
        try:
            self.deliver(updates)
        except Exception:
            log.exception("could not deliver the health of source %s", self.source.name)


async def supervise(
    source: Source,
    deliver: Deliver,
    now: Callable[[], datetime],
    backoff: Backoff | None = None,
) -> None:
    """Run `source` under a supervisor until cancelled."""
    await SourceSupervisor(source, deliver, now, backoff).run()
