"""The cutover freeze: promotions stopped and rollouts paused, by whom and why."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FreezeState:
    """The shared freeze state, as every control room and the CD system read it."""

    frozen: bool
    by: str = ""
    reason: str = ""
    at: datetime | None = None
    paused_by_freeze: tuple[str, ...] = ()
    version: str = ""


UNFROZEN = FreezeState(False)
