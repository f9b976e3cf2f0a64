"""The one way to act: plan → read-only refusal → preconditions on live data → audit intent
→ effector → audit result → announcements.

Every key, palette entry, screen and command goes through `ActionPipeline.execute`, so a
read-only control room refuses at this single point and no effector is reachable past it.
The intent is durable in the journal before the effector is called; if it cannot be written
the action does not happen. Announcements come last: one that fails is reported back and
never undoes the action.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, Protocol

from .actions import (
    ActionKind,
    ActionOutcome,
    ActionPlan,
    Change,
    Effector,
    Precondition,
    TargetChanged,
    blocking,
    check_preconditions,
)
from .audit import (
    AuditEntry,
    AuditRecord,
    Operator,
    intent_record,
    result_record,
)
from .room import RoomView
from .signers import UNRESTRICTED, SignoffPolicy

#: The actions `[signoffs]` decides who may take.
SIGNING = frozenset({ActionKind.SIGN_OFF, ActionKind.WITHDRAW_SIGNOFF})


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


class NotTheSigner(ActionRefused):
    """A sign-off by someone `[signoffs]` does not name for the role."""


class JournalUnavailable(ActionRefused):
    """The audit intent could not be written, so the action was not carried out."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"not done: the audit journal cannot be written: {reason}")


class AuditSink(Protocol):
    """Where audit entries go, durably: `write` returns once the entry is safe, and raises
    when it cannot be written."""

    def write(self, record: AuditRecord) -> AuditEntry: ...


@dataclass(frozen=True)
class AnnounceFailure:
    """One announcer that could not tell its audience; the action stands regardless."""

    announcer: str
    error: str

    def __str__(self) -> str:
        return f"{self.announcer}: {self.error}"


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Executed:
    """A carried-out action: the plan as confirmed, the live checks and the outcome."""

    plan: ActionPlan
    checks: tuple[Precondition, ...]
    override: str
    outcome: ActionOutcome
    #: When the effector finished (wall clock).
    at: datetime = field(default_factory=_now)
    #: The intent and result entries as journalled; empty without a journal.
    audit: tuple[AuditEntry, ...] = ()
    #: The result entry could not be written (the action did happen): why.
    journal_error: str = ""
    #: Announcers that failed; the action stands.
    announce_errors: tuple[AnnounceFailure, ...] = ()


#: Hears of every carried-out action: a plain function, or a coroutine function such as the
#: Grafana and Slack announcers. Its `name` attribute, if any, labels its failures.
Announce = Callable[[Executed], Awaitable[None] | None]


class ActionPipeline:
    """Runs confirmed plans through the journal and the effector, refusing when read-only,
    blocked by a live check, or unable to write the audit intent."""

    def __init__(
        self,
        effector: Effector | None,
        *,
        read_only: bool,
        announcers: Sequence[Announce] = (),
        journal: AuditSink | None = None,
        operator: Operator | None = None,
        now: Callable[[], datetime] = _now,
        signoffs: SignoffPolicy = UNRESTRICTED,
    ) -> None:
        self._effector = effector
        self.signoffs = signoffs
        self.read_only = read_only or effector is None
        self._announcers = list(announcers)
        self.journal = journal
        self._operator = operator
        self._now = now

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

    def operator_for(self, plan: ActionPlan) -> Operator:
        return self._operator or Operator(user=plan.operator)

    async def execute(self, plan: ActionPlan, live: RoomView, override: str = "") -> Executed:
        """Check `plan` against the live view at this moment, journal it, then carry it out.

        Raises ActionRefused (nothing was done), TargetChanged or the effector's own error
        (journalled as the result's error)."""
        self.refuse_if_read_only()
        effector = self._effector
        assert effector is not None
        if plan.kind in SIGNING:
            # Here too, not only when planning: every way to act passes this point.
            permitted, why = self.signoffs.may_sign(plan.target, plan.signer)
            if not permitted:
                raise NotTheSigner(f"refused: {why}")
        checks = check_preconditions(plan, live)
        override = override.strip()
        blocked = blocking(checks, override)
        if blocked:
            raise PreconditionsFailed(blocked)
        intent = intent_record(
            plan, self.operator_for(plan), checks, override, self._now(), effector.name
        )
        entries: list[AuditEntry] = []
        if self.journal is not None:
            try:
                entries.append(self.journal.write(intent))
            except Exception as error:  # whatever the sink's failure, nothing may happen
                raise JournalUnavailable(str(error) or type(error).__name__) from error
        intent_seq = entries[0].seq if entries else 0
        try:
            outcome = await effector.apply(plan)
        except Exception as error:
            label = "target changed" if isinstance(error, TargetChanged) else type(error).__name__
            failure = {"error": f"{label}: {error}"}
            # A result that cannot be written shows in the journal as an intent without one.
            self._journal_result(intent, intent_seq, failure, None, entries)
            raise
        result: Mapping[str, Any] = {"ok": outcome.ok, "message": outcome.message}
        journal_error = self._journal_result(
            intent, intent_seq, result, outcome.changes or None, entries
        )
        executed = Executed(
            plan, checks, override, outcome, self._now(), tuple(entries), journal_error
        )
        failures = await self._announce(executed)
        return replace(executed, announce_errors=failures) if failures else executed

    def _journal_result(
        self,
        intent: AuditRecord,
        intent_seq: int,
        result: Mapping[str, Any],
        changes: tuple[Change, ...] | None,
        entries: list[AuditEntry],
    ) -> str:
        """Write the result entry; the action already happened, so a failure is returned
        for the operator to see rather than raised."""
        if self.journal is None:
            return ""
        record = result_record(intent, intent_seq, result, self._now(), changes)
        try:
            entries.append(self.journal.write(record))
        except Exception as error:
            return str(error) or type(error).__name__
        return ""

    async def _announce(self, executed: Executed) -> tuple[AnnounceFailure, ...]:
        """Every announcer at once; each failure is kept, none is raised."""

        async def one(announce: Announce) -> AnnounceFailure | None:
            name = str(getattr(announce, "name", "") or getattr(announce, "__name__", "announcer"))
            try:
                pending = announce(executed)
                if inspect.isawaitable(pending):
                    await pending
            except Exception as error:
                return AnnounceFailure(name, str(error) or type(error).__name__)
            return None

        results = await asyncio.gather(*(one(announce) for announce in self._announcers))
        return tuple(failure for failure in results if failure is not None)
