"""The plan's Definition of Done (§1): Tier-0/Tier-1 services build on Maestro by default; a
rollback path exists; SLOs green for two weeks; audit and security sign-offs complete.

Each item is done, not done, or unknown (its inputs are not current), never guessed. The SLO
item follows every KPI's current green streak: a breach restarts it; a reading that is not
current neither extends nor breaks it, but leaves the item unknown. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .durations import format_duration, format_minutes
from .gates import CheckState, Signoffs
from .kpis import KpiVerdict
from .smoke import RunState, VerificationView
from .waves import RepoState, Workbook

GREEN = frozenset({KpiVerdict.OK, KpiVerdict.WARN})


@dataclass(frozen=True)
class KpiStreak:
    """One KPI's current green streak."""

    signal: str
    title: str
    since: datetime | None
    verdict: KpiVerdict
    last_breach: datetime | None

    def length(self, now: datetime) -> timedelta:
        return timedelta(0) if self.since is None else max(now - self.since, timedelta(0))

    def reaches(self, period: timedelta) -> datetime | None:
        return None if self.since is None else self.since + period


class GreenStreaks:
    """Every KPI's green streak, advanced at each evaluation of the room."""

    def __init__(self) -> None:
        self._since: dict[str, datetime | None] = {}
        self._breach: dict[str, datetime | None] = {}
        self._verdict: dict[str, KpiVerdict] = {}

    def observe(
        self, signal: str, verdict: KpiVerdict, now: datetime, start: datetime | None = None
    ) -> None:
        """`start`: when the platform's record says it has been green since, for a KPI seen
        for the first time (the room does not know what happened before it watched)."""
        self._verdict[signal] = verdict
        if verdict is KpiVerdict.BREACH:
            self._since[signal] = None
            self._breach[signal] = now
        elif verdict in GREEN and self._since.get(signal) is None:
            first = signal not in self._since
            self._since[signal] = min(start, now) if first and start is not None else now

    def streaks(self, titles: Mapping[str, str]) -> tuple[KpiStreak, ...]:
        return tuple(
            KpiStreak(
                signal,
                title,
                self._since.get(signal),
                self._verdict.get(signal, KpiVerdict.NO_DATA),
                self._breach.get(signal),
            )
            for signal, title in titles.items()
        )


@dataclass(frozen=True)
class DoneItem:
    id: str
    title: str
    state: CheckState
    value: str
    detail: str = ""


@dataclass(frozen=True)
class DefinitionOfDone:
    items: tuple[DoneItem, ...]
    streaks: tuple[KpiStreak, ...]
    slo_period: timedelta
    now: datetime

    @property
    def state(self) -> CheckState:
        states = {item.state for item in self.items}
        if CheckState.FAIL in states:
            return CheckState.FAIL
        return CheckState.UNKNOWN if CheckState.UNKNOWN in states else CheckState.PASS

    @property
    def line(self) -> str:
        """The one line the main screen always shows."""
        word = {CheckState.PASS: "DONE", CheckState.FAIL: "not yet", CheckState.UNKNOWN: "unknown"}
        marks = {CheckState.PASS: "✔", CheckState.FAIL: "✖", CheckState.UNKNOWN: "?"}
        parts = [f"{marks[i.state]} {i.value}" for i in self.items]
        return f"DoD {word[self.state]}: " + " · ".join(parts)


def definition_of_done(
    *,
    now: datetime,
    workbook: Workbook,
    repo_states: Mapping[str, RepoState],
    tiers: Sequence[str],
    verification: VerificationView,
    rollback_drill: str,
    streaks: tuple[KpiStreak, ...],
    slo_period: timedelta,
    signoffs: Signoffs,
    signoffs_current: bool,
    roles: Sequence[str],
    on_maestro: DoneItem | None = None,
) -> DefinitionOfDone:
    """The Definition of Done as of `now`. `on_maestro`, when given, is the repositories'
    item already counted for these `repo_states` (`on_maestro_item`): the room counts it
    again only when a repository moved, not every second over 5,000 of them."""
    items = (
        on_maestro if on_maestro is not None else on_maestro_item(workbook, repo_states, tiers),
        _rollback(verification, rollback_drill),
        _slos(streaks, slo_period, now),
        _signoffs(signoffs, signoffs_current, roles),
    )
    return DefinitionOfDone(items, streaks, slo_period, now)


def on_maestro_item(
    workbook: Workbook, states: Mapping[str, RepoState], tiers: Sequence[str]
) -> DoneItem:
    names = "Tier-" + "/".join(tiers)
    title = f"{names} services build on Maestro by default"
    wanted = [row for row in workbook.rows if str(row.tier) in tiers]
    if not states:
        return DoneItem("on-maestro", title, CheckState.UNKNOWN, f"{names} ?", "no repo states")
    on = [row for row in wanted if states.get(row.repo) is RepoState.MAESTRO]
    share = len(on) / len(wanted) if wanted else 1.0
    value = f"{names} {len(on)}/{len(wanted)} ({share:.0%})"
    not_yet = [row.repo for row in wanted if states.get(row.repo) is not RepoState.MAESTRO]
    state = CheckState.PASS if not not_yet else CheckState.FAIL
    detail = (
        ""
        if not not_yet
        else "not yet: "
        + ", ".join(not_yet[:8])
        + (f" and {len(not_yet) - 8} more" if len(not_yet) > 8 else "")
    )
    return DoneItem("on-maestro", title, state, value, detail)


def _rollback(view: VerificationView, drill: str) -> DoneItem:
    title = f"Rollback path exists (the {drill} drill passed)"
    row = view.drill(drill)
    if row is None or row.last is None:
        return DoneItem("rollback", title, CheckState.FAIL, "rollback never drilled")
    ago = f"{format_minutes(max(row.age or timedelta(0), timedelta(0)))} ago"
    # The evidence is the detail's own text, or follows the stale reason after a comma.
    evidence = f"evidence {row.last.evidence}" if row.last.evidence else ""
    if row.state is RunState.PASSED:
        return DoneItem("rollback", title, CheckState.PASS, f"rollback drilled {ago}", evidence)
    if row.state is RunState.STALE:
        within = format_duration(view.drill_max_age)
        return DoneItem(
            "rollback", title, CheckState.FAIL, f"rollback drill stale ({ago})",
            ", ".join(part for part in (f"not within {within}", evidence) if part),
        )  # fmt: skip
    return DoneItem("rollback", title, CheckState.FAIL, f"rollback drill failed {ago}", evidence)


def _slos(streaks: tuple[KpiStreak, ...], period: timedelta, now: datetime) -> DoneItem:
    title = f"SLOs green for {format_duration(period)}"
    if not streaks:
        return DoneItem("slo", title, CheckState.UNKNOWN, "SLOs ?", "no KPIs")
    shortest = min(streaks, key=lambda s: s.length(now))
    length = shortest.length(now)
    value = f"SLOs green {format_minutes(length)}/{format_duration(period)}"
    unknown = [s.title for s in streaks if s.verdict not in GREEN | {KpiVerdict.BREACH}]
    breaching = [s.title for s in streaks if s.verdict is KpiVerdict.BREACH]
    if breaching:
        return DoneItem("slo", title, CheckState.FAIL, value, "breach: " + ", ".join(breaching))
    if length >= period and not unknown:
        return DoneItem("slo", title, CheckState.PASS, value)
    reaches = shortest.reaches(period)
    detail = f"{shortest.title} reaches {format_duration(period)} in " + format_duration(
        (reaches - now) if reaches else period
    )
    if unknown:
        return DoneItem(
            "slo", title, CheckState.UNKNOWN, value, "not current: " + ", ".join(unknown)
        )
    return DoneItem("slo", title, CheckState.FAIL, value, detail)


def _signoffs(signoffs: Signoffs, current: bool, roles: Sequence[str]) -> DoneItem:
    title = "Audit and security sign-offs complete"
    if not current:
        return DoneItem("signoffs", title, CheckState.UNKNOWN, "sign-offs ?", "not current")
    signed = [role for role in roles if signoffs.of(role) is not None]
    missing = [role for role in roles if role not in signed]
    value = f"sign-offs {len(signed)}/{len(roles)}"
    if missing:
        unsigned = "unsigned: " + ", ".join(missing)
        return DoneItem("signoffs", title, CheckState.FAIL, value, unsigned)
    return DoneItem("signoffs", title, CheckState.PASS, value)


def done_report(done: DefinitionOfDone) -> dict[str, object]:
    """The Definition of Done as `check --json` carries it."""
    return {
        "state": done.state.value,
        "line": done.line,
        "items": [
            {"id": i.id, "title": i.title, "state": i.state.value, "value": i.value,
             "detail": i.detail}
            for i in done.items
        ],
        "slo_streaks": [
            {
                "signal": s.signal,
                "title": s.title,
                "green_since": s.since.isoformat() if s.since else None,
                "reaches_period_at": (
                    r.isoformat() if (r := s.reaches(done.slo_period)) is not None else None
                ),
                "last_breach": s.last_breach.isoformat() if s.last_breach else None,
            }
            for s in done.streaks
        ],
    }  # fmt: skip
