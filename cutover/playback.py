"""Where a replay stands: the playhead on the recording's own time, its speed, and the times
an operator can ask for. Pure: the caller passes the monotonic time in.

Positions are seconds of wall time from the start of the recording, so speed 1 replays at
the pace the session was lived; the room clock each record carries is what the panels show.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .config import start_offset
from .durations import parse_duration

#: The speeds `[` and `]` step through; `--speed` may give any other.
SPEEDS: tuple[float, ...] = (
    0.25, 0.5, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096,
)  # fmt: skip


def speed_text(speed: float) -> str:
    return f"{speed:g}x"


@dataclass
class Playhead:
    """The position in a recording of `duration` seconds, moving at `speed` unless paused."""

    duration: float
    speed: float = 1.0
    paused: bool = False
    _at: float = 0.0
    _since: float = 0.0

    def __post_init__(self) -> None:
        if not self.speed > 0:
            raise ValueError(f"the speed must be more than 0, got {self.speed}")

    def position(self, t: float) -> float:
        if self.paused:
            return self._at
        return min(self.duration, self._at + (t - self._since) * self.speed)

    def at_end(self, t: float) -> bool:
        return self.position(t) >= self.duration

    def seek(self, position: float, t: float) -> float:
        """Move to `position` (kept within the recording); the new position."""
        self._at = min(max(0.0, position), self.duration)
        self._since = t
        return self._at

    def pause(self, t: float) -> None:
        self._at, self._since, self.paused = self.position(t), t, True

    def resume(self, t: float) -> None:
        self._since, self.paused = t, False

    def toggle(self, t: float) -> None:
        if self.paused:
            self.resume(t)
        else:
            self.pause(t)

    def set_speed(self, speed: float, t: float) -> None:
        if not speed > 0:
            raise ValueError(f"the speed must be more than 0, got {speed}")
        self._at, self._since, self.speed = self.position(t), t, speed

    def faster(self, t: float) -> None:
        self.set_speed(next((s for s in SPEEDS if s > self.speed), self.speed), t)

    def slower(self, t: float) -> None:
        self.set_speed(next((s for s in reversed(SPEEDS) if s < self.speed), self.speed), t)

    def wait_for(self, position: float, t: float) -> float:
        """Real seconds until the playhead reaches `position`; 0 if it has already."""
        return max(0.0, (position - self.position(t)) / self.speed)


@dataclass(frozen=True)
class SeekTarget:
    """A point of the recording: an offset from its start, or a time on the room clock."""

    offset: float | None = None
    clock: datetime | None = None


def parse_when(text: str, go_live: datetime) -> SeekTarget:
    """`+10m` (from the recording's start), `T+1d2h` / `T-3d` (the plan's timeline) or an
    RFC 3339 time (on the room clock). ValueError naming what was expected otherwise."""
    spec = text.strip()
    if spec.startswith("+"):
        return SeekTarget(offset=parse_duration(spec[1:]).total_seconds())
    if spec[:2] in ("T+", "T-"):
        return SeekTarget(clock=go_live + start_offset(spec))
    try:
        moment = datetime.fromisoformat(spec.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValueError(
            f"{text!r} is not a time: expected an offset from the start such as '+10m', a point"
            " of the plan such as 'T+1d2h', or an RFC 3339 time with its zone"
        )
    return SeekTarget(clock=moment)


def clock_label(delta: timedelta) -> str:
    """An offset in the recording as `1d 02:03:04` or `02:03:04`."""
    total = int(max(0.0, delta.total_seconds()))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    return f"{days}d {text}" if days else text
