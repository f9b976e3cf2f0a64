"""The simulator at an organisation's size: a warm-up that need not hold up the first frame,
and scrapes that cost the same whatever the number of repositories."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta

import pytest

from bench.workbook import generate_workbook
from maestro_control_room.cutover.config import ThresholdsSection, kpi_specs
from maestro_control_room.cutover.rollouts import RolloutStatus
from maestro_control_room.cutover.room import ControlRoom, RoomSettings
from maestro_control_room.cutover.signals import SignalStatus
from maestro_control_room.cutover.updates import (
    EventsUpdate,
    HealthState,
    RolloutsUpdate,
    SignalUpdate,
    SourceHealth,
    Update,
    WavesUpdate,
)
from maestro_control_room.cutover.waves import (
    WORKBOOK_COLUMNS,
    RepoState,
    Workbook,
    parse_workbook,
)
from maestro_control_room.sources.sim import SimSource, Simulator
from maestro_control_room.sources.sim import source as sim_source
from maestro_control_room.sources.sim.promql import scrape

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = GO_LIVE + timedelta(hours=26)


@pytest.fixture(scope="module")
def workbook() -> Workbook:
    return parse_workbook(generate_workbook(200, 8, seed=3))


def cold(workbook: Workbook) -> Simulator:
    return Simulator(workbook, seed=7, start=START, go_live=GO_LIVE, warm=False)


def test_the_generated_workbook_has_the_plans_columns_and_is_the_same_for_a_seed() -> None:
    text = generate_workbook(500, 50, seed=1)
    assert text == generate_workbook(500, 50, seed=1) != generate_workbook(500, 50, seed=2)
    assert text.splitlines()[0].split(",") == list(WORKBOOK_COLUMNS)
    book = parse_workbook(text)
    assert not book.problems and len(book.rows) == 500
    assert book.waves == tuple(f"Wave-{n}" for n in range(1, 51))
    assert all(len(book.repos(wave)) == 10 for wave in book.waves)


def test_a_warm_up_in_pieces_ends_where_one_in_a_go_does(workbook: Workbook) -> None:
    whole = Simulator(workbook, seed=7, start=START, go_live=GO_LIVE)
    pieces = cold(workbook)
    assert pieces.warming and pieces.warmed == 0.0
    while not pieces.warm_up(97):
        assert pieces.warming
    assert pieces.now == whole.now == START
    assert pieces.initial() == whole.initial()
    assert pieces.advance(60) == whole.advance(60)


def test_scrapes_read_the_same_sums_as_a_walk_over_every_series(workbook: Workbook) -> None:
    sim = Simulator(workbook, seed=7, start=START, go_live=GO_LIVE)
    sim.advance(300)
    metrics = sim.platform.metrics
    sample = scrape(metrics, sim.t)
    walked: dict[str, float] = {}
    for (status, *_), value in metrics.jobs.series.items():
        walked[status] = walked.get(status, 0.0) + value
    assert sample.jobs == pytest.approx(walked)
    assert sample.flaky == pytest.approx(sum(metrics.flaky.series.values()))
    assert sample.busy == sum(metrics.busy.series.values())
    histograms = metrics.duration.histograms.values()
    assert sample.duration_count == sum(h.count for h in histograms)
    assert sample.duration_sum == pytest.approx(sum(h.total for h in histograms))
    cumulative = [h.cumulative() for h in metrics.queue_wait.histograms.values()]
    totals = [sum(column) for column in zip(*cumulative, strict=True)]
    assert [count for _, count in sample.queue_wait_buckets] == totals
    by_wave: dict[str, float] = {}
    for (_repo, wave, _result), value in metrics.shadow.series.items():
        by_wave[wave] = by_wave.get(wave, 0.0) + value
    assert {w: total for w, (_, total) in sample.shadow.items()} == by_wave


async def test_a_large_warm_up_runs_after_the_first_delivery_saying_so(
    workbook: Workbook,
) -> None:
    sim = cold(workbook)
    source = SimSource(sim, timedelta(seconds=1), time_scale=0)
    deliveries: list[Sequence[Update]] = []
    warm = asyncio.Event()

    def deliver(updates: Sequence[Update]) -> None:
        deliveries.append(updates)
        if not sim.warming:
            warm.set()

    assert source.now() == START  # the clock stands at the start meanwhile
    task = asyncio.create_task(source.run(deliver))
    await asyncio.wait_for(warm.wait(), 60)
    task.cancel()
    first = deliveries[0]
    signals = [u.signal for u in first if isinstance(u, SignalUpdate)]
    assert signals and all(s.status is SignalStatus.NO_DATA for s in signals)
    assert all("warming up" in s.reason for s in signals)
    (health,) = [u for u in first if isinstance(u, SourceHealth)]
    assert health.state is HealthState.CONNECTING and "warming up" in health.reason
    # What is already as of the start is on the first screen: the waves and the rollouts.
    assert any(isinstance(u, RolloutsUpdate) and u.rollouts for u in first)
    assert any(isinstance(u, WavesUpdate) and u.statuses for u in first)
    last = deliveries[-1]
    measured = [u.signal for u in last if isinstance(u, SignalUpdate)]
    assert measured and all(s.status is SignalStatus.OK for s in measured)
    assert any(isinstance(u, EventsUpdate) and u.events for u in last)
    assert source.now() == START == sim.now


async def test_no_warm_up_progress_is_said_once_the_warm_up_is_done(
    workbook: Workbook, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With its progress said after every slice, the last slice's too: once the warm-up is
    over the first state comes, never another "warming up"."""
    monkeypatch.setattr(sim_source, "WARM_PROGRESS_EVERY", 0.0)
    sim = cold(workbook)
    source = SimSource(sim, timedelta(seconds=1), time_scale=0)
    heard: list[tuple[bool, Sequence[Update]]] = []
    done = asyncio.Event()

    def deliver(updates: Sequence[Update]) -> None:
        heard.append((sim.warming, updates))
        if not sim.warming:
            done.set()

    task = asyncio.create_task(source.run(deliver))
    await asyncio.wait_for(done.wait(), 60)
    task.cancel()

    def says_warming(updates: Sequence[Update]) -> bool:
        return any(
            (isinstance(u, SourceHealth) and "warming up" in u.reason)
            or (isinstance(u, SignalUpdate) and "warming up" in u.signal.reason)
            for u in updates
        )

    assert sum(says_warming(updates) for _, updates in heard) > 2  # said slice by slice
    after = [updates for warming, updates in heard if not warming]
    assert after and not any(says_warming(updates) for updates in after)
    signals = [u.signal for u in after[0] if isinstance(u, SignalUpdate)]
    assert signals and all(s.status is SignalStatus.OK for s in signals)


def test_a_quiet_rollout_hands_the_room_the_same_status_each_second(workbook: Workbook) -> None:
    sim = Simulator(workbook, seed=7, start=START, go_live=GO_LIVE, fleet_size=200)

    def statuses(updates: Sequence[Update]) -> dict[str, RolloutStatus]:
        (update,) = [u for u in updates if isinstance(u, RolloutsUpdate)]
        assert len(update.rollouts) == 200
        return {r.key: r for r in update.rollouts}

    before = statuses(sim.advance(1))
    after = statuses(sim.advance(1))
    same = [key for key in before if after[key] is before[key]]
    assert len(same) >= 190  # the fleet mostly waits at a pause from one second to the next
    # A rollout acted on shows at once, as a new status.
    key = "maestro-system/maestro-api"
    sim.rollouts[key].pause()
    paused = statuses(sim.advance(1))
    assert paused[key] is not after[key] and paused[key].paused
    assert paused[key] == sim.rollouts[key]._make_status()


async def test_beside_real_sources_the_simulator_catches_up_on_its_warm_up() -> None:
    # Beside real sources the room's clock is the wall's: a simulator that warmed up for
    # some seconds in the background would stay that far behind, stale for good.
    book = parse_workbook(generate_workbook(2000, 20, seed=3))
    sim = Simulator(book, seed=7, start=START, go_live=GO_LIVE, warm=False)
    source = SimSource(sim, timedelta(seconds=60), time_scale=1)
    source.keeps_wall_time = True
    deliveries: list[Sequence[Update]] = []
    caught_up = asyncio.Event()

    def deliver(updates: Sequence[Update]) -> None:
        deliveries.append(updates)
        if not sim.warming and sim.now > START:
            caught_up.set()

    began = time.monotonic()
    task = asyncio.create_task(source.run(deliver))
    await asyncio.wait_for(caught_up.wait(), 60)
    warmed_for = time.monotonic() - began
    task.cancel()
    assert warmed_for >= 1.0  # long enough to be behind by whole seconds
    behind = (sim.now - START).total_seconds()
    assert warmed_for - 1.5 <= behind <= warmed_for
    # The events of the seconds caught up on are delivered, after everything as of the start.
    assert any(isinstance(u, EventsUpdate) and u.events for u in deliveries[-1])


def test_the_repo_states_stay_one_object_until_a_state_changes(workbook: Workbook) -> None:
    """5,000 states a second are known unchanged by identity, and a change still shows."""
    sim = Simulator(workbook, seed=7, start=START, go_live=GO_LIVE)

    def states(updates: Sequence[Update]) -> Mapping[str, RepoState]:
        (update,) = [u for u in updates if isinstance(u, WavesUpdate)]
        return update.repo_states

    room = ControlRoom(
        RoomSettings(
            name="Maestro cutover",
            go_live=GO_LIVE,
            kpis=kpi_specs(ThresholdsSection()),
            triggers=(),
            green_period=timedelta(hours=48),
            workbook=workbook,
            max_age={},
        )
    )
    first = sim.advance(1)
    second = sim.advance(1)
    assert states(second) is states(first)
    repo = next(r for r, s in states(second).items() if s is RepoState.LEGACY)
    sim.platform.set_repo_state(repo, RepoState.SHADOW)
    third = sim.advance(1)
    assert states(third) is not states(second)
    assert states(third)[repo] is RepoState.SHADOW and states(second)[repo] is RepoState.LEGACY
    for updates in (first, second, third):
        for update in updates:
            room.apply(update)
    assert room.repo_states[repo] is RepoState.SHADOW
    assert room.repo_states == dict(sim.platform.states)
