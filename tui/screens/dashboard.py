"""The dashboard: the control room's main screen. Its panels show the session's view, its
keys act on what is selected on its boards, and it opens the other screens.

The App (tui/app.py) owns what is app-wide: the runtime and its session, the sources'
workers, the keymap and theme, notifications, the palette and carrying actions out. The
dashboard listens to the session (each batch's events go to its stream) and is shown each
tick's view by the App. A new panel goes in `compose` and `show_view`; a new screen opened
from the dashboard gets an `action_<id>` here and an entry in cutover/action_registry.py.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TYPE_CHECKING, cast

from textual import events, on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.dom import DOMNode
from textual.notifications import SeverityLevel
from textual.reactive import Reactive
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Input, Static

from ...cutover.action_registry import CONTROL_ROOM
from ...cutover.actions import (
    ActionPlan,
    ActionUnavailable,
    plan_abort_rollout,
    plan_freeze,
    plan_promote_rollout,
    plan_promote_wave,
    plan_roll_back_wave,
    plan_unfreeze,
)
from ...cutover.events import PlatformEvent, StreamEvent
from ...cutover.incidents import figures, fold, in_period
from ...cutover.playbook_plans import as_step
from ...cutover.response_actions import plan_acknowledge, plan_silence, response_notes
from ...cutover.room import RoomView
from ...cutover.session import Delivery
from ...cutover.trigger_detail import EventPins, TriggerDetail, trigger_detail, trigger_window
from ...cutover.triggers import TriggerState
from ...cutover.updates import EventsUpdate, PeerActionUpdate
from ...widgets.eventlog import EventLog
from ...widgets.events import EventStream, PendingEvents
from ...widgets.header import CutoverHeader, FreezeBanner, HealthRow, SourceFailures
from ...widgets.help import HelpOverlay, HelpRow
from ...widgets.keys import KeyHints, keys_label
from ...widgets.kpi import KpiRow, KpiTile
from ...widgets.rollouts import RolloutBoard
from ...widgets.smoke import VerificationRow
from ...widgets.table import KeyedTable
from ...widgets.timeline import Timeline
from ...widgets.too_small import TooSmall
from ...widgets.triggers import TriggerBoard
from ...widgets.waves import WaveBoard
from ..bindings import DASHBOARD_BINDINGS, replay_key_rows
from ..compositor import ChangedRowsCompositor
from ..details import rollout_screen, wave_screen
from ..help_rows import help_rows
from .audit import AuditScreen
from .detail import DetailScreen
from .diagnostics import DiagnosticsScreen
from .done import DoneScreen
from .gates import GateScreen
from .kpi_chart import KpiChartScreen, history_fetcher
from .playbook import PlaybookScreen, firing_note
from .smoke import SmokeScreen
from .trigger_detail import TriggerDetailScreen

if TYPE_CHECKING:
    from ..app import ControlRoomApp

#: The boards `tab` cycles through, in order.
#: Objects allocated (less those freed) between two collections of the youngest generation.
YOUNG_GENERATION = 20_000

BOARDS = ("#trigger-table", "#wave-board", "#rollout-board", "EventStream EventLog", "#kpis")


@dataclass(frozen=True)
class Panels:
    """The dashboard's panels, found once after mount."""

    header: CutoverHeader
    banner: FreezeBanner
    health: HealthRow
    verification: VerificationRow
    failures: SourceFailures
    tiles: tuple[KpiTile, ...]
    triggers: TriggerBoard
    waves: WaveBoard
    rollouts: RolloutBoard
    events: EventStream


def _chosen(trigger: str | None, kind: str, next_board: str) -> str:
    """The trigger to act on; `next_board` is the key that moves to the trigger board."""
    if trigger is None:
        raise ActionUnavailable(f"select {kind} trigger first ({next_board} to the triggers)")
    return trigger


class Dashboard(Screen[None]):
    """The control room's main screen: every panel, and the keys that act on the boards."""

    BINDINGS = DASHBOARD_BINDINGS

    #: Screen's own, without its repaint of the whole screen on every focus change: the
    #: widgets focus changes repaint themselves (their :focus styles, a board's cursor), and
    #: help opening or Tab to the next board then costs a frame of what changed.
    focused: Reactive[Widget | None] = Reactive(None, repaint=False)

    def __init__(self, event_lines: int) -> None:
        super().__init__()
        # A frame draws the rows it changes, not every widget beside them (tui/compositor).
        self._compositor = ChangedRowsCompositor()
        self._pending = PendingEvents(event_lines)
        self._panels: Panels | None = None
        #: The panels marked as holding the focus.
        self._marked: set[DOMNode] = set()
        self._help: HelpOverlay | None = None
        self._firing: set[str] = set()
        self._frozen: bool | None = None
        self._alerted: dict[str, float] = {}
        #: Each trigger's events, kept for its detail whatever the stream lets go of.
        self.pins = EventPins()

    @property
    def control_room(self) -> ControlRoomApp:
        return cast("ControlRoomApp", self.app)

    @property
    def view(self) -> RoomView | None:
        """The view on screen: the session's last tick."""
        return self.control_room.view

    @property
    def operator(self) -> str:
        return self.control_room.operator

    def key_for(self, action: str) -> str:
        """An action's key as mapped now, as a person types it."""
        return self.control_room.key_for(action)

    def keys_for(self, action: str) -> str:
        return self.control_room.keys_for(action)

    def propose(self, planner: Callable[[RoomView], ActionPlan]) -> None:
        """Plan an action from what is on screen and confirm it, through the App."""
        self.control_room.propose(planner)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """As the App's: a toast's words are text, never markup."""
        self.control_room.notify(
            message, title=title, severity=severity, timeout=timeout, markup=markup
        )

    def on_mount(self) -> None:
        app = self.control_room
        # Looked up once: a refresh a second need not search the DOM for its panels.
        self._panels = Panels(
            header=self.query_one(CutoverHeader),
            banner=self.query_one(FreezeBanner),
            health=self.query_one(HealthRow),
            verification=self.query_one(VerificationRow),
            failures=self.query_one(SourceFailures),
            tiles=tuple(self.query(KpiTile)),
            triggers=self.query_one(TriggerBoard),
            waves=self.query_one(WaveBoard),
            rollouts=self.query_one(RolloutBoard),
            events=self.query_one(EventStream),
        )
        app.session.listen(self)
        app.start_sources()
        self._panels.triggers.freeze_key = app.key_for("freeze")
        self._panels.triggers.playbook_key = app.key_for("playbook")
        self._help = self.query_one(HelpOverlay)
        app.refresh_view()
        self.query_one(KeyHints).show(self.footer_keys(), more=app.key_for("help"))
        self._raise_alarms()
        # Everything built so far lives as long as the app: keep it out of the collector's
        # way, so a collection during a burst walks only what the burst made.
        gc.freeze()
        # A burst's events live a fraction of a second, until they are painted. With the
        # default young generation (700 objects) collections came eight times a second and
        # walked most of them, then again as they were promoted; with a larger one most
        # are gone before a collection comes.
        gc.set_threshold(YOUNG_GENERATION, *gc.get_threshold()[1:])
        self.query_one("#wave-board").focus()
        if app.replay is not None:
            self.call_later(self._begin_replay)

    def on_descendant_focus(self, _: events.DescendantFocus) -> None:
        self._show_focus()

    def on_descendant_blur(self, _: events.DescendantBlur) -> None:
        self._show_focus()

    def _show_focus(self) -> None:
        """Mark the panel that holds the focus (its title reads reversed). A class, not
        `:focus-within`: Textual restyles a `:focus-within` parent's own rules on a focus
        change, not a `.panel:focus-within > .panel-title` child's."""
        focused = self.focused
        holding = {
            node
            for node in (() if focused is None else focused.ancestors)
            if node.id == "events" or node.has_class("panel")
        }
        # Only the panels that gain or lose the mark, not a query of them all: help's
        # filter takes the focus and gives it back at every toggle.
        for panel in self._marked - holding:
            panel.remove_class("-has-focus")
        for panel in holding - self._marked:
            panel.add_class("-has-focus")
        self._marked = holding

    @property
    def ready(self) -> bool:
        """Its panels are there to show a batch (not before mount, nor while the app exits)."""
        return self._panels is not None and self._panels.events.is_attached

    @property
    def help_open(self) -> bool:
        return self._help is not None and self._help.is_open

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        app = self.control_room
        if app.quitting:
            return False  # a key typed right after q (one terminal read) opens nothing
        if action == "next_board" and self.help_open:
            return False  # Tab stays in help's filter
        if action.startswith("replay_"):
            # Not while the event filter has the keyboard.
            return app.replay is not None and not isinstance(self.focused, Input)
        return True

    def show_view(self, view: RoomView) -> None:
        """Show `view` on every panel, and on the screens open above that show the room."""
        app = self.control_room
        if view.firing or any(t.state is TriggerState.PENDING for t in view.triggers):
            # A spell that began with this evaluation takes the events that led up to it.
            self.pins.offer((), self._alarming_triggers())
        panels = self._panels
        if panels is None or not app.is_running or not panels.triggers.is_attached:
            return  # before mount, or during the app's exit (its widgets going one by one)
        with app.batch_update():
            panels.header.show(view)
            panels.banner.show(view.freeze)
            panels.health.show(view.health, app.notes + self._situation(view))
            panels.verification.show(view.verification, view.done)
            panels.failures.show(view.health, view.now)
            for tile, reading in zip(panels.tiles, view.kpis, strict=True):
                tile.show(reading)
            panels.triggers.show(view.triggers, view.now, response_notes(view), view.playbook)
            panels.waves.show(view.waves, view.clock.go_live, view.now)
            panels.rollouts.show(view.rollouts)
            panels.events.show_counts(app.room.events_by_source)
            for screen in app.screen_stack:
                if not screen.is_mounted:
                    continue  # pushed, composed at the next turn: it shows what it was given
                if isinstance(screen, GateScreen):
                    screen.show(view.gates)
                elif isinstance(screen, SmokeScreen):
                    screen.show(view.verification)
                elif isinstance(screen, DoneScreen):
                    screen.show(view.done)
                elif isinstance(screen, DetailScreen):
                    screen.show_view(view)
                elif isinstance(screen, PlaybookScreen):
                    screen.show(view.playbook, self.firing_note(view, screen.trigger))
                elif isinstance(screen, TriggerDetailScreen):
                    detail = self.trigger_detail(screen.trigger, view)
                    if detail is not None:
                        screen.show(detail, view.now)
        self._announce_firing(view)

    def drain_events(self) -> None:
        """Write the events waiting since the last batch, at most `event_lines` of them."""
        if not self._pending:
            return
        batch = list(self._pending)
        self._pending.clear()
        if self._panels is not None:
            self._panels.events.add(batch)

    # A replay: the recording feeds the session ---------------------------------------------

    def _begin_replay(self) -> None:
        app = self.control_room
        replay = app.replay
        assert replay is not None
        replay.begin(self, app.key_for("help"))
        self.run_worker(replay.play(), name="replay", group="replay")

    def show(self) -> None:
        """The session's last view on the panels, and the events waiting."""
        if not self.control_room.is_running:
            return  # the app is closing, its widgets going one by one
        self.control_room.refresh_view()
        self.drain_events()

    def compose(self) -> ComposeResult:
        yield CutoverHeader(
            self.control_room.settings.name,
            f"{self.operator} · {self.control_room.mode}",
            id="header",
        )
        yield FreezeBanner(id="freeze-banner")
        yield HealthRow(id="health")
        yield SourceFailures(id="source-failures")
        yield VerificationRow(id="verification")
        with KpiRow(id="kpis"):
            for spec in self.control_room.settings.kpis:
                yield KpiTile(spec.signal, spec.title)
        with Vertical(id="boards"):
            with Vertical(id="trigger-panel", classes="panel"):
                yield Static("Rollback triggers", classes="panel-title")
                yield TriggerBoard(id="triggers")
            with Vertical(id="wave-panel", classes="panel"):
                yield Static("Waves", classes="panel-title")
                yield WaveBoard(id="wave-board")
            with Vertical(id="rollout-panel", classes="panel"):
                yield Static("Rollouts", classes="panel-title")
                yield RolloutBoard(id="rollout-board")
            yield EventStream(
                self.control_room.ui.event_lines,
                all_key=self.key_for("all_events"),
                id="events",
            )
        yield HelpOverlay(help_key=self.keys_for("help"), id="help")
        if self.control_room.replay is not None:
            yield Timeline(id="timeline")
        yield KeyHints(id="keys")
        yield TooSmall(quit_key=self.key_for("quit"), id="too-small")

    def show_timeline(self) -> None:
        if self.control_room.replay is None or not self.control_room.is_running:
            return
        timeline = self.query_one(Timeline)
        if timeline.is_attached:
            timeline.show(self.control_room.replay.timeline())

    def queue_events(self, events: Iterable[StreamEvent], *, restart: bool = False) -> None:
        """Events for the stream's next write; `restart`: the stream starts over with them."""
        if restart:
            self._pending.clear()
            if self._panels is not None and self.control_room.is_running:
                self._panels.events.clear()
        self._pending.extend(events)

    def settle(self, view: RoomView) -> None:
        """Take `view`'s firing triggers and freeze as announced already."""
        self._firing = {t.spec.id for t in view.triggers if t.state is TriggerState.FIRING}
        self._frozen = view.freeze.frozen

    def action_replay_pause(self) -> None:
        if self.control_room.replay is not None:
            self.control_room.replay.pause()

    def action_replay_seek(self, seconds: float) -> None:
        if self.control_room.replay is not None:
            self.control_room.replay.seek_by(seconds)

    def action_replay_faster(self) -> None:
        if self.control_room.replay is not None:
            self.control_room.replay.faster()

    def action_replay_slower(self) -> None:
        if self.control_room.replay is not None:
            self.control_room.replay.slower()

    def _raise_alarms(self) -> None:
        panels = self._panels
        for alarm in self.control_room.alarms:
            self.log.error(alarm)
            self.notify(alarm, title="Audit journal damaged", severity="error", timeout=60)
            if panels is not None:
                now = self.control_room.clock.now()
                panels.events.add([PlatformEvent("audit.journal", "critical", alarm, now)])

    def heard(self, batch: Delivery) -> None:
        """The session took a batch in: its events wait for the next drain."""
        # A replay seeking applies records without playing them: no pin, no toast.
        silent = self.control_room.replay is not None and self.control_room.replay.silent
        for update in batch.updates:
            if isinstance(update, EventsUpdate):
                self._pending.extend(update.events)
                if not silent:
                    self.pins.offer(update.events, self._alarming_triggers())
            elif isinstance(update, PeerActionUpdate) and not silent:
                for action in update.actions:
                    self.notify(action.text, title="Another operator", timeout=10)

    def ticked(self, now: datetime) -> None:
        """The session is about to evaluate the room; the panels hear of it in the view."""

    def _announce_firing(self, view: RoomView) -> None:
        """A toast and the bell when a trigger starts firing or the freeze changes; each
        kind at most once per `notify_interval`, so a flapping signal rings once."""
        firing = {t.spec.id for t in view.triggers if t.state is TriggerState.FIRING}
        for status in view.triggers:
            # Someone has it in hand: an acknowledged trigger rings no more.
            if view.acknowledgements.of(status) is not None:
                continue
            if status.spec.id in firing - self._firing:
                self.alert(
                    f"trigger:{status.spec.id}",
                    f"{status.spec.title} is firing. Playbook: freeze ({self.key_for('freeze')}),"
                    " then follow the steps.",
                    "Rollback trigger firing",
                )
        self._firing = firing
        frozen = view.freeze.frozen
        if self._frozen is not None and frozen != self._frozen:
            state = view.freeze
            text = f"frozen by {state.by}: {state.reason}" if frozen else "the freeze is lifted"
            self.alert("freeze", text, "Cutover frozen" if frozen else "Cutover unfrozen")
        self._frozen = frozen

    def _situation(self, view: RoomView) -> tuple[str, ...]:
        """The Go/No-Go verdict, who else is watching, and what this operator may not do on
        the cluster."""
        notes: list[str] = []
        incidents = self.incident_line(view.now)
        if incidents:
            notes.append(incidents)
        if view.gates is not None:
            blocking = len(view.gates.blockers)
            notes.append(
                f"Go/No-Go {view.gates.verdict.value}"
                + (f": {blocking} blocking" if blocking else "")
                + f" ({self.key_for('gates')})"
            )
        if view.operators:
            notes.append(
                "watching: "
                + ", ".join(f"{p.operator}@{p.host} ({p.mode})" for p in view.operators)
            )
        if view.operators_warning:
            notes.append(f"⚠ {view.operators_warning}")
        permissions = view.permissions
        if permissions is not None and permissions.denied:
            notes.append("may not: " + ", ".join(check.key for check in permissions.denied))
        elif permissions is not None and permissions.error:
            notes.append(f"permissions unknown: {permissions.error}")
        return tuple(notes)

    def alert(self, kind: str, message: str, title: str) -> None:
        now = time.monotonic()
        last = self._alerted.get(kind)
        if last is not None and now - last < self.control_room.ui.notify_interval.total_seconds():
            return
        self._alerted[kind] = now
        self.notify(message, title=title, severity="error", timeout=10)
        if self.control_room.ui.bell:
            self.control_room.bell()

    def incident_line(self, now: datetime) -> str:
        """The shift's MTTD, MTTA and MTTR (the handover's period back from now)."""
        shift = in_period(
            fold(self.control_room.room.incident_events),
            now - self.control_room.handover.period,
            now,
        )
        return ("shift " + figures(shift).line()) if shift else ""

    def selected(self, verb: str) -> tuple[str, str] | None:
        """The focused board and its selected row, which `p` and `x` act on; None, having
        said why, when the focused board has nothing they can act on. Never a board
        focused earlier: its selection may be minutes old."""
        board = self.screen.focused
        if not isinstance(board, WaveBoard | RolloutBoard):
            where = "the trigger board"
            if isinstance(board, EventLog):
                where = "the event stream"
            elif isinstance(board, KpiRow):
                where = "the KPI row"
            elif not isinstance(board, KeyedTable):
                where = "no board has the keyboard and so"
            self.notify(
                f"{verb} acts on the selected wave or rollout; {where} has none."
                f" {self.key_for('next_board')} moves to the Waves or Rollouts board.",
                title="Nothing selected there",
                severity="warning",
            )
            return None
        key = board.selected_key
        if key is None:
            self.notify(f"{verb}: the board has no rows to select", severity="warning")
            return None
        return f"#{board.id}", key

    def action_freeze(self) -> None:
        reason = self.control_room.actions_config.freeze_reason
        if self.view is not None and self.view.firing:
            reason = "rollback trigger firing: " + ", ".join(t.spec.title for t in self.view.firing)
        firing = self.view.firing if self.view is not None else ()

        def plan(view: RoomView) -> ActionPlan:
            planned = plan_freeze(view, self.operator, reason)
            # While a trigger fires, this freeze is the playbook's first step.
            return as_step(planned, view, "freeze", firing[0].spec.id) if firing else planned

        self.propose(plan)

    def action_unfreeze(self) -> None:
        self.propose(lambda view: plan_unfreeze(view, self.operator))

    def action_promote(self) -> None:
        selected = self.selected("Promote")
        if selected is None:
            return
        board, key = selected
        if board == "#wave-board":
            self.propose(lambda view: plan_promote_wave(view, key, self.operator))
        else:
            self.propose(lambda view: plan_promote_rollout(view, key, self.operator))

    def action_abort(self) -> None:
        selected = self.selected("Abort / roll back")
        if selected is None:
            return
        board, key = selected
        if board == "#wave-board":
            self.propose(lambda view: plan_roll_back_wave(view, key, self.operator))
        else:
            self.propose(lambda view: plan_abort_rollout(view, key, self.operator))

    def action_next_board(self) -> None:
        focused = self.focused
        index = -1
        for position, selector in enumerate(BOARDS):
            if focused is not None and focused in self.query(selector):
                index = position
        self.query_one(BOARDS[(index + 1) % len(BOARDS)]).focus()

    def action_filter_events(self) -> None:
        self.query_one(EventStream).open_filter()

    def action_all_events(self) -> None:
        self.query_one(EventStream).toggle_everything()

    @on(KpiRow.ChartWanted)
    def open_chart(self, message: KpiRow.ChartWanted) -> None:
        spec = next(s for s in self.control_room.settings.kpis if s.signal == message.signal)
        fetch = history_fetcher(
            self.control_room.room,
            self.control_room.sources,
            self.control_room.clock.now,
            self.control_room.call_from_thread,
        )
        self.control_room.push_screen(KpiChartScreen(spec, fetch))

    def _alarming_triggers(self) -> dict[str, datetime | None]:
        """Each trigger now pending or firing, and where its spell began."""
        room = self.control_room.room
        alarming = [t.spec.id for t in room.triggers if t.alarming]
        if not alarming:
            return {}  # asked at every delivery: most of the time no trigger is
        log = tuple(room.trigger_log)
        return {trigger: trigger_window(trigger, log)[0] for trigger in alarming}

    def trigger_detail(self, trigger: str, view: RoomView) -> TriggerDetail | None:
        """What the room holds about one trigger, as of `view`."""
        status = next((t for t in view.triggers if t.spec.id == trigger), None)
        if status is None:
            return None
        stream = self._panels.events.events if self._panels is not None else ()
        return trigger_detail(
            status,
            tuple(self.control_room.room.trigger_log),
            self.control_room.room.history,
            self.control_room.settings.history_interval,
            view.alerts,
            (*self.pins.of(trigger), *stream),
            view.acknowledgements.of_last_firing(status),
        )

    def action_detail(self) -> None:
        """Enter on a board row: the selected trigger, wave or rollout in full."""
        board, view = self.focused, self.view
        if isinstance(board, WaveBoard | RolloutBoard) and view is not None:
            key = board.selected_key
            if key is None:
                return
            if isinstance(board, WaveBoard):
                settings = self.control_room.settings
                screen: Screen[None] | None = wave_screen(key, view, settings.workbook)
            else:
                screen = rollout_screen(key, view, self.control_room.journal_reader)
            if screen is not None:
                self.control_room.push_screen(screen)
            return
        table = self.query_one("#trigger-table", KeyedTable)
        if self.focused is not table:
            return
        key, view = table.selected_key, self.view
        detail = None if key is None or view is None else self.trigger_detail(key, view)
        if detail is not None and view is not None:
            self.control_room.push_screen(TriggerDetailScreen(detail, view.now))

    def selected_trigger(self) -> str | None:
        """The trigger row selected, else the one firing trigger, if only one fires."""
        table = self.query_one("#trigger-table", KeyedTable)
        if self.focused is table and table.selected_key is not None:
            return table.selected_key
        firing = self.view.firing if self.view is not None else ()
        return firing[0].spec.id if len(firing) == 1 else None

    def action_acknowledge(self) -> None:
        trigger = self.selected_trigger()
        # Proposed even without a selection, so read-only refuses first.
        self.propose(
            lambda view: plan_acknowledge(
                view,
                _chosen(trigger, "a firing", self.key_for("next_board")),
                self.operator,
            )
        )

    def action_silence(self) -> None:
        trigger = self.selected_trigger()
        chosen = partial(_chosen, trigger, "an alert", self.key_for("next_board"))
        self.propose(lambda view: plan_silence(view, chosen(), self.operator))

    # The rollback playbook ----------------------------------------------------------------

    def action_playbook(self, trigger: str | None = None) -> None:
        """The playbook's run, for the selected (or the one firing) trigger."""
        view = self.view
        if view is None:
            return
        run = view.playbook
        # A run under way is about its own trigger, whichever row or detail opened it.
        chosen = (
            run.trigger
            if run.started and not run.finished
            else trigger
            or self.selected_trigger()
            or (view.firing[0].spec.id if view.firing else run.trigger)
        )
        status = next((t for t in view.triggers if t.spec.id == chosen), None)
        title = status.spec.title if status is not None else ""
        self.control_room.push_screen(
            PlaybookScreen(view.playbook, chosen or "", title, self.firing_note(view, chosen))
        )

    def firing_note(self, view: RoomView, trigger: str | None) -> str:
        status = next((t for t in view.triggers if t.spec.id == trigger), None)
        if status is None or not status.alarming:
            return ""
        return firing_note(status.state.value, status.fired_at)

    def events_shown(self) -> tuple[StreamEvent, ...]:
        """The event stream's events, as the logs bundle keeps them."""
        return tuple(self._panels.events.events) if self._panels is not None else ()

    def action_gates(self) -> None:
        board = self.view.gates if self.view is not None else None
        self.control_room.push_screen(GateScreen(board, sign_key=self.key_for("sign_off")))

    def action_smoke(self) -> None:
        view = self.view.verification if self.view is not None else None
        keys = (
            self.key_for("run_smoke"),
            self.key_for("cd_dry_run"),
            self.key_for("next_board"),
        )
        self.control_room.push_screen(SmokeScreen(view, *keys))

    def action_done(self) -> None:
        self.control_room.push_screen(DoneScreen(self.view.done if self.view is not None else None))

    def action_diagnostics(self) -> None:
        self.control_room.push_screen(DiagnosticsScreen(self.control_room.room.diagnostics))

    def action_audit(self) -> None:
        if self.control_room.replay is not None:
            self.notify(self.control_room.replay.audit_note(), title="Replay")
            return
        if self.control_room.journal is None:
            self.notify("no audit journal is configured", severity="warning")
            return
        self.control_room.push_screen(AuditScreen(self.control_room.journal.path))

    def action_handover(self) -> None:
        self.control_room.write_shift_handover()

    def action_help(self) -> None:
        overlay = self.query_one(HelpOverlay)
        if overlay.is_open:
            overlay.close()
        else:
            overlay.open(self.help_rows(), self._help_notes())

    def help_rows(self) -> list[HelpRow]:
        """Every key that works, by where it works, read from the bindings themselves."""
        return help_rows(self.key_rows(), self.key_for, self.control_room._keymap)

    def action_close_help(self) -> None:
        self.query_one(HelpOverlay).close()

    def footer_keys(self) -> list[tuple[str, str]]:
        """The keys the bottom line shows, with their current mapping; read-only, only the
        keys that work there (the actions would only be refused)."""
        if self.control_room.replay is not None:
            return [
                ("space", "Pause"),
                ("←→", "Seek 1m"),
                ("[ ]", "Speed"),
                (self.keys_for("filter_events"), "Filter"),
                (self.keys_for("help"), "Help"),
                (self.keys_for("quit"), "Quit"),
            ]
        shown = []
        for action in CONTROL_ROOM:
            if self.control_room.pipeline.read_only and action.acts:
                continue
            if action.shown or action.id == "command_palette":
                shown.append((self.keys_for(action.id), action.description))
        return shown

    def key_rows(self) -> list[tuple[str, str, str]]:
        """Every control-room binding with its current keys, description and id."""
        rows = replay_key_rows() if self.control_room.replay is not None else []
        for action in CONTROL_ROOM:
            said = action.tooltip
            if self.control_room.pipeline.read_only and action.acts:
                said += " (refused: read-only)"
            rows.append((keys_label(self.keys_for(action.id)), said, action.id))
        return rows

    def _help_notes(self) -> list[str]:
        if self.control_room.replay is not None:
            # The replay's notes, and the workbook's; its mode and why it cannot act are in
            # the replay's own words.
            workbook = [
                f"Workbook problem: {problem}" for problem in self.control_room.workbook_problems
            ]
            return self.control_room.replay.help_notes() + workbook
        notes = [f"Mode: {self.control_room.mode}"]
        if self.control_room.pipeline.read_only:
            notes.append(f"Actions are disabled: {self.control_room.pipeline.why_read_only}.")
        notes += [f"Workbook problem: {problem}" for problem in self.control_room.workbook_problems]
        return notes
