"""`maestro-control-room replay FILE`: a recorded session played back into the same control
room, read-only, with keys to pause, seek and change speed.

The room is fed exactly what the live room was fed, in the same order: every batch, and an
evaluation at every instant the live room was evaluated (the recording's ticks). Triggers and
the green period advance only at those evaluations, so each panel shows, at each room clock
time, what the live control room showed then. Between ticks the panels keep the last one's
view, as they did live.

Seeking forward applies the records up to the target without waiting; seeking back starts
the room again from the nearest checkpoint before the target (a copy of the room kept every
so many records), or from the start.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import sys
import time
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from textual.notifications import SeverityLevel

from ..cutover.clock import read_clock
from ..cutover.config import room_settings
from ..cutover.events import PlatformEvent, StreamEvent
from ..cutover.pipeline import ActionPipeline
from ..cutover.playback import Playhead, SeekTarget, clock_label, parse_when
from ..cutover.recording import (
    Audited,
    Batch,
    Parsed,
    RecordError,
    Tick,
    config_from_document,
)
from ..cutover.room import ControlRoom, RoomView
from ..cutover.session import Delivery, Session
from ..cutover.updates import EventsUpdate
from ..cutover.waves import parse_workbook
from ..sources.replay import Problem, Recording, RecordingError, audit_text, open_recording
from ..widgets.events import PendingEvents
from ..widgets.timeline import TimelineState
from .app import ControlRoomApp
from .composition import Runtime

#: Real seconds of work between two looks at the keyboard while catching up or seeking.
SLICE = 0.05
#: The panels are redrawn at most this often while playing fast.
MIN_FRAME = 0.05
#: The timeline moves at least this often while playing.
TIMELINE_EVERY = 0.5
#: A copy of the room is kept every this many records, so seeking back is quick.
CHECKPOINT_EVERY = 2_000
TICK = ord("t")


class ReplayClock:
    """The room clock of the record last replayed."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        return self.current


@dataclass(frozen=True)
class Checkpoint:
    """The replay's state just before record `index`."""

    index: int
    room: ControlRoom
    events: tuple[StreamEvent, ...]
    clock: datetime
    view: RoomView | None


def audit_event(record: Audited) -> PlatformEvent:
    """A recorded action as a line of the event stream, at the room clock it happened."""
    result = record.entry.get("result")
    failed = isinstance(result, dict) and (not result.get("ok") or "error" in result)
    return PlatformEvent("action", "warning" if failed else "info", audit_text(record), record.now)


class ReplayScreen(Protocol):
    """What a replay drives on screen besides the session: the App's side of the feed."""

    def show(self) -> None:
        """Show the session's last view and the events waiting."""
        ...

    def show_timeline(self) -> None: ...

    def queue_events(self, events: Iterable[StreamEvent], *, restart: bool = False) -> None:
        """Events for the stream's next write; `restart`: the stream starts over with them."""
        ...

    def settle(self, view: RoomView) -> None:
        """Take `view` as already announced: a seek rings no bell for what it went past."""
        ...

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None: ...


class ReplayFeed:
    """A recording fed into a session as the live sources fed it: every batch delivered,
    and the room ticked at every instant the live room was (the recording's ticks).

    The App shows the session as it would a live one; the feed only decides what goes in
    and when, and keeps the playhead and the checkpoints seeking back starts from."""

    mode = "REPLAY · READ-ONLY"

    def __init__(
        self,
        recording: Recording,
        session: Session,
        clock: ReplayClock,
        *,
        speed: float = 1.0,
        start: SeekTarget | None = None,
        paused: bool = False,
        event_lines: int = 200,
    ) -> None:
        header = recording.header
        self.recording = recording
        self.session = session
        self.settings = session.settings
        self.replay_clock = clock
        self.playhead = Playhead(recording.duration, speed, paused=paused)
        self.problems: list[str] = [str(problem) for problem in recording.problems]
        self.ended = False
        #: While records are applied without being played (a seek): no toast, no pin.
        self.silent = False
        self.screen: ReplayScreen | None = None
        self._start = start
        self._index = 0  # the next record to apply
        self._cursor: Iterator[tuple[int, Parsed | Problem]] | None = None
        self._seek_to: float | None = None
        self._seeking: float | None = None
        self._wake = asyncio.Event()
        self._checkpoints: list[Checkpoint] = []
        #: The stream's last events, whether shown yet or not: what a checkpoint keeps.
        # What a seek back refills the stream with: the notable events kept apart, as live.
        self._recent = PendingEvents(event_lines)
        self._told = 0
        self._fresh_room()
        self._blank = self._registered_room().evaluate(header.now)

    @property
    def position(self) -> float:
        return self.playhead.position(time.monotonic())

    @property
    def applied(self) -> int:
        """How many records of the recording the room has taken in."""
        return self._index

    @property
    def seeking(self) -> bool:
        return self._seek_to is not None or self._seeking is not None

    @property
    def seek_progress(self) -> float | None:
        return self._seeking

    def frame(self) -> RoomView:
        """The view to show: the last tick's. Only the recording's ticks evaluate the room:
        an evaluation at any other instant would move triggers where the live room never
        moved them."""
        return self.session.view or self._blank

    def begin(self, screen: ReplayScreen, help_key: str) -> None:
        """Start showing on `screen`: say what could not be read, go to the start asked."""
        self.screen = screen
        if self.problems:
            screen.notify(
                f"{len(self.problems)} problem(s) reading the recording; the first:"
                f" {self.problems[0]}. {help_key} lists them.",
                title="Recording",
                severity="warning",
                timeout=15,
            )
        if self._start is not None:
            self.seek(self.target_position(self._start))

    # The room, fed from the recording ----------------------------------------------------------

    def _registered_room(self) -> ControlRoom:
        header = self.recording.header
        room = ControlRoom(self.settings)
        for name in header.sources:
            room.register_source(name, header.now)
        return room

    def _fresh_room(self) -> None:
        self.session.restart(self._registered_room())
        self._index = 0
        self._cursor = None
        self.replay_clock.current = self.recording.header.now
        self._recent.clear()
        if self.screen is not None:
            self.screen.queue_events((), restart=True)

    def _apply_to(self, end: int, *, playing: bool, deadline: float | None = None) -> bool:
        """Apply the records before index `end`: as they happened when playing, silently
        when seeking. Only the last tick among them is evaluated into a view, the others
        only advance the room (the same change, less work); past `deadline`, stop after the
        next tick, evaluated. True when stopped before `end`."""
        last_tick = self.recording.kinds.rfind(TICK, self._index, end)
        self.silent = not playing
        try:
            while self._index < end:
                late = deadline is not None and time.monotonic() > deadline
                index = self._index
                if self._apply_next(playing=playing, view=index == last_tick or late) and late:
                    return self._index < end
        finally:
            self.silent = False
        return False

    def _apply_next(self, *, playing: bool, view: bool) -> bool:
        """Apply record `_index`; True when it was a tick (evaluated into a view if `view`)."""
        if self._cursor is None:
            self._cursor = self.recording.records(self._index)
        index, parsed = next(self._cursor)
        assert index == self._index, (index, self._index)
        self._index = index + 1
        if isinstance(parsed, Problem):
            self._problem(str(parsed))
            return False
        for skipped in parsed.skipped:
            self._problem(f"{self.recording.where(index)}: {skipped}; left out")
        record = parsed.record
        if isinstance(record, Batch):
            for update in record.updates:
                if isinstance(update, EventsUpdate):
                    self._recent.extend(update.events)
            self.session.deliver(Delivery(record.source, record.now, record.updates))
        elif isinstance(record, Tick):
            self.replay_clock.current = record.now
            due = self._index - self._last_checkpoint >= CHECKPOINT_EVERY
            if view or due:
                self.session.tick(record.now)
            else:
                self.session.advance(record.now)
            if due:  # right after an evaluated tick, so its view is the room's
                self._checkpoint()
            return True
        elif isinstance(record, Audited):
            event = audit_event(record)
            self._recent.append(event)
            if self.screen is not None:
                self.screen.queue_events([event])
                if playing:
                    self.screen.notify(audit_text(record), title="Recorded action", timeout=8)
        return False

    @property
    def _last_checkpoint(self) -> int:
        return self._checkpoints[-1].index if self._checkpoints else 0

    def _checkpoint(self) -> None:
        self._checkpoints.append(
            Checkpoint(
                self._index,
                self._copy_room(self.session.room),
                tuple(self._recent),
                self.replay_clock.current,
                self.session.view,
            )
        )

    def _copy_room(self, room: ControlRoom) -> ControlRoom:
        # The settings (workbook included) never change: shared, not copied.
        return copy.deepcopy(room, {id(self.settings): self.settings})

    def _restore(self, target: int) -> None:
        """Start again from the last checkpoint at or before record `target`."""
        usable = [c for c in self._checkpoints if c.index <= target]
        if not usable:
            self._fresh_room()
            return
        checkpoint = usable[-1]
        self.session.restart(self._copy_room(checkpoint.room), checkpoint.view)
        self._index = checkpoint.index
        self._cursor = None
        self.replay_clock.current = checkpoint.clock
        self._recent.clear()
        self._recent.extend(checkpoint.events)
        if self.screen is not None:
            self.screen.queue_events(checkpoint.events, restart=True)

    def _problem(self, message: str) -> None:
        self.problems.append(message)
        if self._told < 3 and self.screen is not None:  # the first few; help lists them all
            self._told += 1
            self.screen.notify(
                message, title="Recording: line skipped", severity="warning", timeout=10
            )

    # Playing ------------------------------------------------------------------------------------

    async def play(self) -> None:
        """Play until cancelled: records as they fall due, seeks as they are asked."""
        screen = self.screen
        assert screen is not None, "begin() first"
        recording = self.recording
        self.playhead.seek(0.0, time.monotonic())  # the replay starts now (or at --from)
        while True:
            self._wake.clear()
            if self._seek_to is not None:
                await self._seek()
                continue
            now = time.monotonic()
            position = self.playhead.position(now)
            applied, behind = self._catch_up(position)
            if applied:
                screen.show()
            if (
                not self.playhead.paused
                and self._index >= recording.count
                and self.playhead.at_end(now)
            ):
                self.playhead.pause(now)
                self.ended = True
                screen.notify(
                    "End of the recording: ← seeks back, space plays it again.",
                    title="Replay",
                    timeout=10,
                )
            screen.show_timeline()
            if self.playhead.paused:
                timeout: float | None = None
            elif behind:
                timeout = 0.0
            else:
                next_at = (
                    recording.offsets[self._index]
                    if self._index < recording.count
                    else recording.duration
                )
                wait = self.playhead.wait_for(next_at, time.monotonic())
                timeout = min(max(wait, MIN_FRAME if applied else 0.0), TIMELINE_EVERY)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)

    def _catch_up(self, position: float) -> tuple[bool, bool]:
        """Apply what is due by `position`, for a slice of time at most: (applied any,
        still behind)."""
        end = bisect_right(self.recording.offsets, position)
        if end <= self._index:
            return False, False
        behind = self._apply_to(end, playing=True, deadline=time.monotonic() + SLICE)
        return True, behind

    def seek(self, position: float) -> None:
        """Go to `position` (seconds from the start of the recording) without waiting."""
        self._seek_to = min(max(0.0, position), self.recording.duration)
        self.ended = False
        self._wake.set()

    def seek_by(self, seconds: float) -> None:
        base = self._seek_to if self._seek_to is not None else self.position
        self.seek(base + seconds)

    def seek_clock(self, moment: datetime) -> None:
        """Go to the last record at or before `moment` on the room clock."""
        self.seek(self.target_position(SeekTarget(clock=moment)))

    def target_position(self, target: SeekTarget) -> float:
        if target.offset is not None:
            return target.offset
        assert target.clock is not None
        last = bisect_right(self.recording.clocks, target.clock.timestamp()) - 1
        return self.recording.offsets[last] if last >= 0 else 0.0

    async def _seek(self) -> None:
        position = self._seek_to
        assert position is not None and self.screen is not None
        self._seek_to = None
        target = bisect_right(self.recording.offsets, position)
        if target < self._index:
            self._restore(target)
        start, total = self._index, max(1, target - self._index)
        while self._index < target:
            # A slice at a time, each ending on an evaluated tick, so the room is whole
            # wherever a newer seek takes over.
            self._apply_to(target, playing=False, deadline=time.monotonic() + SLICE)
            if self._index < target:
                self._seeking = (self._index - start) / total
                self.screen.show_timeline()
                await asyncio.sleep(0)  # let keys in; a newer seek replaces this one
                if self._seek_to is not None:
                    self._seeking = None
                    return
        self._seeking = None
        self.playhead.seek(position, time.monotonic())
        # Where a seek landed is shown without the alarms of everything it went past.
        if self.session.view is not None:
            self.screen.settle(self.session.view)
        self.screen.show()
        self.screen.show_timeline()

    def timeline(self) -> TimelineState:
        """The timeline's state now."""
        now = self.replay_clock.current
        clock = read_clock(now, self.settings.go_live).label
        position = self.position
        duration = self.recording.duration
        return TimelineState(
            position=position,
            duration=duration,
            speed=self.playhead.speed,
            paused=self.playhead.paused,
            ended=self.ended,
            position_text=clock_label(timedelta(seconds=position)),
            duration_text=clock_label(timedelta(seconds=duration)),
            clock_text=f" {clock} · {now:%Y-%m-%d %H:%M:%S} ",
            marks=tuple((mark.offset, mark.kind) for mark in self.recording.marks),
            seeking=self._seeking,
        )

    # Keys ---------------------------------------------------------------------------------------

    def pause(self) -> None:
        now = time.monotonic()
        if self.ended:
            self.playhead.resume(now)
            self.seek(0.0)
            return
        self.playhead.toggle(now)
        self._wake.set()

    def faster(self) -> None:
        self.playhead.faster(time.monotonic())
        self._wake.set()

    def slower(self) -> None:
        self.playhead.slower(time.monotonic())
        self._wake.set()

    def audit_note(self) -> str:
        actions = sum(1 for mark in self.recording.marks if mark.kind == "audit")
        return (
            f"{actions} recorded action(s): ◆ on the timeline, and in the event stream as they pass"
        )

    def help_notes(self) -> list[str]:
        header = self.recording.header
        host = header.identity.get("host", "")
        who = header.operator + (f"@{host}" if host else "")
        notes = [
            f"Replay of {self.recording.path}, recorded by {who} from"
            f" {header.started:%Y-%m-%d %H:%M %Z}: read-only, nothing is done.",
        ]
        notes += [f"Problem: {problem}" for problem in self.problems[:20]]
        if len(self.problems) > 20:
            notes.append(f"... and {len(self.problems) - 20} more problem(s)")
        return notes


def replay_runtime(recording: Recording) -> Runtime:
    """What a replay runs on: the recorded config's room in a session of its own,
    read-only, with no source, no effector and no journal."""
    header = recording.header
    config = config_from_document(header.config)
    workbook = parse_workbook(header.workbook_csv)
    pipeline = ActionPipeline(None, read_only=True)
    return Runtime(
        session=Session(room_settings(config, workbook)),
        sources=[],
        clock=ReplayClock(header.now),
        pipeline=pipeline,
        operator=header.operator or "?",
        ui=config.ui,
        actions=config.actions,
        workbook_problems=tuple(f"{header.workbook_path}: {p}" for p in workbook.problems),
        read_only_refusal="a replay is read-only: nothing is done",
    )


def replay_app(
    recording: Recording,
    *,
    speed: float = 1.0,
    start: SeekTarget | None = None,
    paused: bool = False,
    app: type[ControlRoomApp] = ControlRoomApp,
) -> ControlRoomApp:
    """The control room showing `recording`: the same App, fed by a `ReplayFeed`."""
    runtime = replay_runtime(recording)
    clock = runtime.clock
    assert isinstance(clock, ReplayClock)
    feed = ReplayFeed(
        recording,
        runtime.session,
        clock,
        speed=speed,
        start=start,
        paused=paused,
        event_lines=runtime.ui.event_lines,
    )
    return app(runtime, replay=feed)


def run_replay(args: argparse.Namespace, prog: str) -> int:
    """The `replay` command."""
    if args.speed is not None and not args.speed > 0:
        print(f"{prog} replay: --speed must be more than 0", file=sys.stderr)
        return 2
    try:
        recording = open_recording(args.file)
        config = config_from_document(recording.header.config)
        start = parse_when(args.from_, config.cutover.go_live) if args.from_ else None
        app = replay_app(recording, speed=args.speed or 1.0, start=start)
    except (RecordingError, RecordError, ValueError) as error:
        print(f"{prog} replay: {error}", file=sys.stderr)
        return 2
    app.run(mouse=args.mouse or config.ui.mouse)
    return app.return_code or 0
