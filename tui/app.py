"""The control room's App: what is app-wide. It runs the runtime (tui/composition.py): the
session, the sources' workers feeding it and the tick; it owns the keymap, the theme,
notifications and the palette, and carries actions out through the policy and the pipeline.
What is on screen is the dashboard's (tui/screens/dashboard.py) and the other screens'."""

from __future__ import annotations

import asyncio
import gc
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.app import App, SystemCommand
from textual.driver import Driver
from textual.message import Message
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from ..cutover.action_kinds import ActionKind
from ..cutover.action_registry import ACTING, REGISTRY, Scope, keys_of
from ..cutover.actions import (
    CD_DRY_RUN,
    SMOKE_SUITE,
    ActionPlan,
    Precondition,
    SignoffRefused,
    TargetChanged,
    check_preconditions,
    plan_abort_rollout,
    plan_dispatch,
    plan_promote_rollout,
    plan_promote_wave,
    plan_roll_back_wave,
    plan_sign_off,
)
from ..cutover.events import PlatformEvent
from ..cutover.pipeline import ActionRefused
from ..cutover.playbook import STEPS
from ..cutover.playbook_plans import exec_update_message, plan_skip, plan_step
from ..cutover.policy import Refusal, vet
from ..cutover.response_actions import plan_acknowledge, plan_silence
from ..cutover.room import ControlRoom, RoomView
from ..cutover.session import Delivery
from ..cutover.signers import Signer
from ..cutover.updates import HealthState, SourceHealth, Update
from ..sources.base import Beat, Paced, Source
from ..sources.log_export import LogExporter
from ..sources.supervisor import supervise
from ..widgets.events import event_line
from ..widgets.keys import key_label
from ..widgets.kpi import KpiRow
from ..widgets.too_small import MIN_HEIGHT, MIN_WIDTH
from .bindings import APP_BINDINGS
from .composition import Runtime
from .cycles import CycleCollector
from .details import JournalReader, check_screen
from .driver import quiet_driver
from .handover import (
    ShiftRecord,
    handover_dir,
    read_records,
    render,
    shift_end,
    write_handover,
)
from .lifecycle import install_signal_handlers, watch_server
from .palette import ControlRoomCommands, PaletteCommand
from .screens.confirm import Confirmed, ConfirmScreen
from .screens.dashboard import Dashboard
from .screens.gates import GateScreen
from .screens.playbook import ExecUpdateScreen, PlaybookScreen
from .screens.smoke import SmokeScreen
from .screens.trigger_detail import TriggerDetailScreen

if TYPE_CHECKING:
    from ..sources.recorder import SessionRecorder
    from .replay import ReplayFeed

#: Events go on screen at most this often, in seconds (and at each tick): a burst's many
#: batches a second share a frame, while a steady stream's batches, further apart, each
#: show at once.
EVENTS_PAINT_EVERY = 0.1
#: Below this many lines the dashboard packs tighter (`-short` in app.tcss).
SHORT_HEIGHT = 32
#: The actions that change the cutover, refused read-only (from the registry).
ACTIONS = ACTING
#: Dispatches, from the dashboard or the smoke screen.
DISPATCHES = frozenset(a.id for a in REGISTRY if a.scope is Scope.DISPATCH)


class SourceUpdates(Message):
    """A batch from one source's worker, delivered off the app's thread."""

    def __init__(self, batch: Delivery) -> None:
        super().__init__()
        self.batch = batch


class ControlRoomApp(App[None]):
    """The cutover control room."""

    TITLE = "maestro-control-room"
    CSS_PATH = "app.tcss"
    # The dashboard's own keys are on the dashboard (tui/screens/dashboard.py).
    BINDINGS = APP_BINDINGS
    HORIZONTAL_BREAKPOINTS = [(0, "-too-narrow"), (MIN_WIDTH, "-compact"), (110, "-wide")]
    VERTICAL_BREAKPOINTS = [(0, "-too-short"), (MIN_HEIGHT, "-short"), (SHORT_HEIGHT, "-tall")]
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {ControlRoomCommands}

    def __init__(self, runtime: Runtime, *, replay: ReplayFeed | None = None) -> None:
        super().__init__()
        self.runtime = runtime
        #: The recording feeding the session instead of live sources, in a replay.
        self.replay = replay
        self.session = runtime.session
        self.signoffs = runtime.signoffs
        self.alarms = runtime.alarms
        self.settings = runtime.settings
        self.sources = runtime.sources
        self.clock = runtime.clock
        self.operator = runtime.operator
        self.ui = runtime.ui
        self.actions_config = runtime.actions
        self.journal = runtime.journal
        self.audit_operator = runtime.audit_operator
        self.handover = runtime.handover
        self.workflows = runtime.workflows
        self.pipeline = runtime.pipeline
        #: The journal's entries for the rollout detail, read again when the file changed.
        self.journal_reader = JournalReader(self.journal.path if self.journal else None)
        #: The session's recording, when `--record` runs one (tui/record.py).
        self.recorder: SessionRecorder | None = None
        #: The playbook's steps, when the effector carries them out (tui/composition.py).
        self.playbook_effector = runtime.playbook
        if self.playbook_effector is not None:
            exporter = self.playbook_effector.backends.get(ActionKind.EXPORT_LOGS)
            if isinstance(exporter, LogExporter):
                exporter.collect = self.log_files
        self._after_action = runtime.after_action
        self.notes = self.alarms
        self.workbook_problems = runtime.workbook_problems
        self.view: RoomView | None = None
        #: The main screen, made once: `get_default_screen` hands it to Textual.
        self.dashboard = Dashboard(self.ui.event_lines)
        #: Set by q: from then on no key opens a screen or starts an action.
        self.quitting = False
        #: When events were last put on screen (loop time), and the paint waiting, if any.
        self._events_painted_at = -EVENTS_PAINT_EVERY
        #: The tick's beat: the simulator steps on it, and the MQTT socket's rests end on it.
        self.beat = Beat()
        self.cycles = CycleCollector()
        self._events_paint: asyncio.TimerHandle | None = None
        #: Incidents, beside the journal: none are recorded where nothing is journalled.
        self.incident_log = runtime.incident_log
        self.theme = self.ui.theme
        if self.ui.keymap:
            self.set_keymap(self.ui.keymap)
        if self.workbook_problems:  # named with the help key as mapped, hence here
            problems = len(self.workbook_problems)
            note = f"workbook: {problems} bad row(s), see {self.key_for('help')}"
            self.notes = (note, *self.notes)

    @property
    def room(self) -> ControlRoom:
        """The session's room."""
        return self.session.room

    @property
    def read_only_mode(self) -> bool:
        return self.runtime.read_only

    def get_driver_class(self) -> type[Driver]:
        # In a terminal, an input thread that sleeps until a key comes (tui/driver.py).
        return quiet_driver(super().get_driver_class())

    @property
    def mode(self) -> str:
        if self.replay is not None:
            return self.replay.mode
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

    def get_default_screen(self) -> Dashboard:
        return self.dashboard

    def on_mount(self) -> None:
        if not self.is_headless:  # a real terminal or browser, not a test's Pilot
            install_signal_handlers(self)
        if self.is_web:
            watch_server(self)

    def start_sources(self) -> None:
        """Start every source under its supervisor, and the tick; once the dashboard that
        shows them is mounted."""
        self.session.register((source.name for source in self.sources), self.clock.now())
        for source in self.sources:
            if isinstance(source, Paced):
                source.step_with(self.beat, self.ui.refresh)
            self.run_source(source)
        self.set_interval(self.ui.refresh.total_seconds(), self.tick)

    async def tick(self) -> None:
        """Once a refresh: the sources on the beat step, then the room is evaluated at now
        and the events waiting are shown, in one wake-up and one frame."""
        if self.beat.beat():
            await asyncio.sleep(0)  # the woken sources' steps are ready: they run first
        self.refresh_view()
        self.drain_events()
        self.cycles.collect_when_due(asyncio.get_running_loop().time())

    def run_source(self, source: Source) -> Worker[None]:
        # The supervisor restarts the source after any exception, and shows why.
        return self.run_worker(
            supervise(source, partial(self.deliver_from, source.name), self.clock.now),
            name=source.name,
            group="sources",
            exit_on_error=False,
        )

    def deliver_from(self, source: str, updates: Sequence[Update]) -> None:
        """What `source` delivers, as one batch with its name and the clock's time."""
        self.deliver(Delivery(source, self.clock.now(), tuple(updates)))

    def deliver(self, batch: Delivery) -> None:
        """Hand a batch to the session; callable from any task or thread. On the app's own
        thread (the sources' tasks and callbacks) it is taken in at once: a message would
        cost a turn of the app's message loop, several times a second."""
        if self._thread_id != threading.get_ident():
            self.post_message(SourceUpdates(batch))
            return
        try:
            self.take(batch)
        except Exception as error:  # as a message handler's would: not the source's fault
            self._handle_exception(error)

    def on_source_updates(self, message: SourceUpdates) -> None:
        self.take(message.batch)

    def take(self, batch: Delivery) -> None:
        """Apply a source's batch to the room and put its events on screen."""
        if not self.dashboard.ready:
            return  # a delivery before the panels exist, or racing the app's exit
        if self.session.deliver(batch):
            self.refresh_view()  # a source's first state and first answer show at once
            self.drain_events()
            # What a source built to answer (a warmed-up simulator's model, a cluster's
            # objects) lives as long as the app: out of the collector's way, as at mount.
            gc.freeze()
        elif self._events_paint is None:
            # The events of this batch, and of any that come before the paint.
            loop = asyncio.get_running_loop()
            wait = self._events_painted_at + EVENTS_PAINT_EVERY - loop.time()
            self._events_paint = loop.call_later(max(0.0, wait), self._paint_events)

    def _paint_events(self) -> None:
        self._events_paint = None
        if self.is_running:
            self.drain_events()

    def ingest(self, updates: Iterable[Update], source: str = "") -> None:
        """Apply updates to the room as one batch from `source`; events wait for the next
        drain. For what is not a running source's delivery (a test, an action's effect)."""
        if self.session.deliver(Delivery(source, self.clock.now(), tuple(updates))):
            # A source's first delivery is shown at once, not at the next tick.
            self.refresh_view()
            self.drain_events()

    @on(Worker.StateChanged)
    def _source_worker(self, event: Worker.StateChanged) -> None:
        worker = event.worker
        if worker.group != "sources" or event.state not in (WorkerState.ERROR,):
            return
        reason = str(worker.error) or type(worker.error).__name__
        failed = SourceHealth(worker.name, HealthState.ERROR, self.clock.now(), reason)
        self.ingest([failed], worker.name)
        self.log.error(f"source {worker.name} failed: {reason}")
        self.refresh_view()

    def evaluate_room(self) -> RoomView:
        """The room evaluated at the clock's now: the one place triggers advance. In a
        replay, the last recorded tick's view: only the recording moves the triggers."""
        if self.replay is not None:
            return self.replay.frame()
        return self.session.tick(self.clock.now())

    def drain_events(self) -> None:
        """Write the events waiting since the last batch on the dashboard's stream."""
        self._events_painted_at = asyncio.get_running_loop().time()
        self.dashboard.drain_events()

    def refresh_view(self) -> None:
        """Evaluate the room at the source clock's now and show it."""
        view = self.evaluate_room()
        self.view = view
        self.dashboard.show_view(view)
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
            self.dashboard.alert(
                "incident-log", f"cannot write the incident log: {error}", "Incidents"
            )

    # Selection ----------------------------------------------------------------------------

    def key_for(self, binding_id: str) -> str:
        """The key a binding is on now, as a person types it: text that names a key asks
        here, so it follows a remap in `[ui.keymap]`."""
        keys = self.keys_for(binding_id)
        return key_label(keys) if keys else binding_id

    def keys_for(self, binding_id: str) -> str:
        """A binding's keys now, in Textual's names (`question_mark`); '' for no binding."""
        return keys_of(binding_id, self._keymap)

    # Actions ------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.quitting and action != "quit":
            return False  # a key typed right after q (one terminal read) opens nothing
        if action in DISPATCHES:  # from the dashboard or the smoke screen
            return isinstance(self.screen, Dashboard | SmokeScreen)
        return True

    def propose(self, planner: Callable[[RoomView], ActionPlan]) -> None:
        """Plan from what is on screen; what the policy lets through is confirmed."""
        vetted = vet(
            planner,
            self.view,
            self.pipeline,
            unfreeze_key=self.key_for("unfreeze"),
            read_only_refusal=self.runtime.read_only_refusal,
        )
        if isinstance(vetted, Refusal):
            self.notify(vetted.message, title=vetted.title, severity=vetted.severity)
        elif vetted is not None:
            self.push_screen(
                ConfirmScreen(vetted, partial(self._live_checks, vetted)), self._confirmed
            )

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
        self.dashboard.queue_events([PlatformEvent("action", severity, said, self.clock.now())])
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
            self.session.deliver(self._after_action())
        self.refresh_view()
        self.drain_events()

    # The rollback playbook: its screen's steps, carried out here like every action. -------

    @on(TriggerDetailScreen.PlaybookWanted)
    def playbook_for(self, message: TriggerDetailScreen.PlaybookWanted) -> None:
        # After the detail has gone: the playbook opens over the dashboard.
        self.call_after_refresh(self.dashboard.action_playbook, message.trigger)

    @on(PlaybookScreen.TakeStep)
    def take_step(self, message: PlaybookScreen.TakeStep) -> None:
        step, trigger = message.step, message.trigger
        if step == "exec-update":
            try:
                self.pipeline.refuse_if_read_only()
            except ActionRefused as refusal:
                self.notify(str(refusal), title="Read-only", severity="warning")
                return
            if self.view is None:
                return
            template = exec_update_message(self.view, trigger)

            def send(text: str | None) -> None:
                if text:
                    self.propose(
                        lambda view: plan_step(view, step, self.operator, trigger, message=text)
                    )

            self.push_screen(ExecUpdateScreen(template), send)
            return
        self.propose(lambda view: plan_step(view, step, self.operator, trigger))

    @on(PlaybookScreen.SkipStep)
    def skip_step(self, message: PlaybookScreen.SkipStep) -> None:
        step, trigger = message.step, message.trigger
        self.propose(lambda view: plan_skip(view, step, self.operator, "", trigger))

    def log_files(self, plan: ActionPlan) -> dict[str, bytes]:
        """What the logs bundle holds, as of now: the journal's entries of the handover's
        period, the recording if one runs, the handover, the event log and the gate report."""
        import json

        from ..cutover.gate_report import report

        view = self.room.evaluate(self.clock.now())
        record = self.shift_record(view)
        # The handover's period, on the room's clock that stamps the journal too.
        records = read_records(record)
        until = shift_end(record, records)
        since = until - self.handover.period
        files: dict[str, bytes] = {}
        if self.journal is not None and self.journal.path.exists():
            lines = []
            for line in self.journal.path.read_bytes().splitlines():
                try:
                    ts = datetime.fromisoformat(json.loads(line)["ts"].replace("Z", "+00:00"))
                except (ValueError, KeyError, TypeError):
                    lines.append(line)  # a damaged line is evidence too
                    continue
                if ts >= since:
                    lines.append(line)
            files["audit-journal.jsonl"] = b"".join(line + b"\n" for line in lines)
        if self.recorder is not None and self.recorder.path.exists():
            files[f"recording-{self.recorder.path.name}"] = self.recorder.path.read_bytes()
        files["handover.md"] = render(record, since, until, records).encode()
        stream = self.dashboard.events_shown()
        files["events.log"] = "".join(f"{event_line(e).plain}\n" for e in stream).encode()
        if view.gates is not None:
            document = report(view.gates, view.triggers, view.now, ())
            files["gate-report.json"] = json.dumps(document, indent=2).encode()
        return files

    @on(GateScreen.CheckDetailWanted)
    def open_check_detail(self, message: GateScreen.CheckDetailWanted) -> None:
        screen = None if self.view is None else check_screen(message.check, self.view, self.room)
        if screen is not None:
            self.push_screen(screen)

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

    def action_run_smoke(self) -> None:
        self._dispatch(SMOKE_SUITE, self.workflows.smoke_workflow)

    def action_cd_dry_run(self) -> None:
        self._dispatch(CD_DRY_RUN, self.workflows.dry_run_workflow)

    def _dispatch(self, what: str, workflow: str) -> None:
        """A `workflow_dispatch` of the smoke suite or the CD dry run, confirmed with the
        workflow, ref and inputs named, through the one pipeline."""
        repository, ref = self.workflows.repository, self.workflows.ref
        self.propose(lambda _: plan_dispatch(what, repository, workflow, ref, self.operator))

    def shift_record(self, view: RoomView) -> ShiftRecord:
        """What a handover of this room is written from, with `view` as its state now."""
        return ShiftRecord(
            view=view,
            trigger_log=tuple(self.room.trigger_log),
            trigger_log_from=self.room.trigger_log_from,
            name=self.settings.name,
            operator=str(self.audit_operator or self.operator),
            journal=self.journal.path if self.journal else None,
        )

    @work(exclusive=True, group="handover", exit_on_error=False)
    async def write_shift_handover(self) -> None:
        """Write the handover of the last `[handover] period` to a file and name it. It
        changes nothing, so read-only control rooms write it too."""
        record = self.shift_record(self.room.evaluate(self.clock.now()))

        def write() -> Path:  # reads the journal and writes a file: off the event loop
            # The period ends on the room's clock, which stamps everything it records.
            records = read_records(record)
            until = shift_end(record, records)
            text = render(record, until - self.handover.period, until, records)
            return write_handover(text, handover_dir(self.handover), datetime.now(timezone.utc))

        try:
            path = await asyncio.to_thread(write)
        except OSError as error:
            self.notify(f"cannot write the handover: {error}", severity="error", timeout=10)
            return
        self.notify(str(path), title="Handover written", timeout=15)
        if self.is_web:  # in a browser, the file is on the server: download it too
            self.deliver_text(path, save_filename=path.name, mime_type="text/markdown")

    async def action_quit(self) -> None:
        if self.dashboard.help_open:
            self.dashboard.action_close_help()  # q closes help first, as a help screen would
            return
        self.quitting = True
        await super().action_quit()

    def action_close_help(self) -> None:
        self.dashboard.action_close_help()

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's own commands (the theme, quit); the room's are in `palette_commands`."""
        for command in super().get_system_commands(screen):
            # Textual's Keys panel lists its own key names; help (?) lists the room's.
            if command.title not in ("Keys", "Screenshot"):
                yield command

    def palette_commands(self) -> list[PaletteCommand]:
        """What the palette offers (tui/palette.py): every action the registry titles, with
        its key as mapped now, then each thing the room holds that can be acted on."""
        commands = []
        for action in REGISTRY:
            if action.palette:
                key = self.key_for(action.id)
                said = f"{action.palette_help} ({key})" if action.palette_help else key
                # The dashboard's actions on the dashboard, the App's on the App.
                owner = self.dashboard if hasattr(self.dashboard, f"action_{action.id}") else self
                run = getattr(owner, f"action_{action.id}")
                commands.append(PaletteCommand(action.palette, said, run))
        commands.append(
            PaletteCommand(
                "Screenshot: save the screen as SVG",
                "next to the shift handovers",
                self.save_screen,
            )
        )
        return commands + list(self._room_commands())

    def _room_commands(self) -> Iterator[PaletteCommand]:
        for spec in self.settings.kpis:
            yield PaletteCommand(
                f"KPI history chart: {spec.title}",
                f"30 m, 6 h or 7 d of {spec.signal}",
                partial(self.dashboard.open_chart, KpiRow.ChartWanted(spec.signal)),
            )
        view = self.view
        if view is None:
            return
        trigger = view.firing[0].spec.id if view.firing else view.playbook.trigger
        for playbook_step in STEPS:
            yield PaletteCommand(
                f"Playbook step {playbook_step.number}: {playbook_step.title}",
                f"{playbook_step.what} ({view.playbook.of(playbook_step.id).line()})",
                partial(self.take_step, PlaybookScreen.TakeStep(playbook_step.id, trigger)),
            )
            yield PaletteCommand(
                f"Skip playbook step {playbook_step.number}: {playbook_step.title}",
                "marked skipped, with the reason you give",
                partial(self.skip_step, PlaybookScreen.SkipStep(playbook_step.id, trigger)),
            )
        for wave in view.waves:
            state = f"{wave.wave} is {wave.state.value}"
            yield PaletteCommand(
                f"Promote wave {wave.wave}", state, self._offer(plan_promote_wave, wave.wave)
            )
            yield PaletteCommand(
                f"Roll back wave {wave.wave}", state, self._offer(plan_roll_back_wave, wave.wave)
            )
        for status in view.triggers:
            yield PaletteCommand(
                f"Acknowledge trigger {status.spec.title}",
                status.state.value,
                self._offer(plan_acknowledge, status.spec.id),
            )
            if status.spec.alertname:
                yield PaletteCommand(
                    f"Silence trigger {status.spec.title} (or expire its silence)",
                    status.spec.alertname,
                    self._offer(plan_silence, status.spec.id),
                )
        if view.gates is not None:
            for role in view.gates.roles:
                signed = view.gates.signoffs.of(role)
                yield PaletteCommand(
                    f"Withdraw {role}'s sign-off" if signed else f"Sign off as {role}",
                    f"signed by {signed.by}" if signed else "Go/No-Go sign-off",
                    self._offer_sign_off(role),
                )
        for rollout in view.rollouts:
            state = f"{rollout.phase.value}, step {rollout.step}/{rollout.steps}"
            yield PaletteCommand(
                f"Promote rollout {rollout.key}",
                state,
                self._offer(plan_promote_rollout, rollout.key),
            )
            yield PaletteCommand(
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
            self.propose(plan)

        return propose

    def _offer(
        self, planner: Callable[[RoomView, str, str], ActionPlan], target: str
    ) -> Callable[[], None]:
        def propose() -> None:
            self.propose(lambda view: planner(view, target, self.operator))

        return propose
