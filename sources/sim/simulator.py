"""The simulated Maestro: platform, Prometheus, Alertmanager, Argo and the cutover ConfigMap.

`Simulator` advances the platform model one simulated second at a time, plays the scenario's
incidents, scrapes its own metrics every 15 s, steps the rollouts and the wave migration,
answers the Go/No-Go checks a probe would (PromQL on its own scrapes, the objects of its
cluster), keeps the sign-offs, and hands the control room the same updates its real sources
would. It is deterministic for a seed: all randomness comes from one `random.Random(seed)`
and time only from the model.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ...cutover.acknowledgements import Acknowledgements, acknowledged_data
from ...cutover.acknowledgements import acknowledgements as recorded_acknowledgements
from ...cutover.actions import Change
from ...cutover.config import SIGNAL_UNITS, QueriesSection
from ...cutover.cutover_configmap import signed_data, withdrawn_data
from ...cutover.cutover_configmap import signoffs as recorded_signoffs
from ...cutover.events import PlatformEvent, StreamEvent
from ...cutover.freeze import FreezeState
from ...cutover.gates import (
    PROBED_KINDS,
    CheckKind,
    CheckReading,
    CheckSpec,
    Signoffs,
    cronjob_reading,
    objects_reading,
    promql_reading,
)
from ...cutover.playbook import NO_RUN, PlaybookRun, StepRecord
from ...cutover.routing import MAESTRO as ALL_ON_MAESTRO
from ...cutover.routing import Route
from ...cutover.signals import Signal, SignalStatus
from ...cutover.updates import (
    AcknowledgementsUpdate,
    Alert,
    AlertsUpdate,
    EventsUpdate,
    FreezeUpdate,
    GateReadingsUpdate,
    HealthState,
    HistoryBackfill,
    PlaybookUpdate,
    RolloutsUpdate,
    RoutingUpdate,
    SignalUpdate,
    SignoffsUpdate,
    SourceHealth,
    Update,
    WaveMetricsUpdate,
    WavesUpdate,
)
from ...cutover.waves import Recut, WaveStatus, Workbook
from .cluster import SimCluster
from .migration import WaveLedger, initial_world
from .platform import Conditions, Platform
from .promql import (
    COARSE_INTERVAL,
    SCRAPE_INTERVAL,
    WEEK,
    PromHistory,
    normalized,
    scrape,
)
from .rollouts import SimRollout, fleet_rollouts, maestro_rollouts
from .scenario import CALM, Incident, Scenario
from .verification import SimVerification, Weather

#: Run this long before the warmup too, so that the one-hour windows are full at the start.
SPIN_UP = timedelta(hours=1)
#: The stream events of the warmup kept for the first screen.
RECENT_EVENTS = 200
#: The last part of the warmup whose stream events are made at all, in seconds.
RECENT_EVENTS_SPAN = 600.0
#: Success rate of the week before the simulation, the 7-day figure's baseline.
WEEK_BEFORE_SUCCESS = 0.9875
#: Queries whose answer is one series per label value, not one number.
BY_LABEL = frozenset({"shadow_pass_by_wave", "repo_states"})
CANNOT_EVALUATE = "the simulator cannot evaluate this expression"
SBOM = "intelgraph.dev/sbom"


#: Where the simulated CVE alert's runbook lives, as the plan's alert rules name it.
CVE_RUNBOOK = "https://runbooks.maestro.example/critical-cve"


@dataclass
class _ActiveAlert:
    alert: Alert
    until: float


def _week_before(rng: random.Random, jobs_per_second: float) -> list[tuple[float, float, float]]:
    """Coarse (t, success, not cancelled) samples for the 7 days before t=0.

    Plausible, not modelled job by job: the platform's load with a day-night swing, a success
    rate around the baseline, and one bad hour on go-live day as there always is.
    """
    samples: list[tuple[float, float, float]] = []
    success = total = 0.0
    steps = int(WEEK // COARSE_INTERVAL)
    for i in range(steps + 1):
        t = -WEEK + i * COARSE_INTERVAL
        swing = 1.0 + 0.35 * math.sin(2 * math.pi * (t / 86400.0))
        jobs = max(0.0, rng.gauss(jobs_per_second * COARSE_INTERVAL * swing, 8.0))
        rate = WEEK_BEFORE_SUCCESS + rng.gauss(0.0, 0.004)
        if steps // 2 <= i < steps // 2 + 12:
            rate -= 0.03
        samples.append((t, success, total))
        success += jobs * min(1.0, rate)
        total += jobs
    return samples


class Simulator:
    """The Maestro platform and its cutover, as of a simulated `now`.

    The model runs for `warmup` (plus an hour's spin-up) before `start`, so that every
    window and sparkline has history when the control room opens.

    `gates` are the checks it answers as a probe would (promql, k8s_exists,
    k8s_cronjob_recent), evaluated every `gate_every` simulated seconds and after anything
    changes; `queries` the `[queries]` it recognises in a check's expression. With
    `signoffs`, it keeps the Go/No-Go sign-offs in its own `maestro-cutover` ConfigMap; with
    `alerts`, it delivers its active alerts as Alertmanager would. Beside real backends it
    stands in only for the others: without `metrics` it delivers no KPI signals, repository
    states or shadow pass rates (Prometheus does); without `cluster` no rollouts, wave
    states or freeze state (the cluster does); without `results` no smoke, drill or deploy
    results (CI's own, on MQTT, Prometheus or GitHub, do). Two sources of one reading would
    overwrite each other.
    """

    def __init__(
        self,
        workbook: Workbook,
        scenario: Scenario = CALM,
        *,
        seed: int,
        start: datetime,
        go_live: datetime,
        warmup: timedelta = timedelta(minutes=30),
        green_period: timedelta = timedelta(hours=48),
        success_target: float = 0.98,
        gates: Iterable[CheckSpec] = (),
        queries: Mapping[str, str] | None = None,
        signoffs: bool = True,
        alerts: bool = True,
        metrics: bool = True,
        cluster: bool = True,
        gate_every: timedelta = timedelta(seconds=5),
        results: bool = True,
        warm: bool = True,
        fleet_size: int = 3,
    ) -> None:
        if start.tzinfo is None or go_live.tzinfo is None:
            raise ValueError("start and go_live need a timezone")
        self.workbook = workbook
        self.scenario = scenario
        self.go_live = go_live
        self.green_period = green_period
        self.rng = random.Random(seed)
        self._revision = 0
        self.epoch = start - warmup - SPIN_UP
        self.start_t = (warmup + SPIN_UP).total_seconds()
        statuses, repo_states = initial_world(workbook, go_live, start)
        self.platform = Platform(workbook, repo_states, self.rng, self.epoch)
        self.history = PromHistory(_week_before(self.rng, self.platform.arrival_rate))
        self.ledger = WaveLedger(
            workbook, statuses, self.platform, self.rng, self._next_version, self._announce
        )
        self.freeze = FreezeState(False, version=self._next_version())
        rollouts = maestro_rollouts(self._next_version, success_target)
        rollouts += fleet_rollouts(
            max(0, fleet_size - len(rollouts)), self._next_version, success_target
        )
        self.rollouts: dict[str, SimRollout] = {r.key: r for r in rollouts}
        for rollout in rollouts:
            rollout.epoch = self.epoch  # its analysis runs say when they started
        self.cluster = SimCluster(lambda: self.rollouts.values())
        self.gate_checks = tuple(c for c in gates if c.kind in PROBED_KINDS)
        known = {**QueriesSection().model_dump(), **(queries or {})}
        self._query_names = {normalized(expr): name for name, expr in known.items()}
        self.gate_every = gate_every.total_seconds()
        self._gates_at: float | None = None
        self._gates_due = True
        self.keeps_signoffs = signoffs
        self.delivers_alerts = alerts
        self.delivers_metrics = metrics
        self.delivers_cluster = cluster
        #: The smoke suite's, drills' and deploys' results, unless CI's own are configured.
        self.delivers_results = results
        self.cutover_data: dict[str, str] = {}
        for signed in scenario.signoffs:
            at = start - signed.ago
            self.cutover_data.update(
                signed_data(self.cutover_data, signed.role, signed.by, at, signed.note)
            )
        self.signoffs_version = self._next_version()
        self.acknowledged_version = self._next_version()
        #: The routing switch and the playbook's run, as its ConfigMap would keep them.
        self.routing = replace(ALL_ON_MAESTRO, version=self._next_version())
        self.playbook = replace(NO_RUN, version=self._next_version())
        for incident in scenario.incidents:
            if incident.event == "backup.failed":
                at = start + incident.at
                self.cluster.fail_backup(
                    incident.cronjob, at - incident.since, at + incident.duration
                )
        self._watchdog = Alert(
            "Watchdog",
            "always firing: the alerting pipeline works end to end",
            {"alertname": "Watchdog", "severity": "none"},
            self.epoch,
        )
        # Its own generator, so the platform's runs stay as they were for a seed.
        self.verification = SimVerification(
            random.Random(seed * 7919 + 1), self.epoch, self.start_t
        )
        self._incidents = deque(scenario.timeline)
        self._endings: list[tuple[float, Callable[[], None]]] = []
        self._alerts: list[_ActiveAlert] = []
        self._platform_events: list[StreamEvent] = []
        self._recent: deque[StreamEvent] = deque(maxlen=RECENT_EVENTS)
        self._backfill: dict[str, list[tuple[datetime, float]]] = {n: [] for n in SIGNAL_UNITS}
        self._success_rate: float | None = None
        self._carry = 0.0
        self._dirty = False
        self.t = 0.0
        self._backfill_from = self.start_t - warmup.total_seconds()
        # Only the last few hundred stream events of the warm-up reach the first screen: the
        # ones before are never made, which at thousands of repositories is most of its cost.
        self._events_from = self.start_t - RECENT_EVENTS_SPAN
        self.platform.record_events = False
        if warm:
            self.warm_up()

    # --- the warm-up -----------------------------------------------------------------------

    @property
    def warming(self) -> bool:
        """True until the model has run the whole warm-up up to the start."""
        return self.t < self.start_t

    @property
    def warmed(self) -> float:
        """How much of the warm-up has run, 0 to 1."""
        return min(1.0, self.t / self.start_t) if self.start_t else 1.0

    @property
    def warm_up_jobs(self) -> float:
        """About how many jobs the warm-up still has to simulate: what it costs."""
        return self.platform.arrival_rate * max(0.0, self.start_t - self.t)

    @property
    def start(self) -> datetime:
        return self.epoch + timedelta(seconds=self.start_t)

    def warm_up(self, seconds: float = math.inf) -> bool:
        """Run at most `seconds` more of the warm-up; True once it is done.

        However the warm-up is cut into pieces, the model goes through the same steps with
        the same draws, so the start is the same for a seed."""
        budget = seconds
        while self.t < self.start_t and budget > 0:
            if self.t >= self._events_from:
                self.platform.record_events = True
            self._step(live=False)
            budget -= 1
            if self.t % SCRAPE_INTERVAL == 0 and self.t >= self._backfill_from:
                self._record_backfill()
            if self.platform.events:
                self._recent.extend(self.platform.drain_events())
        if self.t >= self.start_t:
            self.platform.record_events = True
        return not self.warming

    def warming_updates(self) -> list[Update]:
        """While the warm-up runs: what is already as of the start (rollouts, waves, the
        freeze, sign-offs), and each KPI as not measured yet, saying how far it got."""
        start = self.start
        reason = f"warming up ({self.warmed:.0%})"
        signals: list[Update] = [
            SignalUpdate(
                Signal(name, None, unit, start, SignalStatus.NO_DATA, reason, source="sim")
            )
            for name, unit in SIGNAL_UNITS.items()
            if self.delivers_metrics
        ]
        health = SourceHealth("sim", HealthState.CONNECTING, start, reason)
        return [*signals, *self._state_updates(at=start), health]

    # --- the clock -------------------------------------------------------------------------

    @property
    def now(self) -> datetime:
        return self.epoch + timedelta(seconds=self.t)

    @property
    def elapsed(self) -> timedelta:
        """Simulated time since the start."""
        return timedelta(seconds=self.t - self.start_t)

    def _next_version(self) -> str:
        # One counter for every object, like etcd's revision behind resourceVersion.
        self._revision += 1
        return str(self._revision)

    def _step(self, *, live: bool) -> None:
        self.platform.step(1.0)
        self.t = self.platform.t
        if live:
            self._play_scenario()
            self.ledger.tick(self.t, self.freeze.frozen)
            for rollout in self.rollouts.values():
                rollout.tick(self.t, self._success_rate)
            self.verification.tick(self.t, self.weather)
        if self.t % SCRAPE_INTERVAL == 0:
            self.history.add(scrape(self.platform.metrics, self.t))
            self._success_rate = self.history.success_rate()

    def _record_backfill(self) -> None:
        now = self.now
        for name, value in self.history.signals().items():
            if value is not None and math.isfinite(value):
                self._backfill[name].append((now, value))

    def advance(self, seconds: float) -> list[Update]:
        """Advance the model by `seconds` in one-second steps; the updates as of the new now."""
        self.warm_up()
        self._carry += max(0.0, seconds)
        steps = int(self._carry)
        self._carry -= steps
        for _ in range(steps):
            self._step(live=True)
        self._dirty = False
        events: list[StreamEvent] = [*self.platform.drain_events(), *self._platform_events]
        self._platform_events = []
        events.sort(key=lambda event: event.ts)
        updates = [
            *self._signal_updates(),
            EventsUpdate("sim", tuple(events)),
            *self._state_updates(),
            *self._results(),
        ]
        due = self._gates_at is None or self.t - self._gates_at >= self.gate_every
        if self.gate_checks and (due or self._gates_due):
            updates.append(self._gate_update())
        return updates

    def initial(self) -> list[Update]:
        """Everything as of now, with history for the sparklines and recent events."""
        self.warm_up()
        backfill = [
            HistoryBackfill(name, tuple(points))
            for name, points in self._backfill.items()
            if self.delivers_metrics
        ]
        events = tuple(sorted([*self._recent, *self._platform_events], key=lambda e: e.ts))
        self._platform_events = []
        self._recent.clear()
        states = self._state_updates(green_since=min(self.go_live, self.now))
        gates = [self._gate_update()] if self.gate_checks else []
        verification = self._results()
        return [
            *backfill, *self._signal_updates(), EventsUpdate("sim", events), *states, *gates,
            *verification,
        ]  # fmt: skip

    @property
    def has_pending(self) -> bool:
        """True when an action changed something that no update has shown yet."""
        return self._dirty

    # --- what the sources would read ---------------------------------------------------------

    def signals(self) -> dict[str, float | None]:
        return self.history.signals()

    def _signal_updates(self) -> list[Update]:
        if not self.delivers_metrics:
            return []
        now = self.now
        return [
            SignalUpdate(Signal.measured(name, value, SIGNAL_UNITS[name], now, source="sim"))
            for name, value in self.signals().items()
        ]

    def _state_updates(
        self, green_since: datetime | None = None, at: datetime | None = None
    ) -> list[Update]:
        now = at or self.now
        updates: list[Update] = []
        repo_states = self.platform.repo_states()
        shadow_pass = self.history.shadow_pass_by_wave()
        if self.delivers_cluster:
            updates.append(
                RolloutsUpdate("sim", tuple(r.status() for r in self.rollouts.values()), now)
            )
            updates.append(
                WavesUpdate(
                    "sim",
                    tuple(self.ledger.statuses.values()),
                    repo_states if self.delivers_metrics else {},
                    shadow_pass if self.delivers_metrics else {},
                    now,
                    green_since=green_since,
                )
            )
            updates.append(FreezeUpdate("sim", self.freeze, now))
        elif self.delivers_metrics:
            updates.append(WaveMetricsUpdate("sim", repo_states, shadow_pass, now))
        if self.delivers_alerts:
            updates.append(AlertsUpdate("sim", self.active_alerts(), now))
        if self.keeps_signoffs:
            updates.append(SignoffsUpdate("sim", self.signoffs(), now))
            updates.append(AcknowledgementsUpdate("sim", self.acknowledgements(), now))
            updates.append(RoutingUpdate("sim", self.routing, now))
            updates.append(PlaybookUpdate("sim", self.playbook, now))
        return updates

    def _results(self) -> list[Update]:
        found = self.verification.drain(self.now)
        return list(found) if self.delivers_results else []

    def weather(self) -> Weather:
        """What the incidents do to the smoke suite right now."""
        lost = any(pool.lost for pool in self.platform.pools.values())
        return Weather(registry_down=self.platform.conditions.pull_error_p > 0, runners_lost=lost)

    def do_dispatch(self, workflow: str, ref: str, no_op: bool, by: str) -> list[Change]:
        """A `workflow_dispatch`: the suite runs now, or the CD dry run is recorded."""
        self.verification.dispatch(self.t, workflow, ref, no_op, self.weather())
        what = f"{workflow} dry run" if no_op else f"{workflow} (smoke suite)"
        self._changed("workflow.dispatched", "info", f"{what} on {ref} dispatched by {by}")
        return [Change(workflow, "workflow_dispatch", "—", f"ref {ref}")]

    def active_alerts(self) -> tuple[Alert, ...]:
        """The scenario's alerts that are active, and the Watchdog, which always is."""
        return (self._watchdog, *(a.alert for a in self._alerts if a.until > self.t))

    def acknowledgements(self) -> Acknowledgements:
        """The acknowledged triggers, kept in its `maestro-cutover` ConfigMap with the
        sign-offs (an acknowledgement is never a target that can change under a plan)."""
        return recorded_acknowledgements(self.cutover_data, self.acknowledged_version)

    def signoffs(self) -> Signoffs:
        return recorded_signoffs(self.cutover_data, self.signoffs_version)

    # --- the Go/No-Go checks a probe would answer ----------------------------------------------

    def evaluate(self, expr: str) -> tuple[float | None, str]:
        """A PromQL expression's value on the simulator's scrapes, or the reason it has none.

        The simulator evaluates the `[queries]` it models (whatever their whitespace), not
        PromQL at large: any other expression is an error, never a number."""
        name = self._query_names.get(normalized(expr))
        if name is None:
            return None, CANNOT_EVALUATE
        if name in BY_LABEL:
            if name == "shadow_pass_by_wave":
                values = list(self.history.shadow_pass_by_wave().values())
            else:
                values = [1.0] * len(self.platform.states)  # `== 1` keeps each repo's 1
            if len(values) > 1:
                return None, f"{len(values)} series, expected 1"
            return (values[0] if values else None), ""
        try:
            return self.history.value_of(name), ""
        except KeyError:
            return None, CANNOT_EVALUATE

    def gate_readings(self) -> tuple[CheckReading, ...]:
        """Every check the simulator answers, judged as of now."""
        now, readings = self.now, []
        for spec in self.gate_checks:
            if spec.kind is CheckKind.PROMQL:
                value, error = self.evaluate(spec.expr)
                readings.append(promql_reading(spec, value, "sim", now, error))
                continue
            assert spec.object is not None
            try:
                found = self.cluster.find(spec.object, now)
            except ValueError as error:
                if spec.kind is CheckKind.K8S_EXISTS:
                    readings.append(objects_reading(spec, None, "sim", now, str(error)))
                else:
                    readings.append(cronjob_reading(spec, None, "sim", now, str(error)))
                continue
            if spec.kind is CheckKind.K8S_EXISTS:
                readings.append(objects_reading(spec, found, "sim", now))
            else:
                readings.append(cronjob_reading(spec, found[0] if found else None, "sim", now))
        return tuple(readings)

    def _gate_update(self) -> GateReadingsUpdate:
        self._gates_at, self._gates_due = self.t, False
        return GateReadingsUpdate("sim", self.gate_readings(), self.now)

    def versions(self) -> dict[str, str]:
        """The version of everything an action may target, by the keys plans use."""
        versions = {"freeze": self.freeze.version, "signoffs": self.signoffs_version}
        versions["acknowledged"] = self.acknowledged_version
        versions["routing"] = self.routing.version
        versions["playbook"] = self.playbook.version
        versions.update({key: r.version for key, r in self.rollouts.items()})
        versions.update({wave: s.version for wave, s in self.ledger.statuses.items()})
        return versions

    def exposition(self) -> str:
        """The platform's `/metrics`."""
        return self.platform.metrics.exposition()

    # --- the scenario --------------------------------------------------------------------------

    def _announce(self, event: str, severity: str, message: str, cve: str = "") -> None:
        self._platform_events.append(PlatformEvent(event, severity, message, self.now, cve))

    def _play_scenario(self) -> None:
        elapsed = self.t - self.start_t
        while self._incidents and self._incidents[0].at.total_seconds() <= elapsed:
            self._begin(self._incidents.popleft())
        if self._endings:
            due = [end for end in self._endings if end[0] <= self.t]
            if due:
                self._endings = [end for end in self._endings if end[0] > self.t]
                for _, finish in due:
                    finish()
        self._alerts = [a for a in self._alerts if a.until > self.t]

    def _raise_alert(
        self,
        name: str,
        summary: str,
        duration: timedelta,
        annotations: Mapping[str, str] | None = None,
        **labels: str,
    ) -> None:
        notes = {"summary": summary, **(annotations or {})}
        alert = Alert(name, summary, {"alertname": name, **labels}, self.now, notes)
        self._alerts.append(_ActiveAlert(alert, self.t + duration.total_seconds()))

    def _begin(self, incident: Incident) -> None:
        ends = self.t + incident.duration.total_seconds()
        message = incident.message or incident.event
        if incident.event == "registry.brownout":
            self.platform.apply_conditions(
                Conditions(
                    pull_error_p=incident.pull_error_rate,
                    extra_failure_p=incident.extra_failure_rate,
                    startup_factor=incident.startup_factor,
                    cordoned_share=incident.cordoned_share,
                )
            )
            self._raise_alert("MaestroRegistryBrownout", message, incident.duration,
                              severity="warning")  # fmt: skip

            def recover() -> None:
                self.platform.apply_conditions(Conditions())
                self._announce("registry.recovered", "info", "registry pulls back to normal")

            self._endings.append((ends, recover))
        elif incident.event == "runner.lost":
            lost = self.platform.lose_runners(incident.pool, incident.executors)
            message = f"{message} ({len(lost)} executors of {incident.pool} lost)"
            pool = incident.pool
            self._endings.append((ends, lambda: self.platform.replace_runners(pool)))
        elif incident.event == "cve.detected":
            # The CVE and the image are labels, as a scanner's alert rule sets them, so the
            # trigger's detail names them long after the event line has scrolled away.
            image = {"image": incident.image} if incident.image else {}
            self._raise_alert("MaestroCriticalCVE", message, incident.duration,
                              {"runbook_url": CVE_RUNBOOK}, severity="critical",
                              cve=incident.cve, **image)  # fmt: skip
        elif incident.event == "audit.failed":
            self._raise_alert("MaestroAuditFailure", message, incident.duration,
                              severity="critical")  # fmt: skip
        elif incident.event == "rollout.unsigned":
            rollout = self._rollout(incident.rollout)
            rollout.annotate(SBOM, None)
            # The hotfix went out by hand: no witness, no verified signature, no SBOM.
            self.verification.deploy(
                "cd.yml", "prod", "v2.14.1-hotfix", self.now, evidenced=False, actor="oncall"
            )

            def signed_again() -> None:
                rollout.annotate(SBOM, "spdx")
                self._announce("rollout.signed", "info", f"{rollout.key} carries its SBOM again")
                self._gates_due = True

            self._endings.append((ends, signed_again))
        # backup.failed: its failing runs are the cluster's already; this is the notice.
        self._gates_due = True
        self._announce(incident.event, incident.severity, message, incident.cve)

    # --- what operators do (through the effector) -----------------------------------------------

    def _changed(self, event: str, severity: str, message: str) -> None:
        self._announce(event, severity, message)
        self._dirty = True
        self._gates_due = True

    def do_freeze(self, by: str, reason: str) -> list[Change]:
        """Freeze: stop migrations and pause every rollout still moving."""
        if self.freeze.frozen:
            raise ValueError(f"already frozen by {self.freeze.by}")
        paused: list[str] = []
        for key, rollout in self.rollouts.items():
            status = rollout.status()
            if not status.paused and status.can_promote:
                rollout.pause()
                paused.append(key)
        self.freeze = FreezeState(True, by, reason, self.now, tuple(paused), self._next_version())
        self._changed("cutover.freeze", "warning", f"frozen by {by}: {reason}")
        return [Change("cutover", "frozen", "false", "true")] + [
            Change(key, "paused", "false", "true") for key in paused
        ]

    def do_unfreeze(self, by: str) -> list[Change]:
        """Unfreeze: resume only the rollouts the freeze paused."""
        if not self.freeze.frozen:
            raise ValueError("not frozen")
        resumed = []
        for key in self.freeze.paused_by_freeze:
            rollout = self.rollouts.get(key)
            if rollout is not None and rollout.spec_paused:
                rollout.resume()
                resumed.append(key)
        self.freeze = FreezeState(False, by, "", self.now, (), self._next_version())
        self._changed("cutover.unfreeze", "info", f"unfrozen by {by}")
        return [Change("cutover", "frozen", "true", "false")] + [
            Change(key, "paused", "true", "false") for key in resumed
        ]

    def do_promote_wave(self, wave: str, by: str) -> list[Change]:
        before = self._wave(wave).state
        status = self.ledger.promote(wave, by, self.now, self.t)
        self._changed("cutover.wave", "info", f"{wave} promoted to {status.state.value} by {by}")
        return [Change(wave, "state", before.value, status.state.value)]

    def do_roll_back_wave(self, wave: str, by: str) -> list[Change]:
        before = self._wave(wave).state
        status = self.ledger.roll_back(wave, by, self.now)
        self._changed("cutover.wave", "warning", f"{wave} rolled back to legacy by {by}")
        return [Change(wave, "state", before.value, status.state.value)]

    def do_promote_rollout(self, key: str, by: str) -> list[Change]:
        rollout = self._rollout(key)
        before = rollout.status()
        if not before.can_promote:
            raise ValueError(f"{key} is {before.phase.value}: nothing to promote")
        rollout.promote()
        after = rollout.status()
        self._changed("cutover.rollout", "info", f"{key} promoted by {by}")
        return [Change(key, "step", f"{before.step}/{before.steps}", f"{after.step}/{after.steps}")]

    def do_abort_rollout(self, key: str, by: str) -> list[Change]:
        rollout = self._rollout(key)
        before = rollout.status()
        if not before.can_abort:
            raise ValueError(f"{key} is {before.phase.value}: nothing to abort")
        rollout.abort(f"RolloutAborted: aborted by {by}")
        self._changed("cutover.rollout", "warning", f"{key} aborted by {by}")
        return [
            Change(key, "phase", before.phase.value, "Degraded"),
            Change(key, "weight", f"{before.weight}%", "0% (stable)"),
        ]

    def do_sign_off(self, role: str, by: str, note: str) -> list[Change]:
        """Record `role`'s sign-off by `by` in the cutover ConfigMap."""
        self.cutover_data.update(signed_data(self.cutover_data, role, by, self.now, note))
        self.signoffs_version = self._next_version()
        self._changed("cutover.signoff", "info", f"{role} signed off by {by}")
        return [Change("sign-off", role, "unsigned", f"signed by {by}")]

    def do_acknowledge(self, trigger: str, by: str) -> list[Change]:
        """Record that `by` took the firing trigger in hand."""
        self.cutover_data.update(acknowledged_data(self.cutover_data, trigger, by, self.now))
        self.acknowledged_version = self._next_version()
        self._changed("cutover.acknowledged", "info", f"{trigger} acknowledged by {by}")
        return [Change(trigger, "acknowledged", "no", f"by {by}")]

    # --- the rollback playbook's steps ---------------------------------------------------------

    def do_repoint(self, target: str, by: str) -> list[Change]:
        """The routing switch: `target` (a wave, or `cutover`) builds on legacy from now on;
        the platform's dispatcher obeys at once."""
        before = self.routing
        routing = before.re_pointed(target, Route.LEGACY, by, self.now)
        if routing.describe() == before.describe():
            raise ValueError(f"{target}'s builds already go to legacy")
        self.routing = replace(routing, version=self._next_version())
        self.platform.set_routing(self.routing)
        self._changed("cutover.routing", "warning", f"{target} builds re-pointed to legacy by {by}")
        return [Change("routing", target, before.describe(), self.routing.describe())]

    def do_known_good(self, keys: Iterable[str], by: str) -> list[Change]:
        """Each rollout back to its stable revision: the plugin's abort."""
        changes: list[Change] = []
        for key in keys:
            rollout = self._rollout(key)
            status = rollout.status()
            if not status.can_abort:
                continue
            rollout.abort(f"RolloutAborted: back to the last known-good by {by}")
            changes.append(Change(key, "runs", f"revision {status.revision}", status.stable))
        if not changes:
            raise ValueError("no rollout was part-way through a canary")
        self._changed(
            "cutover.rollout", "warning", f"{len(changes)} rollout(s) back to known-good by {by}"
        )
        return changes

    def do_open_incident(self, labels: Mapping[str, str], summary: str) -> list[Change]:
        """The incident alert, as Alertmanager would hold it, so the simulated pager rings."""
        name = labels.get("alertname", "MaestroCutoverIncident")
        others = {k: v for k, v in labels.items() if k != "alertname"}
        self._raise_alert(name, summary, timedelta(hours=4), None, **others)
        self._changed("incident.opened", "critical", f"{name} opened: {summary}")
        return [Change(name, "alert", "—", "firing")]

    def do_exec_update(self, message: str, by: str) -> list[Change]:
        """Without Slack and Grafana, the simulator is the exec channel: the message is in
        the event stream."""
        first = message.strip().splitlines()[0] if message.strip() else ""
        self._changed("exec.update", "info", f"exec update by {by}: {first}")
        return [Change("exec update", "sent", "—", "simulator's exec channel")]

    def do_recut(
        self, wave: str, by: str, not_before: str, note: str, roll_back: bool
    ) -> list[Change]:
        """The wave rolled back (if it was not), and when it may go again, with the note."""
        changes = []
        if roll_back:
            changes += self.do_roll_back_wave(wave, by)
        when = datetime.fromisoformat(not_before.replace("Z", "+00:00"))
        self.ledger.recut(wave, Recut(when, note, by))
        self._changed("cutover.recut", "warning",
                      f"{wave} may go again after {not_before[:16]} ({by}): {note}")  # fmt: skip
        changes.append(Change(wave, "may go again", "—", f"after {not_before[:16]}"))
        return changes

    def record_step(self, record: StepRecord, trigger: str) -> PlaybookRun:
        """Write one step of the playbook's run, as the ConfigMap would keep it."""
        run = self.playbook.with_record(record, trigger=trigger)
        self.playbook = replace(run, version=self._next_version())
        self._dirty = True
        return self.playbook

    def do_withdraw_signoff(self, role: str, by: str) -> list[Change]:
        """Remove `role`'s sign-off from the cutover ConfigMap."""
        before = self.signoffs().of(role)
        self.cutover_data.update(withdrawn_data(self.cutover_data, role))
        self.signoffs_version = self._next_version()
        self._changed("cutover.signoff", "warning", f"{role}'s sign-off withdrawn by {by}")
        signed = f"signed by {before.by}" if before is not None else "signed"
        return [Change("sign-off", role, signed, "unsigned")]

    def _wave(self, wave: str) -> WaveStatus:
        status = self.ledger.statuses.get(wave)
        if status is None:
            raise ValueError(f"no wave {wave}")
        return status

    def _rollout(self, key: str) -> SimRollout:
        rollout = self.rollouts.get(key)
        if rollout is None:
            raise ValueError(f"no rollout {key}")
        return rollout
