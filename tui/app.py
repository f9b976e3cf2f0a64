"""The control room app: sources in workers, one room state, panels fed from its view."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Vertical
from textual.driver import Driver
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widgets import Static
from textual.worker import Worker, WorkerState

from ..cutover.actions import (
    CD_DRY_RUN,
    SMOKE_SUITE,
    ActionKind,
    ActionPlan,
    ActionUnavailable,
    Effector,
    FrozenRefusal,
    Precondition,
    SignoffRefused,
    TargetChanged,
    check_preconditions,
    plan_abort_rollout,
    plan_dispatch,
    plan_freeze,
    plan_promote_rollout,
    plan_promote_wave,
    plan_roll_back_wave,
    plan_sign_off,
    plan_unfreeze,
)
from ..cutover.audit import Operator
from ..cutover.config import (
    ActionsSection,
    AnnounceSection,
    GithubSection,
    HandoverSection,
    UiSection,
)
from ..cutover.events import PlatformEvent
from ..cutover.incidents import figures, fold, in_period
from ..cutover.permissions import action_permitted
from ..cutover.pipeline import ActionPipeline, ActionRefused, Announce
from ..cutover.presence import Presence
from ..cutover.response_actions import plan_acknowledge, plan_silence, response_notes
from ..cutover.room import ControlRoom, RoomSettings, RoomView
from ..cutover.signers import UNRESTRICTED, Signer, SignoffPolicy
from ..cutover.trigger_detail import EventPins, TriggerDetail, trigger_detail, trigger_window
from ..cutover.triggers import TriggerState
from ..cutover.updates import EventsUpdate, HealthState, PeerActionUpdate, SourceHealth, Update
from ..sources.base import Clock, Source
from ..sources.incident_log import IncidentLog, incident_log_path
from ..sources.journal import AuditJournal
from ..sources.supervisor import supervise
from ..widgets.eventlog import EventLog
from ..widgets.events import EventStream, PendingEvents
from ..widgets.header import CutoverHeader, FreezeBanner, HealthRow, SourceFailures
from ..widgets.help import HelpOverlay, HelpRow
from ..widgets.keys import KeyHints, key_label, keys_label
from ..widgets.kpi import KpiRow, KpiTile
from ..widgets.rollouts import RolloutBoard
from ..widgets.smoke import VerificationRow
from ..widgets.table import KeyedTable
from ..widgets.too_small import MIN_HEIGHT, MIN_WIDTH, TooSmall
from ..widgets.triggers import TriggerBoard
from ..widgets.waves import WaveBoard
from .bindings import CONTROL_ROOM_BINDINGS, SCREEN_KEYS
from .driver import quiet_driver
from .handover import ShiftRecord, handover_dir, render, write_handover
from .help_rows import help_rows
from .lifecycle import install_signal_handlers, watch_server
from .screens.audit import AuditScreen
from .screens.confirm import Confirmed, ConfirmScreen
from .screens.diagnostics import DiagnosticsScreen
from .screens.done import DoneScreen
from .screens.gates import GateScreen
from .screens.kpi_chart import KpiChartScreen, history_fetcher
from .screens.smoke import SmokeScreen
from .screens.trigger_detail import TriggerDetailScreen

if TYPE_CHECKING:
    from ..sources.recorder import SessionRecorder

#: Below this many lines the dashboard packs tighter (`-short` in app.tcss).
SHORT_HEIGHT = 32
#: The boards `tab` cycles through, in order.
BOARDS = ("#trigger-table", "#wave-board", "#rollout-board", "EventStream EventLog", "#kpis")
ACTIONS = frozenset({"freeze", "unfreeze", "promote", "abort", "acknowledge", "silence"})
#: Keys that act on the dashboard itself, off while another screen is open.
DASHBOARD_KEYS = frozenset(
    {
        "next_board",
        "filter_events",
        "all_events",
        "help",
        "diagnostics",
        "audit",
        "gates",
        "handover",
        "smoke",
        "done",
        "detail",
    }
)
#: Dispatches, from the dashboard or the smoke screen.
DISPATCHES = frozenset({"run_smoke", "cd_dry_run"})


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


class SourceUpdates(Message):
    """A batch of updates from one source's worker."""

    def __init__(self, updates: Sequence[Update]) -> None:
        super().__init__()
        self.updates = updates


class ControlRoomApp(App[None]):
    """The cutover control room."""

    TITLE = "maestro-control-room"
    CSS_PATH = "app.tcss"
    BINDINGS = CONTROL_ROOM_BINDINGS
    HORIZONTAL_BREAKPOINTS = [(0, "-too-narrow"), (MIN_WIDTH, "-compact"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_HEIGHT, "-short"), (SHORT_HEIGHT, "-tall")]
    ENABLE_COMMAND_PALETTE = True

    def __init__(
        self,
        *,
        settings: RoomSettings,
        sources: Sequence[Source],
        clock: Clock,
        effector: Effector | None,
        operator: str,
        ui: UiSection,
        actions: ActionsSection,
        read_only: bool = False,
        after_action: Callable[[], Sequence[Update]] | None = None,
        notes: Sequence[str] = (),
        workbook_problems: Sequence[str] = (),
        journal: AuditJournal | None = None,
        audit_operator: Operator | None = None,
        announcers: Sequence[Announce] = (),
        announce: AnnounceSection | None = None,
        handover: HandoverSection | None = None,
        alarms: Sequence[str] = (),
        signoffs: SignoffPolicy = UNRESTRICTED,
        workflows: GithubSection | None = None,
    ) -> None:
        super().__init__()
        self.signoffs = signoffs
        #: What is wrong from the start (a damaged audit journal): said on screen, in the
        #: event stream and in the log, and kept on the health row.
        self.alarms = tuple(alarms)
        self.settings = settings
        self.room = ControlRoom(settings)
        self.sources = list(sources)
        self.clock = clock
        self.operator = operator
        self.ui = ui
        self.actions_config = actions
        self.journal = journal
        self.audit_operator = audit_operator
        self.handover = handover or HandoverSection()
        #: Where the smoke suite and the CD dry run are dispatched.
        self.workflows = workflows or GithubSection()
        self.read_only_mode = read_only or actions.read_only or effector is None
        self.pipeline = ActionPipeline(
            effector,
            read_only=read_only or actions.read_only,
            announcers=[*announcers, *self._mqtt_announcers(announce or AnnounceSection())],
            journal=journal,
            operator=audit_operator,
            signoffs=signoffs,
        )
        self._after_action = after_action
        self.notes = tuple(notes) + self.alarms
        self.workbook_problems = tuple(workbook_problems)
        self.view: RoomView | None = None
        #: Set by `--record`: hears every batch ingested and every evaluation of the room.
        self.recorder: SessionRecorder | None = None
        self._pending = PendingEvents(ui.event_lines)
        self._unheard: set[str] = {source.name for source in self.sources}
        self._panels: Panels | None = None
        self._help: HelpOverlay | None = None
        #: Set by q: from then on no key opens a screen or starts an action.
        self._quitting = False
        self._firing: set[str] = set()
        self._frozen: bool | None = None
        self._alerted: dict[str, float] = {}
        #: Each trigger's events, kept for its detail whatever the stream lets go of.
        self.pins = EventPins()
        #: Incidents, beside the journal: none are recorded where nothing is journalled.
        self.incident_log = IncidentLog(incident_log_path(journal.path)) if journal else None
        if self.incident_log is not None:
            self.room.seed_incidents(self.incident_log.read())
        self.theme = ui.theme
        if ui.keymap:
            self.set_keymap(ui.keymap)
        if self.workbook_problems:  # named with the help key as mapped, hence here
            problems = len(self.workbook_problems)
            note = f"workbook: {problems} bad row(s), see {self.key_for('help')}"
            self.notes = (note, *self.notes)

    def _mqtt_announcers(self, announce: AnnounceSection) -> list[Announce]:
        """Presence, and the freeze and audit announcements, on the MQTT source's connection."""
        from ..sources.mqtt import MqttSource
        from ..sources.mqtt_announce import MqttAnnouncer

        found: list[Announce] = []
        for source in self.sources:
            if not isinstance(source, MqttSource):
                continue
            if announce.mqtt_presence:
                me = self.audit_operator
                user, host = (me.user, me.host) if me else (self.operator, socket.gethostname())
                source.present_as(
                    Presence(
                        operator_id=f"{user}-{host}-{os.getpid()}",
                        operator=self.operator,
                        host=host,
                        since=datetime.now(timezone.utc),
                        mode="read-only" if self.read_only_mode else "operator",
                    ),
                    audited_as=(user, host),
                )
            if announce.mqtt_freeze or announce.mqtt_audit:
                found.append(
                    MqttAnnouncer(source, freeze=announce.mqtt_freeze, audit=announce.mqtt_audit)
                )
        return found

    def get_driver_class(self) -> type[Driver]:
        # In a terminal, an input thread that sleeps until a key comes (tui/driver.py).
        return quiet_driver(super().get_driver_class())

    @property
    def mode(self) -> str:
        return "READ-ONLY" if self.pipeline.read_only else "operator"

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast's words are text: they quote sources (a freeze reason, a test name), and
        a square bracket in them must not be read as markup, which would stop the app."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def compose(self) -> ComposeResult:
        yield CutoverHeader(self.settings.name, f"{self.operator} · {self.mode}", id="header")
        yield FreezeBanner(id="freeze-banner")
        yield HealthRow(id="health")
        yield SourceFailures(id="source-failures")
        yield VerificationRow(id="verification")
        with KpiRow(id="kpis"):
            for spec in self.settings.kpis:
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
            yield EventStream(self.ui.event_lines, all_key=self.key_for("all_events"), id="events")
        yield HelpOverlay(help_key=self.keys_for("help"), id="help")
        yield KeyHints(id="keys")
        yield TooSmall(quit_key=self.key_for("quit"), id="too-small")

    def on_mount(self) -> None:
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
        now = self.clock.now()
        for source in self.sources:
            self.room.register_source(source.name, now)
            self.run_source(source)
        self.set_interval(self.ui.refresh.total_seconds(), self.refresh_view)
        self._panels.triggers.freeze_key = self.key_for("freeze")
        self._help = self.query_one(HelpOverlay)
        self.refresh_view()
        self.query_one(KeyHints).show(self.footer_keys(), more=self.key_for("help"))
        self._raise_alarms()
        # Everything built so far lives as long as the app: keep it out of the collector's
        # way, so a collection during a burst walks only what the burst made.
        gc.freeze()
        self.query_one("#wave-board").focus()
        if not self.is_headless:  # a real terminal or browser, not a test's Pilot
            install_signal_handlers(self)
        if self.is_web:
            watch_server(self)

    def _raise_alarms(self) -> None:
        panels = self._panels
        for alarm in self.alarms:
            self.log.error(alarm)
            self.notify(alarm, title="Audit journal damaged", severity="error", timeout=60)
            if panels is not None:
                now = self.clock.now()
                panels.events.add([PlatformEvent("audit.journal", "critical", alarm, now)])

    def run_source(self, source: Source) -> Worker[None]:
        # The supervisor restarts the source after any exception, and shows why.
        return self.run_worker(
            supervise(source, self.deliver, self.clock.now),
            name=source.name,
            group="sources",
            exit_on_error=False,
        )

    def deliver(self, updates: Sequence[Update]) -> None:
        """Hand updates to the app; callable from any task or thread. On the app's own
        thread (the sources' tasks and callbacks) they are taken in at once: a message
        would cost a turn of the app's message loop, several times a second."""
        if self._thread_id != threading.get_ident():
            self.post_message(SourceUpdates(updates))
            return
        try:
            self.take(updates)
        except Exception as error:  # as a message handler's would: not the source's fault
            self._handle_exception(error)

    def on_source_updates(self, message: SourceUpdates) -> None:
        self.take(message.updates)

    def take(self, updates: Sequence[Update]) -> None:
        """Apply a source's updates to the room and put its events on screen."""
        if self._panels is None or not self._panels.events.is_attached:
            return  # a delivery before the panels exist, or racing the app's exit
        self.ingest(updates)
        # Sources batch their events already (MQTT a few times a second, the simulator
        # once a refresh): each batch goes on screen as it comes, in one write.
        self.drain_events()

    def ingest(self, updates: Iterable[Update]) -> None:
        """Apply updates to the room; events wait for the next drain."""
        if self.recorder is not None:
            updates = tuple(updates)
            self.recorder.delivered(updates)
        first = False
        for update in updates:
            self.room.apply(update)
            if isinstance(update, EventsUpdate):
                self._pending.extend(update.events)
                self.pins.offer(update.events, self._alarming_triggers())
            elif isinstance(update, PeerActionUpdate):
                for action in update.actions:
                    self.notify(action.text, title="Another operator", timeout=10)
            source = getattr(update, "source", None)
            if source in self._unheard:
                self._unheard.discard(source)
                first = True
        if first:
            # A source's first delivery is shown at once, not at the next tick.
            self.refresh_view()
            self.drain_events()

    @on(Worker.StateChanged)
    def _source_worker(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "sources" or event.state not in (WorkerState.ERROR,):
            return
        reason = str(worker.error) or type(worker.error).__name__
        self.ingest([SourceHealth(worker.name, HealthState.ERROR, self.clock.now(), reason)])
        self.log.error(f"source {worker.name} failed: {reason}")
        self.refresh_view()

    def drain_events(self) -> None:
        """Write the events waiting since the last batch, at most `event_lines` of them."""
        if not self._pending:
            return
        batch = list(self._pending)
        self._pending.clear()
        if self._panels is not None:
            self._panels.events.add(batch)

    def evaluate_room(self) -> RoomView:
        """The room evaluated at the clock's now: the one place triggers advance."""
        now = self.clock.now()
        if self.recorder is not None:
            self.recorder.evaluated(now)
        return self.room.evaluate(now)

    def refresh_view(self) -> None:
        """Evaluate the room at the source clock's now and show it."""
        view = self.evaluate_room()
        self.view = view
        if view.firing or any(t.state is TriggerState.PENDING for t in view.triggers):
            # A spell that began with this evaluation takes the events that led up to it.
            self.pins.offer((), self._alarming_triggers())
        panels = self._panels
        if panels is None or not self.is_running or not panels.triggers.is_attached:
            return  # before mount, or during the app's exit (its widgets going one by one)
        with self.batch_update():
            panels.header.show(view)
            panels.banner.show(view.freeze)
            panels.health.show(view.health, self.notes + self._situation(view))
            panels.verification.show(view.verification, view.done)
            panels.failures.show(view.health, view.now)
            for tile, reading in zip(panels.tiles, view.kpis, strict=True):
                tile.show(reading)
            panels.triggers.show(view.triggers, view.now, response_notes(view))
            panels.waves.show(view.waves, view.clock.go_live, view.now)
            panels.rollouts.show(view.rollouts)
            panels.events.show_counts(self.room.events_by_source)
            for screen in self.screen_stack:
                if isinstance(screen, GateScreen):
                    screen.show(view.gates)
                elif isinstance(screen, SmokeScreen):
                    screen.show(view.verification)
                elif isinstance(screen, DoneScreen):
                    screen.show(view.done)
                elif isinstance(screen, TriggerDetailScreen):
                    detail = self.trigger_detail(screen.trigger, view)
                    if detail is not None:
                        screen.show(detail, view.now)
        self._announce_firing(view)
        self._record_incidents()

    def _record_incidents(self) -> None:
        """Write the incident events the room's evaluations made since the last time."""
        events = self.room.unwritten_incident_events
        self.room.unwritten_incident_events = []
        if not events or self.incident_log is None:
            return
        try:
            self.incident_log.append(events)
        except OSError as error:
            self.log.error(f"incident log: {error}")
            self._alert("incident-log", f"cannot write the incident log: {error}", "Incidents")

    def incident_line(self, now: datetime) -> str:
        """The shift's MTTD, MTTA and MTTR (the handover's period back from now)."""
        shift = in_period(fold(self.room.incident_events), now - self.handover.period, now)
        return ("shift " + figures(shift).line()) if shift else ""

    def _announce_firing(self, view: RoomView) -> None:
        """A toast and the bell when a trigger starts firing or the freeze changes; each
        kind at most once per `notify_interval`, so a flapping signal rings once."""
        firing = {t.spec.id for t in view.triggers if t.state is TriggerState.FIRING}
        for status in view.triggers:
            # Someone has it in hand: an acknowledged trigger rings no more.
            if view.acknowledgements.of(status) is not None:
                continue
            if status.spec.id in firing - self._firing:
                self._alert(
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
            self._alert("freeze", text, "Cutover frozen" if frozen else "Cutover unfrozen")
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

    def _alert(self, kind: str, message: str, title: str) -> None:
        now = time.monotonic()
        last = self._alerted.get(kind)
        if last is not None and now - last < self.ui.notify_interval.total_seconds():
            return
        self._alerted[kind] = now
        self.notify(message, title=title, severity="error", timeout=10)
        if self.ui.bell:
            self.bell()

    # Selection ----------------------------------------------------------------------------

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

    def key_for(self, binding_id: str) -> str:
        """The key a binding is on now, as a person types it: text that names a key asks
        here, so it follows a remap in `[ui.keymap]`."""
        keys = self.keys_for(binding_id)
        return key_label(keys) if keys else binding_id

    def keys_for(self, binding_id: str) -> str:
        """A binding's keys now, in Textual's names (`question_mark`); '' for no binding."""
        if binding_id in self._keymap:
            return self._keymap[binding_id]
        for binding in CONTROL_ROOM_BINDINGS:
            assert isinstance(binding, Binding)
            if binding.id == binding_id:
                return binding.key
        return SCREEN_KEYS.get(binding_id, "")

    # Actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self._quitting and action != "quit":
            return False  # a key typed right after q (one terminal read) opens nothing
        # Keys act on the dashboard only; a confirmation or help screen has its own keys.
        if action in ACTIONS | DASHBOARD_KEYS:
            if action == "next_board" and self._help is not None and self._help.is_open:
                return False  # Tab stays in help's filter
            return len(self.screen_stack) == 1
        if action in DISPATCHES:
            return len(self.screen_stack) == 1 or isinstance(self.screen, SmokeScreen)
        return True

    def action_freeze(self) -> None:
        reason = self.actions_config.freeze_reason
        if self.view is not None and self.view.firing:
            reason = "rollback trigger firing: " + ", ".join(t.spec.title for t in self.view.firing)
        self._propose(lambda view: plan_freeze(view, self.operator, reason))

    def action_unfreeze(self) -> None:
        self._propose(lambda view: plan_unfreeze(view, self.operator))

    def action_promote(self) -> None:
        selected = self.selected("Promote")
        if selected is None:
            return
        board, key = selected
        if board == "#wave-board":
            self._propose(lambda view: plan_promote_wave(view, key, self.operator))
        else:
            self._propose(lambda view: plan_promote_rollout(view, key, self.operator))

    def action_abort(self) -> None:
        selected = self.selected("Abort / roll back")
        if selected is None:
            return
        board, key = selected
        if board == "#wave-board":
            self._propose(lambda view: plan_roll_back_wave(view, key, self.operator))
        else:
            self._propose(lambda view: plan_abort_rollout(view, key, self.operator))

    def _propose(self, planner: Callable[[RoomView], ActionPlan]) -> None:
        """Plan from what is on screen, then ask for confirmation."""
        try:
            self.pipeline.refuse_if_read_only()
        except ActionRefused as refusal:
            self.notify(str(refusal), title="Read-only", severity="warning")
            return
        if self.view is None:
            return
        try:
            plan = planner(self.view)
        except SignoffRefused as refusal:
            self.notify(str(refusal), title="Not yours to sign", severity="error")
            return
        except FrozenRefusal as refusal:
            # Who may not make the move at all is told so, not sent to unfreeze first.
            permitted, why = action_permitted(refusal.kind, self.view.permissions)
            if not permitted:
                self.notify(why, title=f"{refusal.kind.value}: not permitted", severity="error")
                return
            may_unfreeze, _ = action_permitted(ActionKind.UNFREEZE, self.view.permissions)
            way_on = (
                f"Unfreeze: {self.key_for('unfreeze')}."
                if may_unfreeze
                else "You may not unfreeze: an operator who may lifts it."
            )
            self.notify(f"{refusal} {way_on}", title="Frozen", severity="error")
            return
        except ActionUnavailable as reason:
            self.notify(str(reason), severity="warning")
            return
        permitted, why = action_permitted(plan.kind, self.view.permissions, plan.target)
        if not permitted:
            self.notify(why, title=f"{plan.title}: not permitted", severity="error")
            return
        self.push_screen(ConfirmScreen(plan, partial(self._live_checks, plan)), self._confirmed)

    def _live_checks(self, plan: ActionPlan) -> tuple[Precondition, ...]:
        return check_preconditions(plan, self.evaluate_room())

    def _confirmed(self, confirmed: Confirmed | None) -> None:
        if confirmed is not None:
            self.execute(confirmed)

    @work(exclusive=True, group="actions", exit_on_error=False)
    async def execute(self, confirmed: Confirmed) -> None:
        """Carry out a confirmed plan through the pipeline, checked on live data now."""
        plan = confirmed.plan
        live = self.evaluate_room()
        try:
            executed = await self.pipeline.execute(plan, live, confirmed.override)
        except TargetChanged as changed:
            self.notify(
                f"{plan.target} changed since you looked: {changed}. Nothing was done;"
                " the board shows its new state.",
                title="Changed since you looked",
                severity="error",
                timeout=10,
            )
            self._show_new_state()
            return
        except ActionRefused as refusal:
            self.notify(str(refusal), title=f"{plan.title} refused", severity="error")
            return
        except Exception as error:  # an effector failure is shown, never swallowed
            self.log.error(f"{plan.title} failed: {error!r}")
            self.notify(f"{error}", title=f"{plan.title} failed", severity="error", timeout=10)
            return
        outcome = executed.outcome
        self.notify(
            outcome.message,
            title=plan.title + (" (override)" if executed.override else ""),
            severity="information" if outcome.ok else "error",
        )
        # In the event stream too, among the incident's events: a toast goes, this stays.
        # Most outcomes start with the action's title already ("Freeze cutover: done").
        message = outcome.message
        said = f"{self.operator}: " + (
            message if message.startswith(plan.title) else f"{plan.title}: {message}"
        )
        severity = "info" if outcome.ok else "warning"
        self._pending.append(PlatformEvent("action", severity, said, self.clock.now()))
        if executed.journal_error:
            self.notify(
                f"the action happened, but its result is not in the journal:"
                f" {executed.journal_error}",
                title="Audit journal",
                severity="error",
                timeout=15,
            )
        for failure in executed.announce_errors:
            self.notify(f"announcement failed: {failure}", severity="warning", timeout=10)
        self._show_new_state()

    def _show_new_state(self) -> None:
        if self._after_action is not None:
            self.ingest(self._after_action())
        self.refresh_view()
        self.drain_events()

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
        spec = next(s for s in self.settings.kpis if s.signal == message.signal)
        fetch = history_fetcher(self.room, self.sources, self.clock.now, self.call_from_thread)
        self.push_screen(KpiChartScreen(spec, fetch))

    def _alarming_triggers(self) -> dict[str, datetime | None]:
        """Each trigger now pending or firing, and where its spell began."""
        log = tuple(self.room.trigger_log)
        return {
            t.spec.id: trigger_window(t.spec.id, log)[0]
            for t in self.room.triggers
            if t.status().alarming
        }

    def trigger_detail(self, trigger: str, view: RoomView) -> TriggerDetail | None:
        """What the room holds about one trigger, as of `view`."""
        status = next((t for t in view.triggers if t.spec.id == trigger), None)
        if status is None:
            return None
        stream = self._panels.events.events if self._panels is not None else ()
        return trigger_detail(
            status,
            tuple(self.room.trigger_log),
            self.room.history,
            self.settings.history_interval,
            view.alerts,
            (*self.pins.of(trigger), *stream),
            view.acknowledgements.of_last_firing(status),
        )

    def action_detail(self) -> None:
        """Enter on a board row: the selected trigger in full."""
        table = self.query_one("#trigger-table", KeyedTable)
        if self.focused is not table:
            return
        key, view = table.selected_key, self.view
        detail = None if key is None or view is None else self.trigger_detail(key, view)
        if detail is not None and view is not None:
            self.push_screen(TriggerDetailScreen(detail, view.now))

    def selected_trigger(self) -> str | None:
        """The trigger row selected, else the one firing trigger, if only one fires."""
        table = self.query_one("#trigger-table", KeyedTable)
        if self.focused is table and table.selected_key is not None:
            return table.selected_key
        firing = self.view.firing if self.view is not None else ()
        return firing[0].spec.id if len(firing) == 1 else None

    def action_acknowledge(self) -> None:
        trigger = self.selected_trigger()
        # Through _propose even without a selection, so read-only refuses first.
        self._propose(
            lambda view: plan_acknowledge(
                view, _chosen(trigger, "a firing", self.key_for("next_board")), self.operator
            )
        )

    def action_silence(self) -> None:
        trigger = self.selected_trigger()
        chosen = partial(_chosen, trigger, "an alert", self.key_for("next_board"))
        self._propose(lambda view: plan_silence(view, chosen(), self.operator))

    def action_gates(self) -> None:
        board = self.view.gates if self.view is not None else None
        self.push_screen(GateScreen(board, sign_key=self.key_for("sign_off")))

    @on(GateScreen.SignOff)
    def propose_sign_off(self, message: GateScreen.SignOff) -> None:
        self._offer_sign_off(message.role)()

    def signer(self, view: RoomView) -> Signer:
        """Who signs: on a cluster, the user and groups its SelfSubjectReview names; the
        control room's operator otherwise. Raises SignoffRefused while that is not known."""
        if not any(source.name == "kubernetes" for source in self.sources):
            return Signer(self.operator)
        permissions = view.permissions
        if permissions is None:
            raise SignoffRefused(
                "refused: who you are on the cluster is not known yet (its SelfSubjectReview"
                " has not answered); try again in a moment"
            )
        if permissions.identity is not None:
            return permissions.identity
        if self.signoffs.restricted:
            raise SignoffRefused(
                f"refused: who you are on the cluster is not known: {permissions.identity_error}"
            )
        return Signer(self.operator)  # anyone may sign: the operator's name is recorded

    def action_smoke(self) -> None:
        view = self.view.verification if self.view is not None else None
        keys = self.key_for("run_smoke"), self.key_for("cd_dry_run")
        self.push_screen(SmokeScreen(view, *keys))

    def action_done(self) -> None:
        self.push_screen(DoneScreen(self.view.done if self.view is not None else None))

    def action_run_smoke(self) -> None:
        self._dispatch(SMOKE_SUITE, self.workflows.smoke_workflow)

    def action_cd_dry_run(self) -> None:
        self._dispatch(CD_DRY_RUN, self.workflows.dry_run_workflow)

    def _dispatch(self, what: str, workflow: str) -> None:
        """A `workflow_dispatch` of the smoke suite or the CD dry run, confirmed with the
        workflow, ref and inputs named, through the one pipeline."""
        repository, ref = self.workflows.repository, self.workflows.ref
        self._propose(lambda _: plan_dispatch(what, repository, workflow, ref, self.operator))

    def action_diagnostics(self) -> None:
        self.push_screen(DiagnosticsScreen(self.room.diagnostics))

    def action_audit(self) -> None:
        if self.journal is None:
            self.notify("no audit journal is configured", severity="warning")
            return
        self.push_screen(AuditScreen(self.journal.path))

    def action_handover(self) -> None:
        self.write_shift_handover()

    @work(exclusive=True, group="handover", exit_on_error=False)
    async def write_shift_handover(self) -> None:
        """Write the handover of the last `[handover] period` to a file and name it. It
        changes nothing, so read-only control rooms write it too."""
        until = datetime.now(timezone.utc)
        record = ShiftRecord(
            view=self.room.evaluate(self.clock.now()),
            trigger_log=tuple(self.room.trigger_log),
            trigger_log_from=self.room.trigger_log_from,
            name=self.settings.name,
            operator=str(self.audit_operator or self.operator),
            journal=self.journal.path if self.journal else None,
        )

        def write() -> Path:  # reads the journal and writes a file: off the event loop
            text = render(record, until - self.handover.period, until)
            return write_handover(text, handover_dir(self.handover), until)

        try:
            path = await asyncio.to_thread(write)
        except OSError as error:
            self.notify(f"cannot write the handover: {error}", severity="error", timeout=10)
            return
        self.notify(str(path), title="Handover written", timeout=15)
        if self.is_web:  # in a browser, the file is on the server: download it too
            self.deliver_text(path, save_filename=path.name, mime_type="text/markdown")

    def action_help(self) -> None:
        overlay = self.query_one(HelpOverlay)
        if overlay.is_open:
            overlay.close()
        else:
            overlay.open(self.help_rows(), self._help_notes())

    def help_rows(self) -> list[HelpRow]:
        """Every key that works, by where it works, read from the bindings themselves."""
        return help_rows(self.key_rows(), self.key_for, self._keymap)

    def action_close_help(self) -> None:
        self.query_one(HelpOverlay).close()

    async def action_quit(self) -> None:
        overlay = self.query_one(HelpOverlay)
        if overlay.is_open:
            overlay.close()  # q closes help first, as it would a help screen
            return
        self._quitting = True
        await super().action_quit()

    def footer_keys(self) -> list[tuple[str, str]]:
        """The keys the bottom line shows, with their current mapping; read-only, only the
        keys that work there (the actions would only be refused)."""
        shown = []
        for binding in CONTROL_ROOM_BINDINGS:
            assert isinstance(binding, Binding)
            if self.pipeline.read_only and binding.action in ACTIONS:
                continue
            if binding.show or binding.id == "command_palette":
                shown.append((self._keymap.get(binding.id or "", binding.key), binding.description))
        return shown

    def key_rows(self) -> list[tuple[str, str, str]]:
        """Every control-room binding with its current keys, description and id."""
        keymap = self._keymap
        rows = []
        for binding in CONTROL_ROOM_BINDINGS:
            assert isinstance(binding, Binding)
            keys = keys_label(keymap.get(binding.id or "", binding.key))
            action = binding.tooltip or binding.description
            if self.pipeline.read_only and binding.action in ACTIONS:
                action += " (refused: read-only)"
            rows.append((keys, action, binding.id or ""))
        return rows

    def _help_notes(self) -> list[str]:
        notes = [f"Mode: {self.mode}"]
        if self.pipeline.read_only:
            notes.append(f"Actions are disabled: {self.pipeline.why_read_only}.")
        notes += [f"Workbook problem: {problem}" for problem in self.workbook_problems]
        return notes

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        for command in super().get_system_commands(screen):
            # Textual's Keys panel lists its own key names; help (?) lists the room's.
            if command.title not in ("Keys", "Screenshot"):
                yield command
        key = self.key_for
        for title, help_text, callback in (
            ("Freeze the cutover", f"Stop promotions, pause rollouts ({key('freeze')})",
             self.action_freeze),
            ("Unfreeze the cutover", f"Resume what the freeze paused ({key('unfreeze')})",
             self.action_unfreeze),
            ("Promote the selected wave or rollout", key("promote"), self.action_promote),
            ("Abort the selected rollout / roll back the selected wave", key("abort"),
             self.action_abort),
            ("Filter events: search the event stream", key("filter_events"),
             self.action_filter_events),
            ("Show every build event, or only failures", key("all_events"),
             self.action_all_events),
            ("Next board", key("next_board"), self.action_next_board),
            ("Acknowledge the selected firing trigger", key("acknowledge"),
             self.action_acknowledge),
            ("Silence the selected alert trigger, or expire its silence", key("silence"),
             self.action_silence),
            ("Trigger detail: timeline, chart, alert, pinned events", key("detail"),
             self.action_detail),
            ("Go/No-Go gates: the gate matrix and sign-offs", key("gates"), self.action_gates),
            ("Smoke suite, drills and deploys", key("smoke"), self.action_smoke),
            ("Definition of Done: Tier-0/1, rollback, SLO streaks, sign-offs", key("done"),
             self.action_done),
            ("Run the smoke suite: workflow_dispatch of the smoke workflow", key("run_smoke"),
             self.action_run_smoke),
            ("CD dry run: workflow_dispatch of cd.yml with no_op=true", key("cd_dry_run"),
             self.action_cd_dry_run),
            ("Audit journal: who did what, and its hash chain", key("audit"), self.action_audit),
            ("Diagnostics: message counters and rejected payloads", key("diagnostics"),
             self.action_diagnostics),
            ("Write the shift handover", key("handover"), self.action_handover),
            ("Help: every key", key("help"), self.action_help),
            ("Screenshot: save the screen as SVG", "next to the shift handovers",
             self.save_screen),
        ):  # fmt: skip
            yield SystemCommand(title, help_text, callback)
        for spec in self.settings.kpis:
            yield SystemCommand(
                f"KPI history chart: {spec.title}",
                f"30 m, 6 h or 7 d of {spec.signal}",
                partial(self.open_chart, KpiRow.ChartWanted(spec.signal)),
            )
        view = self.view
        if view is None:
            return
        for wave in view.waves:
            state = f"{wave.wave} is {wave.state.value}"
            yield SystemCommand(
                f"Promote wave {wave.wave}", state, self._offer(plan_promote_wave, wave.wave)
            )
            yield SystemCommand(
                f"Roll back wave {wave.wave}", state, self._offer(plan_roll_back_wave, wave.wave)
            )
        for status in view.triggers:
            yield SystemCommand(
                f"Acknowledge trigger {status.spec.title}",
                status.state.value,
                self._offer(plan_acknowledge, status.spec.id),
            )
            if status.spec.alertname:
                yield SystemCommand(
                    f"Silence trigger {status.spec.title} (or expire its silence)",
                    status.spec.alertname,
                    self._offer(plan_silence, status.spec.id),
                )
        if view.gates is not None:
            for role in view.gates.roles:
                signed = view.gates.signoffs.of(role)
                yield SystemCommand(
                    f"Withdraw {role}'s sign-off" if signed else f"Sign off as {role}",
                    f"signed by {signed.by}" if signed else "Go/No-Go sign-off",
                    self._offer_sign_off(role),
                )
        for rollout in view.rollouts:
            state = f"{rollout.phase.value}, step {rollout.step}/{rollout.steps}"
            yield SystemCommand(
                f"Promote rollout {rollout.key}",
                state,
                self._offer(plan_promote_rollout, rollout.key),
            )
            yield SystemCommand(
                f"Abort rollout {rollout.key}", state, self._offer(plan_abort_rollout, rollout.key)
            )

    def save_screen(self) -> None:
        """The screen as SVG in the handover folder (always writable by the room); in a
        browser, downloaded too. Textual's own Screenshot saves to a downloads folder a
        bastion host may not have, and fails there."""
        folder = handover_dir(self.handover)
        name = f"screen-{datetime.now(timezone.utc):%Y%m%dT%H%M%SZ}.svg"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = Path(self.save_screenshot(name, str(folder)))
        except OSError as error:
            self.notify(f"cannot save the screen: {error}", severity="error", timeout=10)
            return
        self.notify(str(path), title="Screen saved", timeout=15)
        if self.is_web:
            self.deliver_text(path, save_filename=path.name, mime_type="image/svg+xml")

    def _offer_sign_off(self, role: str) -> Callable[[], None]:
        def plan(view: RoomView) -> ActionPlan:
            signer = self.signer(view)
            return plan_sign_off(view, role, self.operator, signer=signer, policy=self.signoffs)

        def propose() -> None:
            self._propose(plan)

        return propose

    def _offer(
        self, planner: Callable[[RoomView, str, str], ActionPlan], target: str
    ) -> Callable[[], None]:
        def propose() -> None:
            self._propose(lambda view: planner(view, target, self.operator))

        return propose
