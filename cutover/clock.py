"""The cutover clock: T-minus / T-plus from go-live, and the plan's timeline."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True)
class Milestone:
    """A point of the plan's cutover timeline, relative to go-live."""

    offset: timedelta
    label: str
    phase: str


#: The plan's timeline (section 3): each milestone opens a phase that lasts until the next.
TIMELINE: tuple[Milestone, ...] = (
    # T-14d: gate owners and targets final, shadow builds on Maestro, DR rehearsal.
    Milestone(timedelta(days=-14), "T-14d gates final", "Gates"),
    # T-7d: canary promote (10-20 % of repos), training and on-call, peak-like validation.
    Milestone(timedelta(days=-7), "T-7d canary promote", "Canary"),
    # T-2d: config snapshot, security and compliance review, freeze announced.
    Milestone(timedelta(days=-2), "T-2d snapshot, freeze", "Freeze"),
    # T-0: flip Wave-1, smoke, SLO monitoring, legacy on warm standby.
    Milestone(timedelta(0), "T-0 flip Wave-1", "Go-live"),
    # T+1 to T+14: hypercare, next waves when green for 48 h; the retro after day 14.
    Milestone(timedelta(days=1), "T+1d hypercare", "Hypercare"),
    Milestone(timedelta(days=15), "T+15d retro", "Retro"),
)


def t_label(delta: timedelta) -> str:
    """`T-6d 04:12` before go-live, `T+1d 02:00` after, minutes precision."""
    sign = "-" if delta < timedelta(0) else "+"
    minutes = int(abs(delta.total_seconds()) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    return f"T{sign}{days}d {hours:02d}:{minutes:02d}"


@dataclass(frozen=True)
class ClockReading:
    """The cutover clock at one instant."""

    now: datetime
    go_live: datetime
    phase: str
    current: Milestone | None
    next: Milestone | None

    @property
    def relative(self) -> timedelta:
        return self.now - self.go_live

    @property
    def label(self) -> str:
        return t_label(self.relative)

    @property
    def phase_detail(self) -> str:
        """The phase, with the day of hypercare while in it."""
        if self.phase == "Hypercare":
            day = int(self.relative.total_seconds() // 86400)
            return f"Hypercare day {day} of 14"
        return self.phase

    @property
    def until_next(self) -> timedelta | None:
        return None if self.next is None else self.go_live + self.next.offset - self.now


def read_clock(now: datetime, go_live: datetime) -> ClockReading:
    """Where `now` falls on the timeline of a go-live at `go_live` (both timezone-aware)."""
    if now.tzinfo is None or go_live.tzinfo is None:
        raise ValueError("the cutover clock needs timezone-aware times")
    relative = now - go_live
    current: Milestone | None = None
    upcoming: Milestone | None = None
    for milestone in TIMELINE:
        if milestone.offset <= relative:
            current = milestone
        elif upcoming is None:
            upcoming = milestone
    phase = current.phase if current else "Preparation"
    return ClockReading(now, go_live, phase, current, upcoming)
