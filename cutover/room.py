"""The control room's state: everything the sources delivered, evaluated at one instant."""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .acknowledgements import NONE as NO_ACKNOWLEDGEMENTS
from .acknowledgements import Acknowledgements
from .clock import ClockReading, read_clock
from .done import DefinitionOfDone, DoneItem, GreenStreaks, definition_of_done, on_maestro_item
from .events import BuildEvent, PlatformEvent
from .freeze import UNFROZEN, FreezeState
from .gates import (
    CheckKind,
    CheckReading,
    CheckResult,
    CheckSpec,
    CheckState,
    GateInputs,
    GateSpec,
    GoNoGo,
    Signoffs,
    evaluate_gates,
)
from .incidents import IncidentEvent, IncidentTracker
from .kpis import KpiSpec, KpiVerdict
from .permissions import Permissions
from .playbook import NO_RUN, PlaybookRun
from .presence import Presence
from .rollouts import RolloutStatus
from .routing import MAESTRO as MAESTRO_ROUTING
from .routing import Routing
from .signals import Signal, SignalStatus, missing
from .silences import Silences
from .smoke import (
    VerificationLedger,
    VerificationUpdate,
    VerificationView,
    judge_deploy_evidence,
    judge_smoke,
)
from .triggers import RollbackTrigger, TriggerSpec, TriggerState, TriggerStatus
from .updates import (
    AcknowledgementsUpdate,
    Alert,
    AlertsUpdate,
    EventsUpdate,
    FreezeUpdate,
    GapBackfill,
    GateReadingsUpdate,
    HealthState,
    HistoryBackfill,
    PayloadDiagnostics,
    PermissionsUpdate,
    PlaybookUpdate,
    PresenceUpdate,
    RolloutsUpdate,
    RoutingUpdate,
    SignalUpdate,
    SignoffsUpdate,
    SilencesUpdate,
    SourceHealth,
    Update,
    WaveMetricsUpdate,
    WavesUpdate,
)
from .waves import (
    GreenPeriod,
    RepoState,
    WaveProgress,
    WaveRepos,
    WaveStatus,
    Workbook,
    find_wave,
    wave_board,
)


@dataclass(frozen=True)
class RoomSettings:
    """What the room is measured against: the plan's dates, KPIs, triggers and limits."""

    name: str
    go_live: datetime
    kpis: tuple[KpiSpec, ...]
    triggers: tuple[TriggerSpec, ...]
    green_period: timedelta
    workbook: Workbook
    max_age: Mapping[str, timedelta]
    history_points: int = 120
    #: One sparkline point per this much time: 120 points of 15 s show the last 30 minutes,
    #: and a sparkline moves four times a minute rather than with every reading.
    history_interval: timedelta = timedelta(seconds=15)
    default_max_age: timedelta = timedelta(seconds=30)
    #: The Go/No-Go gate matrix, sign-offs included.
    gates: tuple[GateSpec, ...] = ()
    #: The smoke suite, its drills, and the Definition of Done.
    smoke_suite: str = "maestro"
    smoke_max_age: timedelta = timedelta(hours=6)
    drill_max_age: timedelta = timedelta(days=14)
    rollback_drill: str = "rollback"
    done_tiers: tuple[str, ...] = ("0", "1")
    slo_period: timedelta = timedelta(days=14)
    done_signoffs: tuple[str, ...] = ("Security", "Compliance/Legal")

    def max_age_of(self, source: str) -> timedelta:
        return self.max_age.get(source, self.default_max_age)


@dataclass(frozen=True)
class TriggerTransition:
    """A rollback trigger moving from one state to another, as the room saw it."""

    at: datetime
    trigger: str
    title: str
    before: TriggerState
    after: TriggerState


#: Transitions kept for the handover: days of a flapping trigger, in little memory.
TRIGGER_LOG_SIZE = 1000


@dataclass(frozen=True)
class KpiReading:
    """A KPI tile's content: the reading as of now, its verdict and recent history."""

    spec: KpiSpec
    signal: Signal
    verdict: KpiVerdict
    history: tuple[float, ...]
    #: Between two points of `history`: a sparkline's span is its points times this.
    history_interval: timedelta = timedelta(seconds=15)


@dataclass(frozen=True)
class HealthReading:
    """A source's health as of now: ok, stale for some time, or error with a reason."""

    source: str
    state: HealthState
    reason: str
    age: timedelta | None
    address: str = ""
    retry_at: datetime | None = None

    @property
    def text(self) -> str:
        if self.state is HealthState.STALE and self.age is not None:
            return f"stale {int(self.age.total_seconds())}s"
        if self.state is HealthState.ERROR:
            return f"error: {self.reason}"
        if self.state is HealthState.CONNECTING and self.reason:
            return self.reason  # what it is doing meanwhile: "simulator warming up (40%)"
        return str(self.state.value)


@dataclass(frozen=True)
class RoomView:
    """Everything the screens show, and what action preconditions are checked against."""

    now: datetime
    clock: ClockReading
    kpis: tuple[KpiReading, ...]
    triggers: tuple[TriggerStatus, ...]
    waves: tuple[WaveProgress, ...]
    rollouts: tuple[RolloutStatus, ...]
    freeze: FreezeState
    health: tuple[HealthReading, ...]
    alerts: tuple[Alert, ...]
    green_since: datetime | None
    green_period: timedelta
    stale_sources: frozenset[str] = field(default_factory=frozenset)
    #: Other control rooms watching, as they announce themselves.
    operators: tuple[Presence, ...] = ()
    #: A session takeover between rooms sharing an MQTT client id, in words; "" when none.
    operators_warning: str = ""
    #: What this operator may do on the cluster; None where no cluster answers for it.
    permissions: Permissions | None = None
    #: The Go/No-Go board; None when the config has no gates.
    gates: GoNoGo | None = None
    #: The smoke board, the drills and the deploys.
    verification: VerificationView | None = None
    #: The plan's Definition of Done.
    done: DefinitionOfDone | None = None
    #: Who took which firing trigger in hand.
    acknowledgements: Acknowledgements = NO_ACKNOWLEDGEMENTS
    #: Alertmanager's silences on the triggers' alerts; no source when none answers.
    silences: Silences = field(default_factory=Silences)
    #: The rollback playbook's run, and where builds are routed.
    playbook: PlaybookRun = NO_RUN
    routing: Routing = MAESTRO_ROUTING

    def rollout(self, key: str) -> RolloutStatus | None:
        return next((r for r in self.rollouts if r.key == key), None)

    def wave(self, wave: str) -> WaveProgress | None:
        return find_wave(self.waves, wave)

    @property
    def alarming(self) -> tuple[TriggerStatus, ...]:
        return tuple(t for t in self.triggers if t.alarming)

    @property
    def firing(self) -> tuple[TriggerStatus, ...]:
        return tuple(t for t in self.triggers if t.state is TriggerState.FIRING)

    @property
    def unknown_inputs(self) -> tuple[str, ...]:
        """Names of inputs that are not current: KPI signals and triggers without data."""
        names = [k.spec.title for k in self.kpis if k.signal.status is not SignalStatus.OK]
        names += [t.spec.title for t in self.triggers if t.state is TriggerState.UNKNOWN]
        return tuple(dict.fromkeys(names))


class ControlRoom:
    """Holds what the sources delivered and evaluates triggers, waves and health.

    Updates come in through `apply`; `evaluate(now)` advances the trigger state machines and
    returns a `RoomView`. Every reading is judged against its source's max age at `now`, so
    nothing stale is ever presented as current.
    """

    def __init__(self, settings: RoomSettings) -> None:
        self.settings = settings
        self.signals: dict[str, Signal] = {}
        self.history: dict[str, deque[float]] = {}
        self._history_at: dict[str, datetime] = {}
        self.triggers = [RollbackTrigger(spec) for spec in settings.triggers]
        #: Every change of a trigger's state, oldest first, for the shift handover.
        self.trigger_log: deque[TriggerTransition] = deque(maxlen=TRIGGER_LOG_SIZE)
        self._first_evaluation: datetime | None = None
        self.alerts: tuple[Alert, ...] = ()
        self.alerts_source = ""
        self.alerts_at: datetime | None = None
        self.rollouts: dict[str, RolloutStatus] = {}
        self._rollouts_shown: tuple[RolloutStatus, ...] = ()
        self.rollouts_source = ""
        # The wave board is made again only when something it shows changed, and then
        # counts again only the waves whose repositories moved: at 5,000 repositories the
        # one-second tick walks none of them.
        self._wave_repos = WaveRepos(settings.workbook)
        self._board: tuple[WaveProgress, ...] | None = None
        self._board_key: tuple[object, ...] = ()
        self._board_inputs = 0
        #: The Definition of Done's repositories item, and the repositories' version it
        #: counted: counted again only when a repository moved.
        self._on_maestro: tuple[tuple[int, bool], DoneItem] | None = None
        self.wave_statuses: dict[str, WaveStatus] = {}
        self.repo_states: dict[str, RepoState] = {}
        self._repo_states_heard: Mapping[str, RepoState] | None = None
        self.shadow_pass: dict[str, float] = {}
        self.waves_source = ""
        self.freeze: FreezeState = UNFROZEN
        self.health: dict[str, SourceHealth] = {}
        self.last_heard: dict[str, datetime] = {}
        self.green = GreenPeriod()
        #: Every event each source delivered, exact, whatever a bounded view lets go of.
        self.events_by_source: Counter[str] = Counter()
        self.diagnostics: dict[str, PayloadDiagnostics] = {}
        self.operators: tuple[Presence, ...] = ()
        self.operators_warning = ""
        self.permissions: Permissions | None = None
        self.gate_readings: dict[str, CheckReading] = {}
        self._check_specs = {c.key: c for gate in settings.gates for c in gate.checks}
        self.signoffs = Signoffs()
        self.signoffs_source = ""
        self.verification = VerificationLedger(settings.smoke_suite)
        self.streaks = GreenStreaks()
        self.acknowledgements = NO_ACKNOWLEDGEMENTS
        self.silences = Silences()
        self.playbook = NO_RUN
        self.routing = MAESTRO_ROUTING
        #: Incidents, as each evaluation shows them; in the room, so a replay that
        #: rebuilds the room from a checkpoint rebuilds its incidents with it.
        self.incidents = IncidentTracker()
        self.incident_events: list[IncidentEvent] = []
        #: Those not yet handed to the incident log.
        self.unwritten_incident_events: list[IncidentEvent] = []

    def seed_incidents(self, recorded: list[IncidentEvent]) -> None:
        """The incidents recorded before this room started (a restart)."""
        self.incidents = IncidentTracker(recorded)
        self.incident_events = list(recorded)

    def register_source(self, source: str, now: datetime) -> None:
        """A configured source, shown as connecting until it delivers."""
        self.health[source] = SourceHealth(source, HealthState.CONNECTING, now)

    def apply(self, update: Update) -> None:
        """Take in one update from a source."""
        if isinstance(update, SignalUpdate):
            self._signal(update.signal)
        elif isinstance(update, HistoryBackfill):
            points = self._history(update.name)
            points.extend(value for _, value in update.points)
            if update.points:
                self._history_at[update.name] = update.points[-1][0]
        elif isinstance(update, GapBackfill):
            self._gap(update)
        elif isinstance(update, AlertsUpdate):
            self.alerts = update.alerts
            self.alerts_source, self.alerts_at = update.source, update.at
            self._heard(update.source, update.at)
        elif isinstance(update, RolloutsUpdate):
            self._rollouts(update)
            self.rollouts_source = update.source
            self._heard(update.source, update.at)
        elif isinstance(update, WavesUpdate):
            self._waves(update)
        elif isinstance(update, WaveMetricsUpdate):
            self._repo_states(update.repo_states)
            self._shadow_pass(update.shadow_pass)
            self._heard(update.source, update.at)
        elif isinstance(update, FreezeUpdate):
            # The freeze the effector acts on carries its version (the ConfigMap's, the
            # simulator's); the broker's retained copy only announces it, and must not
            # replace it, or an action would be planned against a version-less freeze.
            if update.state.version or not self.freeze.version:
                self.freeze = update.state
            self._heard(update.source, update.at)
        elif isinstance(update, EventsUpdate):
            self._events(update)
        elif isinstance(update, SourceHealth):
            self.health[update.source] = update
            if update.state is HealthState.CONNECTED:
                self._heard(update.source, update.at)
        elif isinstance(update, PayloadDiagnostics):
            self.diagnostics[update.source] = update
        elif isinstance(update, PresenceUpdate):
            self.operators = update.operators
            self.operators_warning = update.warning
        elif isinstance(update, PermissionsUpdate):
            self.permissions = update.permissions
            self._heard(update.source, update.at)
        elif isinstance(update, GateReadingsUpdate):
            # Not word that the source is up: a probe reports its failures as readings too,
            # and each reading's own time says how fresh it is.
            for reading in update.readings:
                self.gate_readings[reading.check] = reading
        elif isinstance(update, AcknowledgementsUpdate):
            self.acknowledgements = update.acknowledgements
        elif isinstance(update, SilencesUpdate):
            self.silences = Silences(update.silences.items, update.source)
        elif isinstance(update, PlaybookUpdate):
            # As with the freeze: the copy the effector writes carries its version; the
            # broker's retained copy only announces it.
            if update.run.version or not self.playbook.version:
                self.playbook = update.run
        elif isinstance(update, RoutingUpdate):
            if update.routing.version or not self.routing.version:
                self.routing = update.routing
        elif isinstance(update, SignoffsUpdate):
            self.signoffs = update.signoffs
            self.signoffs_source = update.source
            self._heard(update.source, update.at)
        elif isinstance(update, VerificationUpdate):
            self.verification.take(update)
            self._heard(update.source, update.at)

    def _gap(self, update: GapBackfill) -> None:
        """A gap's readings, evaluated by the triggers on that signal at their own times."""
        for trigger in self.triggers:
            spec = trigger.spec
            if spec.alertname or spec.signal != update.name:
                continue
            for at, before, after in trigger.backfill(update.points):
                self.trigger_log.append(TriggerTransition(at, spec.id, spec.title, before, after))
        # The sparkline gets the gap too, at its usual spacing.
        last = self._history_at.get(update.name)
        for at, value in update.points:
            if last is None or at - last >= self.settings.history_interval:
                self._history(update.name).append(value)
                self._history_at[update.name] = last = at

    def _signal(self, signal: Signal) -> None:
        self.signals[signal.name] = signal
        if signal.usable:
            assert signal.value is not None
            last = self._history_at.get(signal.name)
            if last is None or signal.at - last >= self.settings.history_interval:
                self._history(signal.name).append(signal.value)
                self._history_at[signal.name] = signal.at
        if signal.source:
            self._heard(signal.source, signal.at)

    def _rollouts(self, update: RolloutsUpdate) -> None:
        before = self.rollouts
        if len(update.rollouts) == len(before) and all(
            before.get(r.key) is r for r in update.rollouts
        ):
            return  # the same statuses (a source keeps a quiet rollout's): nothing to sort
        # A rollout that did not change stays the same object, so a board can tell at once.
        self.rollouts = {
            r.key: previous if (previous := before.get(r.key)) == r else r for r in update.rollouts
        }
        shown = tuple(self.rollouts[key] for key in sorted(self.rollouts))
        if shown != self._rollouts_shown:
            self._rollouts_shown = shown

    def _repo_states(self, states: Mapping[str, RepoState]) -> None:
        # A source that sends the same object again (the simulator, until a state
        # changes) is known unchanged without comparing thousands of entries.
        if states is self._repo_states_heard:
            return
        self._repo_states_heard = states
        if states != self.repo_states:
            self.repo_states = dict(states)
            self._wave_repos.update(self.repo_states)

    def _shadow_pass(self, shadow_pass: Mapping[str, float]) -> None:
        if shadow_pass != self.shadow_pass:
            self.shadow_pass = dict(shadow_pass)
            self._board_inputs += 1

    def _waves(self, update: WavesUpdate) -> None:
        statuses = {status.wave: status for status in update.statuses}
        if statuses != self.wave_statuses:
            self.wave_statuses = statuses
            self._board_inputs += 1
        # The ConfigMap carries wave states only; repo states and shadow pass rates come
        # from Prometheus (WaveMetricsUpdate) or with the states from the simulator.
        if update.repo_states:
            self._repo_states(update.repo_states)
        if update.shadow_pass:
            self._shadow_pass(update.shadow_pass)
        self.waves_source = update.source
        if update.green_since is not None and self.green.since is None:
            # The platform's record of how long it has been green, from before we watched.
            self.green.since = update.green_since
        self._heard(update.source, update.at)

    def _events(self, update: EventsUpdate) -> None:
        self.events_by_source[update.source] += update.count
        if update.events:
            last = update.events[-1]
            if isinstance(last, BuildEvent | PlatformEvent):
                self._heard(update.source, last.ts)

    def last_history_at(self, name: str) -> datetime | None:
        """When the newest point of `name`'s history was taken."""
        return self._history_at.get(name)

    def _history(self, name: str) -> deque[float]:
        if name not in self.history:
            self.history[name] = deque(maxlen=self.settings.history_points)
        return self.history[name]

    def _heard(self, source: str, at: datetime) -> None:
        previous = self.last_heard.get(source)
        if previous is None or at > previous:
            self.last_heard[source] = at
        health = self.health.get(source)
        if health is None or health.state is not HealthState.ERROR or health.at <= at:
            self.health[source] = SourceHealth(source, HealthState.CONNECTED, at)

    def signal(self, name: str, unit: str, now: datetime) -> Signal:
        """The named signal as of `now`: stale past its source's max age, missing if never seen."""
        signal = self.signals.get(name)
        if signal is None:
            return missing(name, unit, now)
        return signal.as_of(now, self.settings.max_age_of(signal.source))

    def _alert_reading(self, alertname: str, now: datetime) -> bool | None:
        if self.alerts_at is None:
            return None
        if now - self.alerts_at > self.settings.max_age_of(self.alerts_source):
            return None
        return any(alert.alertname == alertname for alert in self.alerts)

    def _source_stale(self, source: str, now: datetime) -> bool:
        return self.health_of(source, now).state is not HealthState.CONNECTED

    def health_of(self, source: str, now: datetime) -> HealthReading:
        health = self.health.get(source)
        heard = self.last_heard.get(source)
        age = None if heard is None else now - heard
        if health is None:
            return HealthReading(source, HealthState.CONNECTING, "", age)
        if health.state is HealthState.ERROR:
            return HealthReading(
                source, HealthState.ERROR, health.reason, age, health.address, health.retry_at
            )
        stale = age is not None and age > self.settings.max_age_of(source)
        if health.state is HealthState.CONNECTED and stale:
            return HealthReading(source, HealthState.STALE, health.reason, age)
        return HealthReading(source, health.state, health.reason, age)

    @property
    def trigger_log_from(self) -> datetime | None:
        """Since when the trigger log is complete: the first evaluation, or the oldest
        transition kept once the log is full."""
        log = self.trigger_log
        if log and len(log) == log.maxlen:
            return log[0].at
        return self._first_evaluation

    def advance(self, now: datetime) -> tuple[TriggerStatus, ...]:
        """Advance the triggers and the green period to `now`: all that evaluating changes.
        Advancing again at the same instant, with nothing applied between, changes nothing."""
        if self._first_evaluation is None:
            self._first_evaluation = now
        statuses: list[TriggerStatus] = []
        for trigger in self.triggers:
            spec = trigger.spec
            reading: Signal | bool | None
            if spec.alertname:
                reading = self._alert_reading(spec.alertname, now)
            else:
                reading = self.signal(spec.signal, spec.unit, now)
            before = trigger.state
            status = trigger.evaluate(reading, now)
            if status.state is not before:
                self.trigger_log.append(
                    TriggerTransition(now, spec.id, spec.title, before, status.state)
                )
            statuses.append(status)
        # Green: every trigger known and quiet. An unknown trigger is not green.
        green = all(s.state in (TriggerState.INACTIVE, TriggerState.RESOLVED) for s in statuses)
        self.green.observe(green, now)
        return tuple(statuses)

    def evaluate(self, now: datetime) -> RoomView:
        """Advance the triggers to `now` and return everything as of `now`."""
        kpis = tuple(self._kpi(spec, now) for spec in self.settings.kpis)
        for kpi in kpis:
            self.streaks.observe(kpi.spec.signal, kpi.verdict, now, self.green.since)
        statuses = self.advance(now)
        health = tuple(self.health_of(source, now) for source in sorted(self.health))
        stale = frozenset(h.source for h in health if h.state is not HealthState.CONNECTED)
        board = self._wave_board()
        # Read once: the gates and the Definition of Done judge the same results.
        verification = self._verification(now)
        view = RoomView(
            now=now,
            clock=read_clock(now, self.settings.go_live),
            kpis=kpis,
            triggers=statuses,
            waves=board,
            rollouts=self._rollouts_shown,
            freeze=self.freeze,
            health=health,
            alerts=self.alerts,
            green_since=self.green.since,
            green_period=self.settings.green_period,
            stale_sources=stale,
            operators=self.operators,
            operators_warning=self.operators_warning,
            permissions=self.permissions,
            gates=self._gates(now, verification) if self.settings.gates else None,
            verification=verification,
            done=self._done(now, verification),
            acknowledgements=self.acknowledgements,
            silences=self.silences,
            playbook=self.playbook,
            routing=self.routing,
        )
        new = self.incidents.observe(view)
        if new:
            self.incident_events += new
            self.unwritten_incident_events += new
        return view

    def _verification(self, now: datetime) -> VerificationView:
        s = self.settings
        return self.verification.view(now, s.smoke_max_age, s.drill_max_age)

    def _signoffs_current(self, now: datetime) -> bool:
        return bool(self.signoffs_source) and (
            self.health_of(self.signoffs_source, now).state is HealthState.CONNECTED
        )

    def _done(self, now: datetime, verification: VerificationView) -> DefinitionOfDone:
        s = self.settings
        return definition_of_done(
            now=now,
            workbook=s.workbook,
            repo_states=self.repo_states,
            tiers=s.done_tiers,
            verification=verification,
            rollback_drill=s.rollback_drill,
            streaks=self.streaks.streaks({k.signal: k.title for k in s.kpis}),
            slo_period=s.slo_period,
            signoffs=self.signoffs,
            signoffs_current=self._signoffs_current(now),
            roles=s.done_signoffs,
            on_maestro=self._on_maestro_item(),
        )

    def _on_maestro_item(self) -> DoneItem:
        # Whether there are states at all matters too: none is unknown, not "0 of N".
        key = (self._wave_repos.version, bool(self.repo_states))
        if self._on_maestro is None or self._on_maestro[0] != key:
            s = self.settings
            item = on_maestro_item(s.workbook, self.repo_states, s.done_tiers)
            self._on_maestro = (key, item)
        return self._on_maestro[1]

    def _wave_board(self) -> tuple[WaveProgress, ...]:
        key = (self._wave_repos.version, self._board_inputs, self.green.since)
        if self._board is None or key != self._board_key:
            self._board_key = key
            self._board = wave_board(
                self.settings.workbook,
                self.wave_statuses,
                self.repo_states,
                self.shadow_pass,
                self.green.since,
                self.settings.green_period,
                self._wave_repos,
            )
        return self._board

    def _kpi(self, spec: KpiSpec, now: datetime) -> KpiReading:
        signal = self.signal(spec.signal, spec.unit, now)
        history = tuple(self.history.get(spec.signal, ()))
        return KpiReading(
            spec, signal, spec.assess(signal), history, self.settings.history_interval
        )

    # The Go/No-Go board --------------------------------------------------------------------

    def _gates(self, now: datetime, verification: VerificationView) -> GoNoGo:
        def source_state(name: str) -> tuple[CheckState, str]:
            if name not in self.health:
                return CheckState.FAIL, "not configured"
            health = self.health_of(name, now)
            state = CheckState.PASS if health.state is HealthState.CONNECTED else CheckState.UNKNOWN
            return state, health.text

        def reading(key: str) -> CheckResult | None:
            found = self.gate_readings.get(key)
            if found is None:
                return None
            spec = specs[key]
            health = self.health_of(found.source, now)
            if health.state is HealthState.ERROR:
                return CheckResult(spec, CheckState.UNKNOWN, "—", health.text, found.source)
            age = now - found.at
            if age > self.settings.max_age_of(found.source):
                stale = f"stale {int(age.total_seconds())}s"
                return CheckResult(spec, CheckState.UNKNOWN, found.value, stale, found.source)
            return CheckResult(spec, found.state, found.value, found.reason, found.source)

        def alert_firing(name: str) -> bool | None:
            # A gate is never passed on what a source said before it went down.
            source = self.alerts_source
            if source and self.health_of(source, now).state is HealthState.ERROR:
                return None
            return self._alert_reading(name, now)

        specs = self._check_specs
        current = bool(self.signoffs_source) and (
            self.health_of(self.signoffs_source, now).state is HealthState.CONNECTED
        )

        def verified(spec: CheckSpec) -> CheckResult:
            # Judged on what the sources delivered; none delivering results is unknown.
            answered = any(
                self.health_of(name, now).state is HealthState.CONNECTED
                for name in self.verification.sources
            )
            if spec.kind is CheckKind.SMOKE:
                return judge_smoke(spec, verification, answered)
            return judge_deploy_evidence(spec, verification, answered)

        inputs = GateInputs(
            source_state=source_state,
            alert_firing=alert_firing,
            reading=reading,
            signoffs=self.signoffs,
            signoffs_current=current,
            signoffs_source=self.signoffs_source,
            verified=verified,
        )
        return evaluate_gates(self.settings.gates, inputs)
