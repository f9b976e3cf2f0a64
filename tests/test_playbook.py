"""The rollback playbook as a run: its record, the routing switch, and each step on the
simulator (the dispatcher obeys the switch: the queue drains)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from maestro_control_room.cutover.actions import ActionKind, ActionPlan
from maestro_control_room.cutover.payloads import PayloadRejected
from maestro_control_room.cutover.playbook import (
    NO_RUN,
    STEPS,
    StepRecord,
    StepState,
    parse_playbook,
    playbook_data,
    playbook_from_data,
)
from maestro_control_room.cutover.routing import (
    CUTOVER,
    Route,
    Routing,
    parse_routing,
    routing_data,
    routing_from_data,
)
from maestro_control_room.cutover.waves import Workbook, parse_workbook
from maestro_control_room.sources.sim import EXAMPLE_WORKBOOK, SimEffector, Simulator, load_scenario

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = GO_LIVE + timedelta(hours=26)
NOW = START + timedelta(minutes=5)


@pytest.fixture(scope="module")
def workbook() -> Workbook:
    return parse_workbook(EXAMPLE_WORKBOOK.read_text(encoding="utf-8"))


def calm(workbook: Workbook) -> Simulator:
    return Simulator(workbook, load_scenario("calm"), seed=7, start=START, go_live=GO_LIVE)


def brownout(workbook: Workbook) -> Simulator:
    return Simulator(workbook, load_scenario("brownout"), seed=7, start=START, go_live=GO_LIVE)


# --- the run's record -------------------------------------------------------------------------


def test_a_run_starts_with_its_first_step_and_names_the_next() -> None:
    run = NO_RUN.with_record(
        StepRecord("freeze", StepState.DONE, "alice", NOW, "Frozen"), trigger="critical-cve"
    )
    assert run.started and run.trigger == "critical-cve" and run.started_by == "alice"
    assert run.next_step is not None and run.next_step.id == "re-point"
    run = run.with_record(StepRecord("re-point", StepState.SKIPPED, "bob", NOW, reason="none"))
    assert run.of("re-point").line() == f"skipped by bob {NOW:%H:%M}: none"
    assert run.progress() == "playbook 2/7: next 3 Promote the last known-good"


def test_a_finished_run_is_followed_by_a_new_one() -> None:
    run = NO_RUN
    for spec in STEPS:
        run = run.with_record(StepRecord(spec.id, StepState.DONE, "alice", NOW), trigger="a")
    assert run.finished
    again = run.with_record(StepRecord("freeze", StepState.DONE, "bob", NOW), trigger="b")
    assert again.trigger == "b" and len(again.steps) == 1


def test_the_run_round_trips_through_the_configmap_and_the_topic() -> None:
    run = NO_RUN.with_record(
        StepRecord("known-good", StepState.DONE, "alice", NOW, "2 rollout(s) back"), trigger="t"
    )
    data = playbook_data(run)
    back = playbook_from_data(data, "41", NOW)
    assert back.of("known-good") == run.of("known-good") and back.version == "41"
    heard = parse_playbook(json.dumps(run.payload()).encode(), now=NOW)
    assert heard.of("known-good").line() == f"done by alice {NOW:%H:%M}: 2 rollout(s) back"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"[1]", "not an object"),
        (b"{", "not JSON"),
        (b'{"steps": {"step-99": {"state": "done"}}}', "wrong field"),
        (b'{"steps": {"freeze": {"state": "maybe"}}}', "wrong field"),
        (b'{"steps": {"freeze": {"state": "done", "by": "\\u001b[2J"}}}', "wrong field"),
        (b'{"steps": {"freeze": {"state": "done", "at": "9999-01-01T00:00:00Z"}}}', "out of range"),
        (b'{"trigger": "' + b"x" * 70_000 + b'"}', "too large"),
        (b"[" * 40 + b"]" * 40, "too deep"),
    ],
)
def test_a_hostile_playbook_payload_is_rejected_with_its_reason(
    payload: bytes, reason: str
) -> None:
    with pytest.raises(PayloadRejected) as rejected:
        parse_playbook(payload, now=NOW)
    assert rejected.value.reason == reason


# --- the routing switch -----------------------------------------------------------------------


def test_routing_per_wave_and_for_the_whole_cutover() -> None:
    routing = Routing().re_pointed("Wave-2", Route.LEGACY, "alice", NOW)
    assert routing.on_legacy(["Wave-1", "Wave-2"]) == ("Wave-2",)
    everything = routing.re_pointed(CUTOVER, Route.LEGACY, "bob", NOW)
    assert everything.on_legacy(["Wave-1", "Wave-2"]) == ("Wave-1", "Wave-2")
    assert routing_from_data(routing_data(routing), "7", NOW).of("Wave-2") is Route.LEGACY
    # `kubectl edit` may leave a bare word; it reads as the whole cutover's route.
    assert routing_from_data({"routing": "legacy"}, "8", NOW).cutover is Route.LEGACY


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b'{"cutover": "jenkins"}', "wrong field"),
        (b'{"waves": ["Wave-1"]}', "wrong field"),
        (b'{"waves": {"Wave-1": true}}', "wrong field"),
        (b"42", "not an object"),
    ],
)
def test_a_hostile_routing_payload_is_rejected(payload: bytes, reason: str) -> None:
    with pytest.raises(PayloadRejected) as rejected:
        parse_routing(payload, now=NOW)
    assert rejected.value.reason == reason


# --- on the simulator -------------------------------------------------------------------------


def _apply(effector: SimEffector, plan: ActionPlan) -> str:
    outcome = asyncio.run(effector.apply(plan))
    assert outcome.ok, outcome.message
    return outcome.message


def test_re_pointed_builds_leave_maestro_and_the_queue_drains(workbook: Workbook) -> None:
    """A queue built by lost runners, worked: the waves re-pointed to legacy take their
    waiting jobs out of Maestro's queues and send no new ones, so the queue drains and the
    queue wait p95 falls, while the same platform left alone keeps breaching."""
    left, repointed = calm(workbook), calm(workbook)
    for sim in (left, repointed):
        sim.advance(300)
        for name, pool in sim.platform.pools.items():
            sim.platform.lose_runners(name, pool.total * 4 // 10)
        sim.advance(900)
    breached = repointed.signals()["queue_wait_p95"]
    assert breached is not None and breached > 120
    queued = sum(len(p.queue) for p in repointed.platform.pools.values())
    rate = repointed.platform.arrival_rate
    for wave in ("Wave-2", "Wave-3"):
        _apply(SimEffector(repointed), ActionPlan(ActionKind.REPOINT, wave, (), "alice"))
    assert sum(len(p.queue) for p in repointed.platform.pools.values()) < queued / 2
    assert repointed.platform.arrival_rate < rate / 2
    for sim in (left, repointed):
        sim.advance(600)
    after, untouched = repointed.signals()["queue_wait_p95"], left.signals()["queue_wait_p95"]
    assert after is not None and untouched is not None
    assert after < breached / 2 and untouched > breached
    assert sum(len(p.queue) for p in repointed.platform.pools.values()) == 0
    assert repointed.routing.on_legacy(["Wave-1", "Wave-2", "Wave-3"]) == ("Wave-2", "Wave-3")


def test_re_pointing_the_whole_cutover_leaves_maestro_no_jobs(workbook: Workbook) -> None:
    sim = brownout(workbook)
    _apply(SimEffector(sim), ActionPlan(ActionKind.REPOINT, CUTOVER, (), "alice"))
    assert sim.platform.arrival_rate == 0 and sim.routing.cutover is Route.LEGACY


def test_re_pointing_one_wave_keeps_the_others_on_maestro(workbook: Workbook) -> None:
    sim = brownout(workbook)
    before = sim.platform.arrival_rate
    _apply(SimEffector(sim), ActionPlan(ActionKind.REPOINT, "Wave-2", (), "alice"))
    waves = {
        sim.platform.profiles[r].wave for r in sim.platform.profiles if sim.platform.builds_here(r)
    }
    assert "Wave-2" not in waves and "Wave-1" in waves
    assert 0 < sim.platform.arrival_rate < before


def test_known_good_aborts_each_rollout_in_its_canary(workbook: Workbook) -> None:
    sim = brownout(workbook)
    moving = {k: r.version for k, r in sim.rollouts.items() if r.status().can_abort}
    assert moving
    plan = ActionPlan(ActionKind.PROMOTE_KNOWN_GOOD, "rollouts", (), "alice", seen_versions=moving)
    _apply(SimEffector(sim), plan)
    assert all(sim.rollouts[k].status().aborted for k in moving)
    assert all(sim.rollouts[k].status().weight == 0 for k in moving)


def test_a_step_is_recorded_in_the_simulators_run(workbook: Workbook) -> None:
    sim = brownout(workbook)
    effector = SimEffector(sim)
    run = asyncio.run(effector.record_step(StepRecord("freeze", StepState.DONE, "alice", NOW), "t"))
    assert run.of("freeze").by == "alice" and run.version == sim.versions()["playbook"]


# --- hostile input on the topics --------------------------------------------------------------


def test_the_mqtt_source_rejects_a_hostile_run_and_takes_a_good_one() -> None:
    from maestro_control_room.cutover.config import MqttSection
    from maestro_control_room.cutover.updates import PlaybookUpdate, RoutingUpdate
    from maestro_control_room.sources.mqtt import MqttSource

    source = MqttSource(MqttSection(host="127.0.0.1"), now=lambda: NOW)
    source.receive("maestro/cutover/playbook", b'{"steps": {"freeze": {"state": "maybe"}}}')
    source.receive("maestro/cutover/routing", b'{"cutover": "jenkins"}')
    source.receive("maestro/cutover/playbook", b"\xff\xfe")
    assert source.rejected == {"wrong field": 2, "not JSON": 1}
    run = NO_RUN.with_record(StepRecord("freeze", StepState.DONE, "alice", NOW), trigger="t")
    source.receive("maestro/cutover/playbook", json.dumps(run.payload()).encode())
    routed = Routing().re_pointed("Wave-2", Route.LEGACY, "alice", NOW)
    source.receive("maestro/cutover/routing", json.dumps(routed.payload()).encode())
    updates = source.drain()
    (heard,) = [u for u in updates if isinstance(u, PlaybookUpdate)]
    (routing,) = [u for u in updates if isinstance(u, RoutingUpdate)]
    assert heard.run.of("freeze").by == "alice" and heard.run.version == ""
    assert routing.routing.of("Wave-2") is Route.LEGACY
