"""The simulator as the control room sees it: a source, a clock and an effector."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from pathlib import Path

from ...cutover.actions import ActionKind, ActionOutcome, ActionPlan, Change, TargetChanged
from ...cutover.config import Config, gate_specs, start_offset
from ...cutover.gates import ANSWERED_BY, PROBED_KINDS, CheckSpec
from ...cutover.playbook import PlaybookRun, StepRecord
from ...cutover.routing import Routing
from ...cutover.updates import Update
from ...cutover.waves import Workbook
from ..base import Beat, Deliver
from .history import SimHistory
from .scenario import load_scenario
from .simulator import Simulator

#: The playbook's steps the simulator carries out (a freeze is its own action).
PLAYBOOK_KINDS = frozenset(
    {
        ActionKind.REPOINT,
        ActionKind.PROMOTE_KNOWN_GOOD,
        ActionKind.OPEN_INCIDENT,
        ActionKind.EXEC_UPDATE,
        ActionKind.RECUT_PLAN,
        ActionKind.SKIP_STEP,
    }
)
#: How often, in simulated time, the simulator evaluates the gate checks at most.
GATE_INTERVAL = timedelta(seconds=15)
#: The warm-up runs in slices of this many seconds of wall time, each of many small pieces
#: of simulated seconds, between turns of the event loop.
WARM_SLICE = 0.02
WARM_STEPS = 10
#: Between slices the loop rests this long, so that what the app does in many short turns
#: of its loop (mounting the panels, painting the first frame, answering a key) is not held
#: up a slice per turn.
WARM_REST = 0.02
#: How often the panels are told how far the warm-up got, in seconds.
WARM_PROGRESS_EVERY = 0.5
#: A warm-up of up to this many jobs (about half a second here) runs before the first frame.
FOREGROUND_WARMUP_JOBS = 20_000


class SimSource:
    """Delivers the simulator's updates: all of them first, then every `refresh`.

    Each refresh advances the model by `refresh × time_scale` simulated seconds; a time scale
    of 0 never advances it (tests and snapshots step it by hand with `step`). It is also the
    app's clock, so that "now" is the simulated now.
    """

    name = "sim"

    def __init__(self, simulator: Simulator, refresh: timedelta, time_scale: float) -> None:
        self.simulator = simulator
        self.refresh = refresh
        self.time_scale = time_scale
        #: The KPIs' past beyond what the simulation has run, for the history chart.
        self.history: SimHistory | None = None
        self._deliver: Deliver | None = None
        #: Beside real sources the simulator keeps the wall clock's time (the room's clock is
        #: the wall's): after a warm-up in the background it catches up on the time the
        #: warm-up took, or its readings would stay that far behind, stale for good.
        self.keeps_wall_time = False
        #: The room's tick, when the simulator steps with it (the same period as its own).
        self.beat: Beat | None = None

    def step_with(self, beat: Beat, every: timedelta) -> None:
        if every == self.refresh:
            self.beat = beat

    def now(self) -> datetime:
        # The clock stands at the start until the warm-up has run up to it.
        simulator = self.simulator
        return simulator.start if simulator.warming else simulator.now

    async def run(self, deliver: Deliver) -> None:
        self._deliver = deliver
        simulator = self.simulator
        behind = 0.0
        if simulator.warming:
            began = time.monotonic()
            await self._warm_up(deliver)
            behind = time.monotonic() - began if self.keeps_wall_time else 0.0
        deliver(simulator.initial())
        if behind > 0:
            deliver(simulator.advance(behind * self.time_scale))
        seconds = self.refresh.total_seconds() * self.time_scale
        while True:
            if self.beat is not None:
                await self.beat.wait()
            else:
                await asyncio.sleep(self.refresh.total_seconds())
            # An action shows at the next refresh even when the clock stands still.
            if seconds > 0 or self.simulator.has_pending:
                deliver(self.simulator.advance(seconds))

    async def _warm_up(self, deliver: Deliver) -> None:
        """Run the warm-up after the first frame, a few milliseconds per turn of the loop, so
        that keys are answered meanwhile; the panels say how far it got."""
        simulator = self.simulator
        deliver(simulator.warming_updates())
        shown = time.monotonic()
        while simulator.warming:
            until = time.monotonic() + WARM_SLICE
            while time.monotonic() < until and not simulator.warm_up(WARM_STEPS):
                pass
            if simulator.warming and time.monotonic() - shown >= WARM_PROGRESS_EVERY:
                # Not once it is done: the first state follows at once, and a "warming up
                # (100%)" delivered after the warm-up would be a state no longer true.
                deliver(simulator.warming_updates())
                shown = time.monotonic()
            await asyncio.sleep(WARM_REST)

    def step(self, seconds: float) -> list[Update]:
        """Advance by hand; the updates go to the running app too, if there is one."""
        updates = self.simulator.advance(seconds)
        if self._deliver is not None:
            self._deliver(updates)
        return updates


class SimEffector:
    """Carries out confirmed plans on the simulator, refusing any whose target changed."""

    name = "sim"

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        self.simulator.warm_up()  # an action is planned against the model as of the start
        current = self.simulator.versions()
        changed = [key for key, seen in plan.seen_versions.items() if current.get(key) != seen]
        if changed:
            raise TargetChanged(f"changed since you looked: {', '.join(sorted(changed))}")
        sim = self.simulator
        operator = plan.operator or "unknown"
        try:
            changes: list[Change]
            if plan.kind is ActionKind.FREEZE:
                changes = sim.do_freeze(operator, plan.reason)
            elif plan.kind is ActionKind.UNFREEZE:
                changes = sim.do_unfreeze(operator)
            elif plan.kind is ActionKind.PROMOTE_WAVE:
                changes = sim.do_promote_wave(plan.target, operator)
            elif plan.kind is ActionKind.ROLL_BACK_WAVE:
                changes = sim.do_roll_back_wave(plan.target, operator)
            elif plan.kind is ActionKind.PROMOTE_ROLLOUT:
                changes = sim.do_promote_rollout(plan.target, operator)
            elif plan.kind is ActionKind.ABORT_ROLLOUT:
                changes = sim.do_abort_rollout(plan.target, operator)
            elif plan.kind is ActionKind.SIGN_OFF:
                changes = sim.do_sign_off(plan.target, operator, plan.reason)
            elif plan.kind is ActionKind.DISPATCH_WORKFLOW and plan.dispatch is not None:
                d = plan.dispatch
                no_op = dict(d.inputs).get("no_op") == "true"
                changes = sim.do_dispatch(d.workflow, d.ref, no_op, operator)
            elif plan.kind is ActionKind.ACKNOWLEDGE:
                changes = sim.do_acknowledge(plan.target, operator)
            elif plan.kind in PLAYBOOK_KINDS:
                changes = self._playbook_step(plan, operator)
            else:
                changes = sim.do_withdraw_signoff(plan.target, operator)
        except ValueError as error:
            return ActionOutcome(False, str(error))
        return ActionOutcome(True, f"{plan.title}: done", tuple(changes))

    def _playbook_step(self, plan: ActionPlan, operator: str) -> list[Change]:
        sim, details = self.simulator, plan.details
        if plan.kind is ActionKind.REPOINT:
            return sim.do_repoint(plan.target, operator)
        if plan.kind is ActionKind.PROMOTE_KNOWN_GOOD:
            return sim.do_known_good(plan.seen_versions, operator)
        if plan.kind is ActionKind.OPEN_INCIDENT:
            labels = {k: v for k, v in details.items() if k not in ("step", "trigger")}
            labels["trigger"] = details.get("trigger") or "none"
            return sim.do_open_incident(labels, plan.reason)
        if plan.kind is ActionKind.EXEC_UPDATE:
            return sim.do_exec_update(plan.reason, operator)
        if plan.kind is ActionKind.RECUT_PLAN:
            roll_back = details.get("roll_back") == "yes"
            return sim.do_recut(
                plan.target, operator, details.get("not_before", ""), plan.reason, roll_back
            )
        return []  # a skip: only its record is written

    @property
    def routing(self) -> Routing:
        return self.simulator.routing

    async def record_step(self, record: StepRecord, trigger: str) -> PlaybookRun:
        return self.simulator.record_step(record, trigger)


def stand_in_checks(config: Config) -> tuple[CheckSpec, ...]:
    """The gate checks the simulator answers: those of the backends it stands in for, so a
    configured Prometheus or cluster is the only one answering its own checks."""
    real = set(config.sources.enabled()) - {"sim"}
    kinds = {kind for kind in PROBED_KINDS if not real & ANSWERED_BY[kind]}
    return tuple(c for g in gate_specs(config) for c in g.checks if c.kind in kinds)


def build_simulation(
    config: Config, config_dir: Path, workbook: Workbook
) -> tuple[SimSource, SimEffector]:
    """The simulator the config asks for, as a source and an effector sharing it."""
    section = config.sources.sim
    sources = config.sources
    go_live = config.cutover.go_live
    # Fresh within the simulator's max age: evaluated at least twice per max age.
    gate_every = min(GATE_INTERVAL, section.max_age / 2)
    simulator = Simulator(
        workbook,
        load_scenario(section.scenario, config_dir),
        seed=section.seed,
        start=go_live + start_offset(section.start),
        go_live=go_live,
        warmup=section.warmup,
        green_period=config.thresholds.green_period,
        success_target=config.thresholds.success_rate_target,
        gates=stand_in_checks(config),
        queries=config.queries.model_dump(),
        # A configured backend is the one record of what it answers for.
        signoffs=not config.sources.kubernetes.enabled,
        alerts=not config.sources.alertmanager.enabled,
        metrics=not config.sources.prometheus.enabled,
        cluster=not config.sources.kubernetes.enabled,
        gate_every=gate_every,
        results=not (sources.mqtt.enabled or sources.prometheus.enabled or sources.github.enabled),
        warm=False,
        fleet_size=section.rollouts,
    )
    # A small platform warms at once; a large one (thousands of repositories) is warmed by
    # the source once it runs, after the first frame, with the panels saying so.
    if simulator.warm_up_jobs <= FOREGROUND_WARMUP_JOBS:
        simulator.warm_up()
    source = SimSource(simulator, section.refresh, section.time_scale)
    pools = {name: pool.size for name, pool in simulator.platform.pools.items()}
    started = go_live + start_offset(section.start)
    source.history = SimHistory(simulator.scenario, started, section.seed, pools)
    return source, SimEffector(simulator)
