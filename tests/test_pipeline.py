"""The action pipeline on the simulator: read-only refusal, live preconditions, the audit
intent written before the effector, the result after it, and announcements last."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from maestro_control_room.cutover.actions import (
    ActionOutcome,
    ActionPlan,
    TargetChanged,
    plan_freeze,
    plan_promote_wave,
)
from maestro_control_room.cutover.audit import AuditEntry, AuditRecord, Operator
from maestro_control_room.cutover.config import Config, room_settings
from maestro_control_room.cutover.pipeline import (
    ActionPipeline,
    AnnounceFailure,
    Executed,
    JournalUnavailable,
    PreconditionsFailed,
    ReadOnly,
)
from maestro_control_room.cutover.room import ControlRoom, RoomView
from maestro_control_room.sources.journal import AuditJournal, read_journal
from maestro_control_room.sources.sim import SimEffector, Simulator, build_simulation
from maestro_control_room.sources.workbook import load_workbook
from tests.conftest import CONFIG, AppFactory, config_document
from tests.test_app import actions_done, started

OPERATOR = Operator("alice", "root", "192.0.2.7", "bastion", "war-room")


@dataclass
class World:
    """The simulator, its effector, and a control room fed by it."""

    simulator: Simulator
    effector: SimEffector
    room: ControlRoom

    def live(self) -> RoomView:
        for update in self.simulator.advance(0):
            self.room.apply(update)
        return self.room.evaluate(self.simulator.now)


@pytest.fixture
def world() -> World:
    config = Config.model_validate(config_document(sources__sim={"time_scale": 0}))
    workbook = load_workbook(CONFIG.parent / config.waves.workbook)
    source, effector = build_simulation(config, CONFIG.parent, workbook)
    room = ControlRoom(room_settings(config, workbook))
    room.register_source("sim", source.now())
    for update in source.simulator.initial():
        room.apply(update)
    return World(source.simulator, effector, room)


class CountingEffector:
    """Wraps the simulator's effector, counting the calls that reach it."""

    def __init__(self, inner: SimEffector) -> None:
        self.inner = inner
        self.name = inner.name
        self.calls: list[ActionPlan] = []

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        self.calls.append(plan)
        return await self.inner.apply(plan)


class BrokenSink:
    """A journal whose disk is gone."""

    def write(self, record: AuditRecord) -> AuditEntry:
        raise OSError("No space left on device")


def journal_entries(path: Path) -> list[dict[str, object]]:
    report = read_journal(path)
    assert report.result.ok, str(report.result)
    return [entry for _, entry in report.entries if isinstance(entry, dict)]


def freeze(view: RoomView) -> ActionPlan:
    return plan_freeze(view, "alice", "registry brownout")


async def test_freeze_journals_intent_then_result(world: World, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    effector = CountingEffector(world.effector)
    pipeline = ActionPipeline(
        effector, read_only=False, journal=AuditJournal(path), operator=OPERATOR
    )
    view = world.live()
    plan = freeze(view)
    executed = await pipeline.execute(plan, world.live())
    assert executed.outcome.ok
    assert world.simulator.freeze.frozen
    intent, result = journal_entries(path)
    assert intent["kind"] == "intent" and result["kind"] == "result"
    assert intent["action"] == result["action"] == "freeze"
    assert intent["target"] == "cutover"
    assert intent["operator"] == OPERATOR.as_json()
    assert intent["effector"] == "sim"
    assert {"target": "cutover", "field": "frozen", "before": "false", "after": "true"} in intent[
        "changes"
    ]  # type: ignore[operator]
    assert [check["id"] for check in intent["preconditions"]] == ["unchanged"]  # type: ignore[attr-defined]
    assert "result" not in intent
    assert result["result"] == {"ok": True, "message": "Freeze cutover: done"}
    assert result["intent_seq"] == intent["seq"] == 1
    assert [entry.seq for entry in executed.audit] == [1, 2]
    assert executed.journal_error == ""


async def test_an_unwritable_journal_blocks_the_action(world: World, tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    effector = CountingEffector(world.effector)
    pipeline = ActionPipeline(
        effector, read_only=False, journal=AuditJournal(blocker / "audit.jsonl")
    )
    with pytest.raises(JournalUnavailable) as refused:
        await pipeline.execute(freeze(world.live()), world.live())
    assert str(blocker / "audit.jsonl") in str(refused.value)
    assert "cannot open" in str(refused.value)
    assert str(refused.value).startswith("not done: the audit journal cannot be written")
    assert effector.calls == []
    assert not world.simulator.freeze.frozen


async def test_a_sink_that_raises_blocks_the_action(world: World) -> None:
    effector = CountingEffector(world.effector)
    pipeline = ActionPipeline(effector, read_only=False, journal=BrokenSink())
    with pytest.raises(JournalUnavailable, match="No space left on device"):
        await pipeline.execute(freeze(world.live()), world.live())
    assert effector.calls == []


async def test_read_only_refuses_before_the_journal_and_the_effector(
    world: World, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    effector = CountingEffector(world.effector)
    pipeline = ActionPipeline(effector, read_only=True, journal=AuditJournal(path))
    with pytest.raises(ReadOnly):
        await pipeline.execute(freeze(world.live()), world.live())
    assert effector.calls == [] and not path.exists()


async def test_a_failed_precondition_refuses_before_the_journal(
    world: World, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    effector = CountingEffector(world.effector)
    pipeline = ActionPipeline(effector, read_only=False, journal=AuditJournal(path))
    plan = plan_promote_wave(world.live(), "Wave-3", "alice")
    with pytest.raises(PreconditionsFailed):
        await pipeline.execute(plan, world.live())
    assert effector.calls == [] and not path.exists()


async def test_an_override_reason_lands_in_the_journal(world: World, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    pipeline = ActionPipeline(world.effector, read_only=False, journal=AuditJournal(path))
    # Wave-3 follows Wave-2, still in canary: the green-period check fails.
    plan = plan_promote_wave(world.live(), "Wave-3", "alice")
    executed = await pipeline.execute(plan, world.live(), "  exec approved early start ")
    assert executed.override == "exec approved early start"
    intent, result = journal_entries(path)
    for entry in (intent, result):
        assert entry["override"] == "exec approved early start"
    failed = [c for c in intent["preconditions"] if not c["ok"]]  # type: ignore[attr-defined]
    assert [c["id"] for c in failed] == ["green-period"]
    assert result["result"] == {"ok": True, "message": "Promote wave Wave-3: done"}


async def test_the_result_records_an_effector_failure(world: World, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"

    class Unreachable:
        """An effector whose cluster has gone away."""

        name = "kubernetes"

        async def apply(self, plan: ActionPlan) -> ActionOutcome:
            raise ConnectionError("api server unreachable")

    pipeline = ActionPipeline(Unreachable(), read_only=False, journal=AuditJournal(path))
    with pytest.raises(ConnectionError):
        await pipeline.execute(freeze(world.live()), world.live())
    intent, result = journal_entries(path)
    assert result["result"] == {"error": "ConnectionError: api server unreachable"}
    assert result["intent_seq"] == intent["seq"]


async def test_the_result_records_a_changed_target(world: World, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    pipeline = ActionPipeline(world.effector, read_only=False, journal=AuditJournal(path))
    view = world.live()
    plan = freeze(view)
    # Someone else freezes and unfreezes between the live check and the effector: the
    # effector sees the version move and refuses.
    live = world.live()
    world.simulator.do_freeze("bob", "drill")
    world.simulator.do_unfreeze("bob")
    with pytest.raises(TargetChanged):
        await pipeline.execute(plan, live)
    _, result = journal_entries(path)
    assert str(result["result"]["error"]).startswith("target changed: ")  # type: ignore[index]


async def test_an_unsuccessful_outcome_is_journalled(world: World, tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"

    class Declines:
        """An effector whose server answers that it cannot do it."""

        name = "kubernetes"

        async def apply(self, plan: ActionPlan) -> ActionOutcome:
            return ActionOutcome(False, "rollouts.argoproj.io is forbidden")

    pipeline = ActionPipeline(Declines(), read_only=False, journal=AuditJournal(path))
    executed = await pipeline.execute(freeze(world.live()), world.live())
    assert not executed.outcome.ok
    _, result = journal_entries(path)
    assert result["result"] == {"ok": False, "message": "rollouts.argoproj.io is forbidden"}


async def test_announcers_hear_after_the_result_and_failures_are_reported(
    world: World, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"
    heard: list[tuple[str, int]] = []

    def mqtt(executed: Executed) -> None:
        heard.append(("mqtt", len(journal_entries(path))))

    async def grafana(executed: Executed) -> None:
        heard.append(("grafana", len(journal_entries(path))))
        raise RuntimeError("HTTP 500: boom")

    pipeline = ActionPipeline(
        world.effector, read_only=False, journal=AuditJournal(path), announcers=[mqtt, grafana]
    )
    executed = await pipeline.execute(freeze(world.live()), world.live())
    assert heard == [("mqtt", 2), ("grafana", 2)], "announced after intent and result"
    assert executed.announce_errors == (AnnounceFailure("grafana", "HTTP 500: boom"),)
    assert world.simulator.freeze.frozen
    assert journal_entries(path)[-1]["result"] == {"ok": True, "message": "Freeze cutover: done"}


async def test_a_result_that_cannot_be_written_is_reported_not_raised(world: World) -> None:
    class FailsSecond:
        def __init__(self) -> None:
            self.inner: list[AuditRecord] = []

        def write(self, record: AuditRecord) -> AuditEntry:
            self.inner.append(record)
            if len(self.inner) > 1:
                raise OSError("disk gone")
            return AuditEntry(1, {}, "{}")

    pipeline = ActionPipeline(world.effector, read_only=False, journal=FailsSecond())
    executed = await pipeline.execute(freeze(world.live()), world.live())
    assert executed.outcome.ok and world.simulator.freeze.frozen
    assert executed.journal_error == "disk gone"


async def test_without_a_journal_the_operator_defaults_to_the_plan(world: World) -> None:
    pipeline = ActionPipeline(world.effector, read_only=False)
    plan = freeze(world.live())
    assert pipeline.operator_for(plan) == Operator("alice")
    executed = await pipeline.execute(plan, world.live())
    assert executed.audit == ()


async def test_the_app_says_why_an_unwritable_journal_blocked_the_freeze(
    make_app: AppFactory, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    app = make_app()
    app.pipeline.journal = AuditJournal(blocker / "audit.jsonl")
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("f", "enter")
        await actions_done(app, pilot)
        messages = [note.message for note in app._notifications]
        assert any(
            "the audit journal cannot be written" in message and "a-file" in message
            for message in messages
        ), messages
        assert app.view is not None and not app.view.freeze.frozen
