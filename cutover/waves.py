"""Cutover waves: the migration workbook, wave states and when the next wave may go."""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from enum import Enum
from functools import cached_property

from .clock import t_label
from .durations import format_duration

#: The Migration Workbook's columns, as the plan names them.
WORKBOOK_COLUMNS: tuple[str, ...] = (
    "Team/Repo",
    "Tier",
    "Owner",
    "Pipeline Size",
    "Critical Deps",
    "Scanners",
    "Avg Build (min)",
    "Shadow Pass %",
    "Blocking Issues",
    "Cutover Wave",
)


class WaveState(str, Enum):
    """A wave's place in the cutover, as stored in the `maestro-cutover` ConfigMap."""

    PLANNED = "planned"
    CANARY = "canary"
    ACTIVE = "active"
    COMPLETE = "complete"
    ROLLED_BACK = "rolled-back"


class RepoState(str, Enum):
    """Where one repository builds."""

    LEGACY = "legacy"
    SHADOW = "shadow"
    CANARY = "canary"
    MAESTRO = "maestro"


_PROMOTION: dict[WaveState, WaveState] = {
    WaveState.PLANNED: WaveState.CANARY,
    WaveState.CANARY: WaveState.ACTIVE,
    WaveState.ACTIVE: WaveState.COMPLETE,
}


def promoted(state: WaveState) -> WaveState | None:
    """The state a promotion moves a wave to, or None when it cannot be promoted."""
    return _PROMOTION.get(state)


def can_roll_back(state: WaveState) -> bool:
    return state in (WaveState.CANARY, WaveState.ACTIVE)


@dataclass(frozen=True)
class Recut:
    """A rolled-back wave's re-cut (the playbook's step 7): it may go again from
    `not_before`, why (`note`), and who re-cut it."""

    not_before: datetime
    note: str = ""
    by: str = ""

    def allows(self, now: datetime) -> bool:
        """The wave may be promoted again from `not_before` itself, not a minute later."""
        return now >= self.not_before

    def describe(self) -> str:
        when = self.not_before.astimezone(timezone.utc)
        note = f" ({self.note})" if self.note else ""
        return f"re-cut: may go again after {when:%H:%M}{note}"


def promoted_wave(state: WaveState, recut: Recut | None) -> WaveState | None:
    """The state a promotion moves a wave to: a rolled-back wave that was re-cut starts
    again as a canary; one never re-cut has nothing to promote."""
    if state is WaveState.ROLLED_BACK:
        return WaveState.CANARY if recut is not None else None
    return promoted(state)


def recut_refusal(wave: str, recut: Recut | None, now: datetime) -> str:
    """Why a re-cut wave may not go again yet, naming the time and the note; "" once it may."""
    if recut is None or recut.allows(now):
        return ""
    return f"{wave} was {recut.describe()}"


_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


def normalise_wave(name: str) -> str:
    """`Wave‑1`, `wave 1` and `Wave-1` all name the wave `Wave-1`."""
    text = _DASHES.sub("-", name.strip())
    match = re.fullmatch(r"(?i)wave[\s_-]*(\d+)", text)
    return f"Wave-{int(match.group(1))}" if match else text


def wave_order(wave: str) -> tuple[int, str]:
    match = re.search(r"(\d+)$", wave)
    return (int(match.group(1)) if match else 1_000_000, wave)


@dataclass(frozen=True)
class WorkbookRow:
    """One repository of the migration workbook."""

    line: int
    repo: str
    tier: int
    owner: str
    pipeline_size: str
    critical_deps: str
    scanners: str
    avg_build_min: float
    shadow_pass: float | None
    blocking_issues: str
    wave: str

    @property
    def blockers(self) -> tuple[str, ...]:
        text = self.blocking_issues.strip()
        if text.lower() in ("", "-", "none", "n/a"):
            return ()
        return tuple(part.strip() for part in re.split(r"[;|]", text) if part.strip())


@dataclass(frozen=True)
class WorkbookProblem:
    """A row of the workbook that could not be read, by line number."""

    line: int
    message: str
    #: The line is not CSV at all (an unterminated quote): the workbook must be fixed
    #: before the control room starts, rather than a row go missing.
    structural: bool = False

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class Workbook:
    """The workbook's good rows, and the problems of the bad ones."""

    rows: tuple[WorkbookRow, ...]
    problems: tuple[WorkbookProblem, ...] = ()

    @cached_property
    def _by_wave(self) -> dict[str, tuple[WorkbookRow, ...]]:
        # Indexed once: with 5,000 repositories a scan per wave per second would add up.
        by_wave: dict[str, list[WorkbookRow]] = {}
        for row in self.rows:
            by_wave.setdefault(row.wave, []).append(row)
        return {wave: tuple(rows) for wave, rows in by_wave.items()}

    @cached_property
    def waves(self) -> tuple[str, ...]:
        return tuple(sorted(self._by_wave, key=wave_order))

    def repos(self, wave: str) -> tuple[WorkbookRow, ...]:
        return self._by_wave.get(wave, ())


def _percent(text: str) -> float | None:
    value = text.strip().rstrip("%").strip()
    if value in ("", "-", "n/a"):
        return None
    number = float(value)
    if not 0 <= number <= 100:
        raise ValueError(f"Shadow Pass % must be between 0 and 100, got {text.strip()!r}")
    return number / 100


def _records(text: str, problems: list[WorkbookProblem]) -> Iterator[tuple[int, list[str]]]:
    """Each physical line as one record, with its line number. A workbook cell never spans
    lines, so a line the csv module cannot read (an unterminated quote) is a problem on that
    line alone: it cannot swallow the rows after it."""
    # Line ends as editors count them (\r\n, \n or an old Mac's \r); not splitlines, which
    # also breaks on \x0b, \x1c and the like inside a cell.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        try:
            records = list(csv.reader([line], strict=True))
        except csv.Error as error:
            problems.append(WorkbookProblem(number, f"unreadable CSV: {error}", structural=True))
            continue
        yield number, records[0] if records else []


def parse_workbook(text: str) -> Workbook:
    """Read the workbook CSV; every bad row becomes a problem naming its line."""
    rows: list[WorkbookRow] = []
    problems: list[WorkbookProblem] = []
    header: list[str] | None = None
    for line, record in _records(text, problems):
        if not any(cell.strip() for cell in record) or record[0].lstrip().startswith("#"):
            continue
        if header is None:
            header = [cell.strip() for cell in record]
            absent = [name for name in WORKBOOK_COLUMNS if name not in header]
            if absent:
                problems.append(
                    WorkbookProblem(line, f"header misses column(s): {', '.join(absent)}")
                )
                return Workbook((), tuple(problems))
            continue
        if len(record) != len(header):
            problems.append(
                WorkbookProblem(line, f"expected {len(header)} fields, found {len(record)}")
            )
            continue
        cells = {name: value.strip() for name, value in zip(header, record, strict=True)}
        try:
            rows.append(_row(line, cells))
        except ValueError as error:
            problems.append(WorkbookProblem(line, str(error)))
    if header is None:
        problems.append(WorkbookProblem(1, "the workbook is empty: no header row"))
    seen: dict[str, int] = {}
    unique: list[WorkbookRow] = []
    for row in rows:
        if row.repo in seen:
            problems.append(
                WorkbookProblem(row.line, f"{row.repo} is already listed on line {seen[row.repo]}")
            )
            continue
        seen[row.repo] = row.line
        unique.append(row)
    return Workbook(tuple(unique), tuple(sorted(problems, key=lambda p: p.line)))


def _row(line: int, cells: Mapping[str, str]) -> WorkbookRow:
    repo = cells["Team/Repo"]
    if not repo:
        raise ValueError("Team/Repo is empty")
    wave = normalise_wave(cells["Cutover Wave"])
    if not wave:
        raise ValueError(f"{repo}: Cutover Wave is empty")
    try:
        tier = int(cells["Tier"])
        if tier < 0:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{repo}: Tier must be a whole number, 0 or more, got {cells['Tier']!r}"
        ) from None
    try:
        avg_build = float(cells["Avg Build (min)"])
    except ValueError:
        raise ValueError(
            f"{repo}: Avg Build (min) must be a number, got {cells['Avg Build (min)']!r}"
        ) from None
    if not math.isfinite(avg_build) or avg_build <= 0:
        raise ValueError(f"{repo}: Avg Build (min) must be positive, got {avg_build}")
    try:
        shadow = _percent(cells["Shadow Pass %"])
    except ValueError as error:
        message = str(error)
        if "between" not in message:
            message = f"Shadow Pass % must be a percentage, got {cells['Shadow Pass %']!r}"
        raise ValueError(f"{repo}: {message}") from None
    return WorkbookRow(
        line=line,
        repo=repo,
        tier=tier,
        owner=cells["Owner"],
        pipeline_size=cells["Pipeline Size"],
        critical_deps=cells["Critical Deps"],
        scanners=cells["Scanners"],
        avg_build_min=avg_build,
        shadow_pass=shadow,
        blocking_issues=cells["Blocking Issues"],
        wave=wave,
    )


@dataclass(frozen=True)
class WaveStatus:
    """A wave's recorded state: who moved it there and when, and the version seen."""

    wave: str
    state: WaveState
    since: datetime | None = None
    by: str = ""
    version: str = ""
    #: Set by a re-cut of the wave once rolled back; a promotion clears it.
    recut: Recut | None = None


@dataclass(frozen=True)
class WaveProgress:
    """Everything the wave board shows for one wave."""

    wave: str
    state: WaveState
    since: datetime | None
    repos: int
    on_maestro: int
    shadow_pass: float | None
    blockers: tuple[str, ...]
    eligible_at: datetime | None
    version: str = ""
    #: Why the wave has no eligible time: the wave it waits for, or the platform not green.
    waiting_for: str = ""
    repo_states: Mapping[str, RepoState] = field(default_factory=dict)
    recut: Recut | None = None

    @property
    def fraction(self) -> float:
        return self.on_maestro / self.repos if self.repos else 0.0


@dataclass
class GreenPeriod:
    """Since when the platform has been green: no rollback trigger pending, firing or unknown."""

    since: datetime | None = None

    def observe(self, green: bool, now: datetime) -> None:
        if not green:
            self.since = None
        elif self.since is None:
            self.since = now

    def green_for(self, now: datetime) -> timedelta:
        return timedelta(0) if self.since is None else now - self.since


class WaveRepos:
    """Each wave's repositories and where they build, kept by difference: when repository
    states arrive, only the waves of the repositories that moved are counted again."""

    def __init__(self, workbook: Workbook) -> None:
        self.workbook = workbook
        self._wave_of = {row.repo: row.wave for row in workbook.rows}
        self._seen: Mapping[str, RepoState] = {}
        self.states: dict[str, Mapping[str, RepoState]] = {}
        self.on_maestro: dict[str, int] = {}
        self.blockers: dict[str, tuple[str, ...]] = {}
        self.workbook_shadow: dict[str, float | None] = {}
        #: Goes up whenever a wave's repositories changed state.
        self.version = 0
        for wave in workbook.waves:
            rows = workbook.repos(wave)
            fallback = [row.shadow_pass for row in rows if row.shadow_pass is not None]
            self.workbook_shadow[wave] = sum(fallback) / len(fallback) if fallback else None
            self.blockers[wave] = tuple(sorted({b for row in rows for b in row.blockers}))
            self._count(wave)

    def _count(self, wave: str) -> None:
        seen = self._seen
        states = {
            row.repo: seen.get(row.repo, RepoState.LEGACY) for row in self.workbook.repos(wave)
        }
        self.states[wave] = states  # a new dict each time: a board's copy never changes
        self.on_maestro[wave] = sum(1 for s in states.values() if s is RepoState.MAESTRO)

    def update(self, repo_states: Mapping[str, RepoState]) -> frozenset[str]:
        """Take the states as they are now; the waves whose repositories changed."""
        seen = self._seen
        if repo_states == seen:
            return frozenset()
        moved = {repo for repo, state in repo_states.items() if seen.get(repo) is not state}
        moved.update(repo for repo in seen if repo not in repo_states)
        self._seen = dict(repo_states)
        waves = frozenset(self._wave_of[r] for r in moved if r in self._wave_of)
        for wave in waves:
            self._count(wave)
        if waves:
            self.version += 1
        return waves


def wave_board(
    workbook: Workbook,
    statuses: Mapping[str, WaveStatus],
    repo_states: Mapping[str, RepoState],
    shadow_pass: Mapping[str, float],
    green_since: datetime | None,
    green_period: timedelta,
    repos: WaveRepos | None = None,
) -> tuple[WaveProgress, ...]:
    """The board: each wave's state, progress, blockers and when it becomes eligible.

    A planned or canary wave becomes eligible once the wave before it has been active and
    green for the green period; it is not eligible (None) while the platform is not green.
    With `repos` (kept up to date with `repo_states`) no repository is walked here.
    """
    if repos is None:
        repos = WaveRepos(workbook)
        repos.update(repo_states)
    waves = list(workbook.waves)
    for wave in statuses:
        if wave not in waves:
            waves.append(wave)
    waves.sort(key=wave_order)
    board: list[WaveProgress] = []
    previous: WaveStatus | None = None
    for wave in waves:
        status = statuses.get(wave, WaveStatus(wave, WaveState.PLANNED))
        states = repos.states.get(wave, {})
        shadow = shadow_pass.get(wave)
        if shadow is None:
            shadow = repos.workbook_shadow.get(wave)
        board.append(
            WaveProgress(
                wave=wave,
                state=status.state,
                since=status.since,
                repos=len(states),
                on_maestro=repos.on_maestro.get(wave, 0),
                shadow_pass=shadow,
                blockers=repos.blockers.get(wave, ()),
                eligible_at=_eligible_at(status, previous, green_since, green_period),
                waiting_for=_waiting_for(status, previous, green_since, green_period),
                version=status.version,
                repo_states=states,
                recut=status.recut if status.state is WaveState.ROLLED_BACK else None,
            )
        )
        previous = status
    return tuple(board)


def _eligible_at(
    status: WaveStatus,
    previous: WaveStatus | None,
    green_since: datetime | None,
    green_period: timedelta,
) -> datetime | None:
    if status.state not in (WaveState.PLANNED, WaveState.CANARY):
        return None
    if previous is None:
        return status.since  # the first wave waits for nothing before it
    if previous.state not in (WaveState.ACTIVE, WaveState.COMPLETE) or green_since is None:
        return None
    start = green_since if previous.since is None else max(green_since, previous.since)
    return start + green_period


def _waiting_for(
    status: WaveStatus,
    previous: WaveStatus | None,
    green_since: datetime | None,
    green_period: timedelta,
) -> str:
    """What a wave waits for, with its end: the wave before it going active and then the
    green period, or that wave's rollback, which holds it until that wave is replanned. A
    rolled-back wave that was re-cut waits for the time the re-cut set."""
    if status.state is WaveState.ROLLED_BACK and status.recut is not None:
        return status.recut.describe()
    if status.state not in (WaveState.PLANNED, WaveState.CANARY) or previous is None:
        return ""
    if previous.state is WaveState.ROLLED_BACK:
        return f"blocked: {previous.wave} rolled back"
    if previous.state not in (WaveState.ACTIVE, WaveState.COMPLETE):
        return f"{previous.wave} active +{format_duration(green_period)}"
    return "not green" if green_since is None else ""


def previous_wave(board: Sequence[WaveProgress], wave: str) -> WaveProgress | None:
    names = [item.wave for item in board]
    index = names.index(wave) if wave in names else -1
    return board[index - 1] if index > 0 else None


def next_wave(board: Sequence[WaveProgress], wave: str) -> WaveProgress | None:
    names = [item.wave for item in board]
    index = names.index(wave) if wave in names else len(names)
    return board[index + 1] if index + 1 < len(board) else None


def eligibility(wave: WaveProgress, go_live: datetime, now: datetime) -> str:
    """When `wave` may be promoted, as the wave board says it: `now`, a T-time, or what it
    waits for."""
    if wave.eligible_at is None:
        return wave.waiting_for or "—"
    if wave.eligible_at <= now:
        return "now"
    return t_label(wave.eligible_at - go_live)


def find_wave(board: Iterable[WaveProgress], wave: str) -> WaveProgress | None:
    return next((item for item in board if item.wave == wave), None)
