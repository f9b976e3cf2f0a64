"""The built-in simulator: a deterministic model whose figures mean what the queries mean."""

from __future__ import annotations

import asyncio
import math
import re
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from maestro_control_room.cutover.actions import ActionKind, ActionPlan, Effector, TargetChanged
from maestro_control_room.cutover.config import SIGNAL_UNITS, Config
from maestro_control_room.cutover.events import BuildEvent, PlatformEvent
from maestro_control_room.cutover.rollouts import RolloutPhase
from maestro_control_room.cutover.signals import SignalStatus
from maestro_control_room.cutover.updates import (
    AlertsUpdate,
    EventsUpdate,
    FreezeUpdate,
    HistoryBackfill,
    RolloutsUpdate,
    SignalUpdate,
    SignoffsUpdate,
    Update,
    WavesUpdate,
)
from maestro_control_room.cutover.waves import RepoState, WaveState, Workbook, parse_workbook
from maestro_control_room.sources.base import Clock, Source
from maestro_control_room.sources.sim import (
    EXAMPLE_WORKBOOK,
    ScenarioError,
    SimEffector,
    SimSource,
    Simulator,
    build_simulation,
    load_scenario,
)
from maestro_control_room.sources.sim.promql import PromHistory, histogram_quantile
from maestro_control_room.sources.sim.rollouts import MAESTRO_CANARY, SimRollout
from tests.conftest import CONFIG, config_document

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = GO_LIVE + timedelta(hours=26)
API = "maestro-system/maestro-api"
CONTROLLER = "maestro-runners/executor-controller"
SCHEDULER = "maestro-system/maestro-scheduler"


@pytest.fixture(scope="module")
def workbook() -> Workbook:
    return parse_workbook(EXAMPLE_WORKBOOK.read_text(encoding="utf-8"))


def simulator(workbook: Workbook, scenario: str = "calm", seed: int = 7) -> Simulator:
    return Simulator(workbook, load_scenario(scenario), seed=seed, start=START, go_live=GO_LIVE)


def signals_of(updates: Sequence[Update]) -> dict[str, float | None]:
    return {u.signal.name: u.signal.value for u in updates if isinstance(u, SignalUpdate)}


def events_of(updates: Sequence[Update]) -> list[BuildEvent | PlatformEvent]:
    return [e for u in updates if isinstance(u, EventsUpdate) for e in u.events]


def plan(
    sim: Simulator, kind: ActionKind, target: str, keys: Sequence[str], reason: str = ""
) -> ActionPlan:
    versions = sim.versions()
    return ActionPlan(
        kind, target, (), "alice", reason=reason, seen_versions={k: versions[k] for k in keys}
    )


# --- the workbook ---------------------------------------------------------------------------


def test_example_workbook_parses_without_problems(workbook: Workbook) -> None:
    assert workbook.problems == ()
    assert workbook.waves == ("Wave-1", "Wave-2", "Wave-3", "Wave-4")
    assert [len(workbook.repos(w)) for w in workbook.waves] == [10, 15, 17, 18]
    assert sum(row.tier <= 1 for row in workbook.repos("Wave-1")) >= 8  # mostly tier 0/1
    assert all(4 <= row.avg_build_min <= 20 for row in workbook.rows)


# --- PromQL ---------------------------------------------------------------------------------


def test_histogram_quantile_interpolates_inside_the_bucket() -> None:
    buckets = [(1.0, 0.0), (5.0, 10.0), (10.0, 20.0), (math.inf, 20.0)]
    # rank 15 falls in (5, 10] holding 10 observations, 5 of them below the rank.
    assert histogram_quantile(0.75, buckets) == pytest.approx(7.5)
    assert histogram_quantile(0.5, buckets) == pytest.approx(5.0)


def test_histogram_quantile_first_bucket_starts_at_zero() -> None:
    assert histogram_quantile(0.5, [(10.0, 10.0), (math.inf, 10.0)]) == pytest.approx(5.0)


def test_histogram_quantile_in_the_inf_bucket_returns_the_previous_bound() -> None:
    buckets = [(math.inf, 20.0), (1.0, 0.0), (5.0, 10.0)]  # order does not matter
    assert histogram_quantile(0.9, buckets) == 5.0


@pytest.mark.parametrize(
    "buckets",
    [
        [],
        [(math.inf, 3.0)],
        [(1.0, 0.0), (5.0, 0.0), (math.inf, 0.0)],  # no observations in the window
        [(1.0, 1.0), (5.0, 2.0)],  # no +Inf bucket
    ],
)
def test_histogram_quantile_is_nan_where_prometheus_gives_nan(
    buckets: list[tuple[float, float]],
) -> None:
    assert math.isnan(histogram_quantile(0.95, buckets))


def test_histogram_quantile_out_of_range_q() -> None:
    buckets = [(1.0, 1.0), (math.inf, 2.0)]
    assert histogram_quantile(-0.1, buckets) == -math.inf
    assert histogram_quantile(1.1, buckets) == math.inf


def test_no_scrapes_is_no_data() -> None:
    history = PromHistory()
    assert all(value is None for value in history.signals().values())


def _raw_totals(sim: Simulator) -> dict[str, float]:
    """The counters straight from the store, summed by hand."""
    metrics = sim.platform.metrics
    jobs = metrics.jobs
    status = jobs.labelnames.index("status")
    return {
        "success": sum(v for k, v in jobs.series.items() if k[status] == "success"),
        "not_cancelled": sum(v for k, v in jobs.series.items() if k[status] != "cancelled"),
        "all": sum(jobs.series.values()),
        "duration_sum": sum(h.total for h in metrics.duration.histograms.values()),
        "duration_count": sum(h.count for h in metrics.duration.histograms.values()),
        "cost": sum(metrics.cost.series.values()),
        "flaky": sum(metrics.flaky.series.values()),
    }


def test_signals_match_their_definitions(workbook: Workbook) -> None:
    sim = simulator(workbook)
    sim.advance(120)
    assert sim.t % 15 == 0  # on a scrape, so the window edges are scrapes too
    before = _raw_totals(sim)
    sim.advance(45 * 60)
    middle = _raw_totals(sim)
    sim.advance(15 * 60)
    after = _raw_totals(sim)
    values = sim.signals()

    def change(key: str, old: dict[str, float]) -> float:
        return after[key] - old[key]

    assert values["success_rate"] == pytest.approx(
        change("success", middle) / change("not_cancelled", middle)
    )
    assert values["build_duration_mean"] == pytest.approx(
        change("duration_sum", middle) / change("duration_count", middle)
    )
    assert values["cost_per_build"] == pytest.approx(change("cost", before) / change("all", before))
    assert values["flake_rate"] == pytest.approx(change("flaky", before) / change("all", before))
    metrics = sim.platform.metrics
    busy, total = metrics.busy.total(), metrics.executors.total()
    assert values["executor_saturation"] == pytest.approx(busy / total)


def test_baseline_is_within_the_plan_targets(workbook: Workbook) -> None:
    values = signals_of(simulator(workbook).initial())
    assert set(values) == set(SIGNAL_UNITS)
    assert 20 <= (values["queue_wait_p95"] or 0) <= 90
    assert 0.985 <= (values["success_rate"] or 0) <= 1.0
    assert 0.98 <= (values["success_rate_7d"] or 0) <= 0.995
    assert 8 * 60 <= (values["build_duration_mean"] or 0) <= 15 * 60
    assert 0.003 <= (values["flake_rate"] or 0) <= 0.02
    assert 0.5 <= (values["executor_saturation"] or 0) <= 0.85
    assert 0.25 <= (values["cost_per_build"] or 0) <= 0.6


# --- the model ------------------------------------------------------------------------------


def _trace(sim: Simulator, minutes: int) -> list[object]:
    trace: list[object] = []
    for _ in range(minutes):
        updates = sim.advance(60)
        trace.append(sorted(signals_of(updates).items()))
        trace.extend(events_of(updates))
    return trace


def test_same_seed_same_world_and_another_seed_another(workbook: Workbook) -> None:
    first = _trace(simulator(workbook, "brownout", seed=11), 10)
    second = _trace(simulator(workbook, "brownout", seed=11), 10)
    other = _trace(simulator(workbook, "brownout", seed=12), 10)
    assert first == second
    assert first != other


def test_queue_wait_p95_rises_when_capacity_drops(workbook: Workbook) -> None:
    sim = simulator(workbook)
    sim.advance(300)
    before = sim.signals()["queue_wait_p95"]
    for name, pool in sim.platform.pools.items():
        sim.platform.lose_runners(name, pool.total * 4 // 10)
    sim.advance(900)  # the jobs the lost runners ran are gone; the queue builds after
    after = sim.signals()["queue_wait_p95"]
    assert before is not None and after is not None
    assert after > 2 * before
    assert sim.platform.in_flight < 1000  # queued work stays bounded


def test_advancing_a_second_is_cheap(workbook: Workbook) -> None:
    sim = simulator(workbook)
    began = time.perf_counter()
    sim.advance(600)
    assert (time.perf_counter() - began) / 600 < 0.001


def test_initial_gives_history_and_the_world_at_t_plus_1d2h(workbook: Workbook) -> None:
    sim = simulator(workbook)
    assert sim.now == START
    updates = sim.initial()
    backfills = {u.name: u for u in updates if isinstance(u, HistoryBackfill)}
    assert set(backfills) == set(SIGNAL_UNITS)
    assert len(backfills["success_rate"].points) >= 100  # ~one per 15 s over 30 min
    assert backfills["success_rate"].points[-1][0] <= START
    waves = next(u for u in updates if isinstance(u, WavesUpdate))
    assert waves.green_since == GO_LIVE
    states = {s.wave: s for s in waves.statuses}
    assert states["Wave-1"].state is WaveState.ACTIVE and states["Wave-1"].since == GO_LIVE
    assert states["Wave-2"].state is WaveState.CANARY
    assert states["Wave-3"].state is WaveState.PLANNED
    assert all(waves.repo_states[r.repo] is RepoState.MAESTRO for r in workbook.repos("Wave-1"))
    assert RepoState.SHADOW in {waves.repo_states[r.repo] for r in workbook.repos("Wave-2")}
    rollouts = {r.key: r for u in updates if isinstance(u, RolloutsUpdate) for r in u.rollouts}
    assert rollouts[API].phase is RolloutPhase.PAUSED
    assert rollouts[API].pause_reason == "CanaryPauseStep"
    assert rollouts[SCHEDULER].phase is RolloutPhase.HEALTHY and rollouts[SCHEDULER].done
    assert rollouts[CONTROLLER].phase is RolloutPhase.PROGRESSING
    assert any(isinstance(e, BuildEvent) for e in events_of(updates))
    assert any(isinstance(u, FreezeUpdate) and not u.state.frozen for u in updates)


def test_build_events_carry_the_contract_fields(workbook: Workbook) -> None:
    events = events_of(simulator(workbook).advance(300))
    finished = [e for e in events if isinstance(e, BuildEvent) and e.event == "job.finished"]
    assert finished
    assert {e.status for e in finished} <= {"success", "failure", "error"}
    assert all(e.duration_s > 0 and e.runner and e.wave.startswith("Wave-") for e in finished)
    assert all(START <= e.ts <= START + timedelta(seconds=300) for e in events)
    assert [e.ts for e in events] == sorted(e.ts for e in events)


# --- the brownout scenario ------------------------------------------------------------------


def test_brownout_scenario_plays_out(workbook: Workbook) -> None:
    sim = simulator(workbook, "brownout")
    success: dict[int, float | None] = {}
    alerts: dict[int, set[str]] = {}
    platform_events: list[PlatformEvent] = []
    for minute in range(1, 41):
        updates = sim.advance(60)
        success[minute] = signals_of(updates)["success_rate"]
        alerts[minute] = {
            a.alertname for u in updates if isinstance(u, AlertsUpdate) for a in u.alerts
        }
        platform_events += [e for e in events_of(updates) if isinstance(e, PlatformEvent)]
    by_name = {e.event: e for e in platform_events}
    assert by_name["registry.brownout"].ts == START + timedelta(minutes=2)
    assert by_name["registry.brownout"].severity == "warning"
    assert by_name["registry.recovered"].ts == START + timedelta(minutes=8)
    assert by_name["cve.detected"].cve and by_name["cve.detected"].severity == "critical"
    assert "runner.lost" in by_name
    assert all((success[m] or 0) >= 0.98 for m in (1, 2))
    assert min(success[m] or 1 for m in range(3, 15)) < 0.98
    assert all((success[m] or 0) >= 0.98 for m in range(32, 41))
    assert "MaestroCriticalCVE" not in alerts[3]
    assert all("MaestroCriticalCVE" in alerts[m] for m in range(4, 9))
    assert "MaestroCriticalCVE" not in alerts[10]


def test_scenario_errors_name_the_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "bad"\n[[incidents]]\nat = "soon"\nevent = "registry.brownout"\n')
    with pytest.raises(ScenarioError, match=r"bad\.toml: incidents\[0\]\.at"):
        load_scenario(str(bad))
    unknown = tmp_path / "unknown.toml"
    unknown.write_text('name = "x"\n[[incidents]]\nat = "1m"\nevent = "meteor"\n')
    with pytest.raises(ScenarioError, match=r"incidents\[0\]\.event"):
        load_scenario(str(unknown))
    with pytest.raises(ScenarioError, match="packaged ones: brownout, calm"):
        load_scenario("no-such-scenario")


# --- rollouts -------------------------------------------------------------------------------


def _versions() -> Callable[[], str]:
    counter = iter(range(1, 1_000_000))
    return lambda: str(next(counter))


def test_rollout_walks_its_steps_and_aborts_on_a_failed_analysis() -> None:
    rollout = SimRollout("ns", "r", MAESTRO_CANARY, 0, _versions(), success_target=0.98)
    rollout.tick(0, 0.99)
    assert (rollout.step, rollout.weight, rollout.status().phase) == (
        1,
        10,
        RolloutPhase.PROGRESSING,
    )
    rollout.tick(130, 0.99)  # the two-minute pause is over; weight 25; then the open pause
    status = rollout.status()
    assert (status.step, status.weight, status.phase) == (3, 25, RolloutPhase.PAUSED)
    assert status.pause_reason == "CanaryPauseStep"
    version = status.version
    rollout.promote()
    assert rollout.status().version != version
    rollout.tick(200, 0.99)
    assert rollout.status().analysis == "Running"
    rollout.tick(270, 0.95)
    status = rollout.status()
    assert status.phase is RolloutPhase.DEGRADED and status.weight == 0 and status.aborted
    assert status.analysis == "Failed"
    assert status.message == "RolloutAborted: metric success-rate assessed Failed"


def test_rollout_completes_when_analysis_passes() -> None:
    rollout = SimRollout("ns", "r", MAESTRO_CANARY, 4, _versions(), success_target=0.98)
    for t in range(0, 1000, 30):
        rollout.tick(t, 0.995)
    status = rollout.status()
    assert status.phase is RolloutPhase.HEALTHY and status.weight == 100 and status.done


# --- the effector ---------------------------------------------------------------------------


async def test_freeze_pauses_rollouts_and_unfreeze_resumes_only_those(
    workbook: Workbook,
) -> None:
    sim = simulator(workbook)
    effector = SimEffector(sim)
    outcome = await effector.apply(
        plan(sim, ActionKind.FREEZE, "cutover", ["freeze"], reason="brownout")
    )
    assert outcome.ok
    assert sim.freeze.frozen and sim.freeze.by == "alice" and sim.freeze.reason == "brownout"
    assert sim.freeze.paused_by_freeze == (CONTROLLER,)
    paused = sim.rollouts[CONTROLLER].status()
    assert paused.phase is RolloutPhase.PAUSED and paused.pause_reason == "manually paused"
    updates = sim.advance(0)
    frozen = [e for e in events_of(updates) if isinstance(e, PlatformEvent)]
    assert [(e.event, e.severity, e.message) for e in frozen] == [
        ("cutover.freeze", "warning", "frozen by alice: brownout")
    ]
    # Nothing migrates while frozen, even on an active wave.
    await effector.apply(plan(sim, ActionKind.PROMOTE_WAVE, "Wave-2", ["Wave-2"]))
    states = dict(sim.platform.states)
    sim.advance(20 * 60)
    assert sim.platform.states == states
    await effector.apply(plan(sim, ActionKind.UNFREEZE, "cutover", ["freeze"]))
    assert not sim.freeze.frozen
    assert not sim.rollouts[CONTROLLER].spec_paused
    api = sim.rollouts[API].status()
    assert api.phase is RolloutPhase.PAUSED and api.pause_reason == "CanaryPauseStep"


async def test_promote_wave_changes_state_and_version_and_starts_migration(
    workbook: Workbook,
) -> None:
    sim = simulator(workbook)
    before = sim.versions()["Wave-2"]
    outcome = await SimEffector(sim).apply(plan(sim, ActionKind.PROMOTE_WAVE, "Wave-2", ["Wave-2"]))
    assert outcome.ok and outcome.changes[0].after == "active"
    status = sim.ledger.statuses["Wave-2"]
    assert status.state is WaveState.ACTIVE and status.by == "alice" and status.since == sim.now
    assert status.version != before
    on_maestro = sum(
        sim.platform.states[r.repo] is RepoState.MAESTRO for r in workbook.repos("Wave-2")
    )
    sim.advance(30 * 60)
    after = sum(sim.platform.states[r.repo] is RepoState.MAESTRO for r in workbook.repos("Wave-2"))
    assert after > on_maestro
    gauge = sim.platform.metrics.repo_state.series
    assert all(
        gauge[(r.repo, "Wave-2", sim.platform.states[r.repo].value)] == 1.0
        for r in workbook.repos("Wave-2")
    )


async def test_roll_back_wave_puts_its_repos_on_legacy(workbook: Workbook) -> None:
    sim = simulator(workbook)
    await SimEffector(sim).apply(plan(sim, ActionKind.ROLL_BACK_WAVE, "Wave-2", ["Wave-2"]))
    assert sim.ledger.statuses["Wave-2"].state is WaveState.ROLLED_BACK
    assert {sim.platform.states[r.repo] for r in workbook.repos("Wave-2")} == {RepoState.LEGACY}


async def test_promote_and_abort_rollouts(workbook: Workbook) -> None:
    sim = simulator(workbook)
    effector = SimEffector(sim)
    await effector.apply(plan(sim, ActionKind.PROMOTE_ROLLOUT, API, [API]))
    sim.advance(30)
    assert sim.rollouts[API].status().analysis == "Running"
    await effector.apply(plan(sim, ActionKind.ABORT_ROLLOUT, CONTROLLER, [CONTROLLER]))
    status = sim.rollouts[CONTROLLER].status()
    assert status.phase is RolloutPhase.DEGRADED and status.weight == 0
    refused = await effector.apply(plan(sim, ActionKind.ABORT_ROLLOUT, CONTROLLER, [CONTROLLER]))
    assert not refused.ok


async def test_a_stale_version_raises_target_changed(workbook: Workbook) -> None:
    sim = simulator(workbook)
    stale = plan(sim, ActionKind.PROMOTE_WAVE, "Wave-2", ["Wave-2"])
    await SimEffector(sim).apply(plan(sim, ActionKind.ROLL_BACK_WAVE, "Wave-2", ["Wave-2"]))
    with pytest.raises(TargetChanged, match="Wave-2"):
        await SimEffector(sim).apply(stale)


# --- the exposition -------------------------------------------------------------------------

CONTRACT_METRICS = (
    ("maestro_queue_wait_seconds", "histogram"),
    ("maestro_jobs_total", "counter"),
    ("maestro_job_duration_seconds", "histogram"),
    ("maestro_flaky_jobs_total", "counter"),
    ("maestro_executors_busy", "gauge"),
    ("maestro_executors_total", "gauge"),
    ("maestro_build_cost_dollars_total", "counter"),
    ("maestro_shadow_builds_total", "counter"),
    ("maestro_repo_cutover_state", "gauge"),
)
SAMPLE = re.compile(
    r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r'(?P<labels>\{[a-zA-Z_][a-zA-Z0-9_]*="[^"]*"(?:,[a-zA-Z_][a-zA-Z0-9_]*="[^"]*")*\})?'
    r" (?P<value>[-+]?(?:[0-9.eE+-]+|Inf|NaN))$"
)


def test_exposition_is_prometheus_text(workbook: Workbook) -> None:
    sim = simulator(workbook)
    text = sim.exposition()
    assert text.endswith("\n")
    for name, kind in CONTRACT_METRICS:
        assert f"# HELP {name} " in text
        assert f"# TYPE {name} {kind}\n" in text
    buckets: dict[str, list[float]] = {}
    counts: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert re.match(r"^# (HELP|TYPE) maestro_[a-z_]+ .+$", line)
            continue
        match = SAMPLE.match(line)
        assert match, line
        value = float(match["value"])
        labels = match["labels"] or ""
        if match["name"] == "maestro_queue_wait_seconds_bucket":
            series = re.sub(r',?le="[^"]*"', "", labels)
            buckets.setdefault(series, []).append(value)
            if 'le="+Inf"' in labels:
                assert buckets[series] == sorted(buckets[series])  # cumulative
        if match["name"] == "maestro_queue_wait_seconds_count":
            counts[labels] = value
    assert buckets
    assert all(buckets[series][-1] == counts[series] for series in buckets)
    assert re.search(r'maestro_jobs_total\{status="success",repo="[^"]+",wave="Wave-1"', text)


# --- the source -----------------------------------------------------------------------------


async def test_source_delivers_initial_and_is_the_clock(workbook: Workbook) -> None:
    sim = simulator(workbook)
    source = SimSource(sim, refresh=timedelta(seconds=1), time_scale=0)
    delivered: list[Sequence[Update]] = []
    first = asyncio.Event()

    def deliver(updates: Sequence[Update]) -> None:
        delivered.append(updates)
        first.set()

    task = asyncio.create_task(source.run(deliver))
    await first.wait()
    assert source.now() == START
    updates = source.step(60)
    assert delivered[-1] is updates and source.now() == START + timedelta(minutes=1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    signals = [u.signal for u in delivered[0] if isinstance(u, SignalUpdate)]
    assert all(s.status is SignalStatus.OK and s.source == "sim" for s in signals)
    assert {s.name: s.unit for s in signals} == SIGNAL_UNITS


def test_build_simulation_from_config(workbook: Workbook, tmp_path: Path) -> None:
    config = Config.model_validate(
        {
            "cutover": {"go_live": GO_LIVE.isoformat()},
            "waves": {"workbook": str(EXAMPLE_WORKBOOK)},
            "sources": {"sim": {"seed": 3, "scenario": "calm", "start": "T+1d2h",
                                "warmup": "10m", "time_scale": 5}},
        }
    )  # fmt: skip
    source, effector = build_simulation(config, tmp_path, workbook)
    as_source: Source = source
    as_clock: Clock = source
    as_effector: Effector = effector
    assert as_source.name == as_effector.name == "sim"
    assert as_clock.now() == START
    assert source.now() == START and source.time_scale == 5
    assert effector.simulator is source.simulator


@pytest.mark.parametrize(
    ("real", "absent"),
    [
        ("prometheus", {SignalUpdate, HistoryBackfill}),
        ("kubernetes", {RolloutsUpdate, WavesUpdate, FreezeUpdate, SignoffsUpdate}),
        ("alertmanager", {AlertsUpdate}),
    ],
)
def test_beside_a_real_backend_the_simulator_leaves_its_readings_to_it(
    workbook: Workbook, real: str, absent: set[type]
) -> None:
    """One reading from two sources would flap between them: the real one answers alone."""
    document = config_document(**{f"sources__{real}": {"enabled": True}})
    source, _ = build_simulation(Config.model_validate(document), CONFIG.parent, workbook)
    simulator = source.simulator
    delivered = {type(u) for u in [*simulator.initial(), *simulator.advance(60)]}
    assert not delivered & absent
    assert EventsUpdate in delivered  # its events are its own, added to the real ones
    if real == "prometheus":
        assert WavesUpdate in delivered  # wave states still, without repository states
        waves = next(u for u in simulator.advance(1) if isinstance(u, WavesUpdate))
        assert waves.statuses and not waves.repo_states and not waves.shadow_pass
