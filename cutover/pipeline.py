"""The one way to act: plan → preconditions → confirmation → effector → announcements.

Every key, palette entry, screen and command goes through `ActionPipeline.execute`, so a
read-only control room refuses at this single point and no effector is reachable past it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cutover.actions import (
    ActionOutcome,
    ActionPlan,
    Effector,
    Precondition,
    blocking,
    check_preconditions,
)
from cutover.room import RoomView


class ActionRefused(Exception):
    """The action was not carried out; the message says why."""


class ReadOnly(ActionRefused):
    """The control room is read-only: no action can be carried out."""


class PreconditionsFailed(ActionRefused):
    """A precondition failed on live data and no override reason was given."""

    def __init__(self, failed: Sequence[Precondition]) -> None:
        self.failed = tuple(failed)
        details = "; ".join(f"{check.title}: {check.detail}" for check in self.failed)
        super().__init__(f"blocked: {details}")


@dataclass(frozen=True)
class Executed:
    """A carried-out action: the plan as confirmed, the live checks and the outcome."""

    plan: ActionPlan
    checks: tuple[Precondition, ...]
    override: str
    outcome: ActionOutcome


Announce = Callable[[Executed], None]


class ActionPipeline:
    """Runs confirmed plans through the effector, refusing when read-only or blocked."""

    def __init__(
        self,
        effector: Effector | None,
        *,
        read_only: bool,
        announcers: Sequence[Announce] = (),
    ) -> None:
        self._effector = effector
        self.read_only = read_only or effector is None
        self._announcers = list(announcers)

    @property
    def why_read_only(self) -> str:
        if self._effector is None:
            return "no source can carry out actions"
        return "read-only mode"

    def refuse_if_read_only(self) -> None:
        if self.read_only:
            raise ReadOnly(f"refused: {self.why_read_only}")

    def subscribe(self, announce: Announce) -> None:
        self._announcers.append(announce)

    async def execute(self, plan: ActionPlan, live: RoomView, override: str = "") -> Executed:
        """Check `plan` against the live view at this moment, then carry it out."""
        self.refuse_if_read_only()
        assert self._effector is not None
        checks = check_preconditions(plan, live)
        blocked = blocking(checks, override)
        if blocked:
            raise PreconditionsFailed(blocked)
        outcome = await self._effector.apply(plan)
        executed = Executed(plan, checks, override.strip(), outcome)
        for announce in self._announcers:
            announce(executed)
        return executed
