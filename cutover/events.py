"""Build and platform events, as the event stream shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class BuildEvent:
    """A job's lifecycle event, from `maestro/events/<repo>`."""

    event: str
    id: str
    repo: str
    wave: str
    ts: datetime
    status: str = ""
    queue_wait_s: float = 0.0
    duration_s: float = 0.0
    runner: str = ""

    @property
    def severity(self) -> str:
        return "warning" if self.status in ("failure", "error") else "info"

    @property
    def text(self) -> str:
        if self.event == "job.finished":
            return f"{self.repo} {self.id} {self.status} in {self.duration_s:.0f}s on {self.runner}"
        if self.event == "job.started":
            return f"{self.repo} {self.id} started after {self.queue_wait_s:.0f}s wait"
        return f"{self.repo} {self.id} {self.event.removeprefix('job.')}"


@dataclass(frozen=True)
class PlatformEvent:
    """A platform event, from `maestro/platform`."""

    event: str
    severity: str
    message: str
    ts: datetime
    cve: str = ""

    @property
    def text(self) -> str:
        return f"{self.event} {self.message}" + (f" ({self.cve})" if self.cve else "")


StreamEvent = BuildEvent | PlatformEvent
