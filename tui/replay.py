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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Input

from ..cutover.actions import ActionPlan
from ..cutover.clock import read_clock
from ..cutover.config import room_settings
from ..cutover.events import PlatformEvent, StreamEvent
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
from ..cutover.triggers import TriggerState
from ..cutover.updates import EventsUpdate
from ..cutover.waves import parse_workbook
from ..sources.replay import Problem, Recording, RecordingError, audit_text, open_recording
from ..widgets.events import PendingEvents
from ..widgets.keys import KeyHints
from ..widgets.timeline import Timeline, TimelineState
from .app import ControlRoomApp
from .bindings import REPLAY_BINDINGS

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


class ReplayApp(ControlRoomApp):
    """The control room fed from a recording: read-only, no source, no effector, no journal."""

    BINDINGS = REPLAY_BINDINGS

    def __init__(
        self,
        recording: Recording,
        *,
        speed: float = 1.0,
        start: SeekTarget | None = None,
        paused: bool = False,
    ) -> None:
        header = recording.header
        config = config_from_document(header.config)
        workbook = parse_workbook(header.workbook_csv)
        clock = ReplayClock(header.now)
        super().__init__(
            settings=room_settings(config, workbook),
            sources=(),
            clock=clock,
            effector=None,
            operator=header.operator or "?",
            ui=config.ui,
            actions=config.actions,
            read_only=True,
            workbook_problems=tuple(f"{header.workbook_path}: {p}" for p in workbook.problems),
        )
        self.recording = recording
        self.replay_clock = clock
        self.playhead = Playhead(recording.duration, speed, paused=paused)
        self.problems: list[str] = [str(problem) for problem in recording.problems]
        self.ended = False
        self._start = start
        self._index = 0  # the next record to apply
        self._cursor: Iterator[tuple[int, Parsed | Problem]] | None = None
        self._shown: RoomView | None = None
        self._seek_to: float | None = None
        self._seeking: float | None = None
        self._wake = asyncio.Event()
        self._checkpoints: list[Checkpoint] = []
        #: The stream's last events, whether shown yet or not: what a checkpoint keeps.
        # What a seek back refills the stream with: the notable events kept apart, as live.
        self._recent = PendingEvents(self.ui.event_lines)
        self._told = 0
        self._timeline = Timeline(id="timeline")
        self._fresh_room()
        blank = ControlRoom(self.settings)
        for name in header.sources:
            blank.register_source(name, header.now)
        self._blank = blank.evaluate(header.now)

    @property
    def mode(self) -> str:
        return "REPLAY · READ-ONLY"

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

    def compose(self) -> ComposeResult:
        yield from super().compose()
        yield self._timeline

    def on_mount(self) -> None:
        # Runs before the control room's own on_mount: start once the panels exist.
        self.call_later(self._begin)

    def _begin(self) -> None:
        self.screen.move_child(self._timeline, before=self.query_one(KeyHints))
        if self.problems:
            self.notify(
                f"{len(self.problems)} problem(s) reading the recording; the first:"
                f" {self.problems[0]}. {self.key_for('help')} lists them.",
                title="Recording",
                severity="warning",
                timeout=15,
            )
        if self._start is not None:
            self.seek(self.target_position(self._start))
        self.run_worker(self._play(), name="replay", group="replay")

    # The room, fed from the recording ----------------------------------------------------------

    def evaluate_room(self) -> RoomView:
        # Only the recording's ticks evaluate the room: an evaluation at any other instant
        # would move triggers where the live room never moved them.
        return self._shown or self._blank

    def _fresh_room(self) -> None:
        header = self.recording.header
        self.room = ControlRoom(self.settings)
        for name in header.sources:
            self.room.register_source(name, header.now)
        self._index = 0
        self._cursor = None
        self._shown = None
        self.replay_clock.current = header.now
        self._pending.clear()
        self._recent.clear()

    def _apply_to(self, end: int, *, playing: bool, deadline: float | None = None) -> bool:
        """Apply the records before index `end`: as they happened when playing, silently
        when seeking. Only the last tick among them is evaluated into a view, the others
        only advance the room (the same change, less work); past `deadline`, stop after the
        next tick, evaluated. True when stopped before `end`."""
        last_tick = self.recording.kinds.rfind(TICK, self._index, end)
        while self._index < end:
            late = deadline is not None and time.monotonic() > deadline
            index = self._index
            if self._apply_next(playing=playing, view=index == last_tick or late) and late:
                return self._index < end
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
            if playing:
                self.ingest(record.updates)
            else:
                for update in record.updates:
                    self.room.apply(update)
                    if isinstance(update, EventsUpdate):
                        self._pending.extend(update.events)
        elif isinstance(record, Tick):
            self.replay_clock.current = record.now
            due = self._index - self._last_checkpoint >= CHECKPOINT_EVERY
            if view or due:
                self._shown = self.room.evaluate(record.now)
            else:
                self.room.advance(record.now)
            if due:  # right after an evaluated tick, so its view is the room's
                self._checkpoint()
            return True
        elif isinstance(record, Audited):
            event = audit_event(record)
            self._pending.append(event)
            self._recent.append(event)
            if playing:
                self.notify(audit_text(record), title="Recorded action", timeout=8)
        return False

    @property
    def _last_checkpoint(self) -> int:
        return self._checkpoints[-1].index if self._checkpoints else 0

    def _checkpoint(self) -> None:
        self._checkpoints.append(
            Checkpoint(
                self._index,
                self._copy_room(self.room),
                tuple(self._recent),
                self.replay_clock.current,
                self._shown,
            )
        )

    def _copy_room(self, room: ControlRoom) -> ControlRoom:
        # The settings (workbook included) never change: shared, not copied.
        return copy.deepcopy(room, {id(self.settings): self.settings})

    def _restore(self, target: int) -> None:
        """Start again from the last checkpoint at or before record `target`."""
        usable = [c for c in self._checkpoints if c.index <= target]
        if usable:
            checkpoint = usable[-1]
            self.room = self._copy_room(checkpoint.room)
            self._index = checkpoint.index
            self._cursor = None
            self._shown = checkpoint.view
            self.replay_clock.current = checkpoint.clock
            self._pending.clear()
            self._pending.extend(checkpoint.events)
            self._recent.clear()
            self._recent.extend(checkpoint.events)
        else:
            self._fresh_room()
        if self._panels is not None and self.is_running:
            self._panels.events.clear()

    def _problem(self, message: str) -> None:
        self.problems.append(message)
        if self._told < 3:  # the first few as they happen; help lists them all
            self._told += 1
            self.notify(message, title="Recording: line skipped", severity="warning", timeout=10)

    # Playing ------------------------------------------------------------------------------------

    async def _play(self) -> None:
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
                self._show()
            if (
                not self.playhead.paused
                and self._index >= recording.count
                and self.playhead.at_end(now)
            ):
                self.playhead.pause(now)
                self.ended = True
                self.notify(
                    "End of the recording: ← seeks back, space plays it again.",
                    title="Replay",
                    timeout=10,
                )
            self._show_timeline()
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

    def _show(self) -> None:
        if not self.is_running:
            return  # the app is closing, its widgets going one by one
        self.refresh_view()
        self.drain_events()

    def seek(self, position: float) -> None:
        """Go to `position` (seconds from the start of the recording) without waiting."""
        self._seek_to = min(max(0.0, position), self.recording.duration)
        self.ended = False
        self._wake.set()

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
        assert position is not None
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
                self._show_timeline()
                await asyncio.sleep(0)  # let keys in; a newer seek replaces this one
                if self._seek_to is not None:
                    self._seeking = None
                    return
        self._seeking = None
        self.playhead.seek(position, time.monotonic())
        self._settle()

    def _settle(self) -> None:
        """Show where a seek landed without the alarms of everything it went past."""
        view = self._shown
        if view is not None:
            self._firing = {t.spec.id for t in view.triggers if t.state is TriggerState.FIRING}
            self._frozen = view.freeze.frozen
        self._show()
        self._show_timeline()

    def _show_timeline(self) -> None:
        if not self.is_running or not self._timeline.is_attached:
            return
        now = self.replay_clock.current
        go_live = self.settings.go_live
        self._timeline.show(
            TimelineState(
                position=self.position,
                duration=self.recording.duration,
                speed=self.playhead.speed,
                paused=self.playhead.paused,
                ended=self.ended,
                position_text=clock_label(timedelta(seconds=self.position)),
                duration_text=clock_label(timedelta(seconds=self.recording.duration)),
                clock_text=f" {read_clock(now, go_live).label} · {now:%Y-%m-%d %H:%M:%S} ",
                marks=tuple((mark.offset, mark.kind) for mark in self.recording.marks),
                seeking=self._seeking,
            )
        )

    # Keys ---------------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action.startswith("replay_"):
            # Not while another screen is open or the event filter has the keyboard.
            return len(self.screen_stack) == 1 and not isinstance(self.focused, Input)
        return super().check_action(action, parameters)

    def action_replay_pause(self) -> None:
        now = time.monotonic()
        if self.ended:
            self.playhead.resume(now)
            self.seek(0.0)
            return
        self.playhead.toggle(now)
        self._wake.set()

    def action_replay_seek(self, seconds: float) -> None:
        base = self._seek_to if self._seek_to is not None else self.position
        self.seek(base + seconds)

    def action_replay_faster(self) -> None:
        self.playhead.faster(time.monotonic())
        self._wake.set()

    def action_replay_slower(self) -> None:
        self.playhead.slower(time.monotonic())
        self._wake.set()

    def _propose(self, planner: Callable[[RoomView], ActionPlan]) -> None:
        # Refused here with a replay's own reason; the pipeline is read-only besides.
        self.notify("a replay is read-only: nothing is done", title="Read-only", severity="warning")

    def action_audit(self) -> None:
        actions = sum(1 for mark in self.recording.marks if mark.kind == "audit")
        self.notify(
            f"{actions} recorded action(s): ◆ on the timeline, and in the event stream as"
            " they pass",
            title="Replay",
        )

    def footer_keys(self) -> list[tuple[str, str]]:
        return [
            ("space", "Pause"),
            ("←→", "Seek 1m"),
            ("[ ]", "Speed"),
            (self.keys_for("filter_events"), "Filter"),
            (self.keys_for("help"), "Help"),
            (self.keys_for("quit"), "Quit"),
        ]

    def key_rows(self) -> list[tuple[str, str, str]]:
        rows = []
        for binding in REPLAY_BINDINGS:
            assert isinstance(binding, Binding)
            shown = binding.key_display or binding.key
            if "," in binding.key:
                shown += " " + binding.key.split(",", 1)[1].replace("minus", "-").replace(
                    "plus", "+"
                )
            rows.append((shown, binding.tooltip or binding.description, binding.id or ""))
        return rows + super().key_rows()

    def _help_notes(self) -> list[str]:
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
        # The control room's own notes, but for its mode and why it cannot act: said above.
        return notes + [note for note in super()._help_notes() if note.startswith("Workbook")]


def run_replay(args: argparse.Namespace, prog: str) -> int:
    """The `replay` command."""
    if args.speed is not None and not args.speed > 0:
        print(f"{prog} replay: --speed must be more than 0", file=sys.stderr)
        return 2
    try:
        recording = open_recording(args.file)
        config = config_from_document(recording.header.config)
        start = parse_when(args.from_, config.cutover.go_live) if args.from_ else None
        app = ReplayApp(recording, speed=args.speed or 1.0, start=start)
    except (RecordingError, RecordError, ValueError) as error:
        print(f"{prog} replay: {error}", file=sys.stderr)
        return 2
    app.run(mouse=args.mouse or config.ui.mouse)
    return app.return_code or 0
