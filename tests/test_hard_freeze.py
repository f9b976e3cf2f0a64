"""The freeze is hard: while frozen every move forward is refused with no override, moves
back stay open, and unfreeze (its own confirmed, journalled action) is the way on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from maestro_control_room.cutover.actions import (
    ActionKind,
    FrozenRefusal,
    blocking,
    check_preconditions,
    plan_abort_rollout,
    plan_promote_rollout,
    plan_promote_wave,
    plan_roll_back_wave,
    plan_unfreeze,
)
from maestro_control_room.cutover.pipeline import ActionPipeline, PreconditionsFailed
from maestro_control_room.cutover.waves import WaveState
from maestro_control_room.sources.journal import AuditJournal, read_journal
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.widgets.rollouts import RolloutBoard
from maestro_control_room.widgets.waves import WaveBoard
from tests.conftest import AppFactory
from tests.test_actions import NOW, calm_room, frozen
from tests.test_app import actions_done, started, text_of
from tests.test_pipeline import OPERATOR, World, world  # noqa: F401 - the fixture

# -- the domain --------------------------------------------------------------------------


def test_no_move_forward_is_planned_while_frozen() -> None:
    view = frozen(calm_room()).evaluate(NOW)
    with pytest.raises(FrozenRefusal, match=r"frozen by alice at 09:00: queue p95 breach"):
        plan_promote_wave(view, "Wave-2", "bob")
    with pytest.raises(FrozenRefusal, match="unfreeze first"):
        plan_promote_rollout(view, "maestro-system/maestro-api", "bob")


def test_a_freeze_after_planning_blocks_even_with_an_override_reason() -> None:
    room = calm_room()
    plan = plan_promote_rollout(room.evaluate(NOW), "maestro-system/maestro-api", "bob")
    live = frozen(room).evaluate(NOW)
    (still,) = blocking(check_preconditions(plan, live), override="exec approved on the bridge")
    assert still.id == "not-frozen" and not still.overridable
    assert "unfreeze first" in still.detail


def test_moves_back_and_unfreeze_stay_open_while_frozen() -> None:
    view = frozen(calm_room()).evaluate(NOW)
    for plan in (
        plan_abort_rollout(view, "maestro-system/maestro-api", "bob"),
        plan_roll_back_wave(view, "Wave-1", "bob"),
        plan_unfreeze(view, "bob"),
    ):
        assert "not-frozen" not in {c.id for c in check_preconditions(plan, view)}, plan.kind


async def test_the_pipeline_refuses_an_overridden_promotion_while_frozen(
    world: World,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    from maestro_control_room.cutover.actions import plan_freeze

    journal = AuditJournal(tmp_path / "audit.jsonl")
    pipeline = ActionPipeline(world.effector, read_only=False, journal=journal, operator=OPERATOR)
    plan = plan_promote_wave(world.live(), "Wave-3", "alice")  # planned before the freeze
    await pipeline.execute(plan_freeze(world.live(), "alice", "brownout"), world.live())
    with pytest.raises(PreconditionsFailed, match="unfreeze first"):
        await pipeline.execute(plan, world.live(), override="exec approved early start")
    wave = world.live().wave("Wave-3")
    assert wave is not None and wave.state is WaveState.PLANNED
    actions = [e["action"] for _, e in read_journal(journal.path).entries if isinstance(e, dict)]
    assert ActionKind.PROMOTE_WAVE.value not in actions, "a refused move is never journalled"


# -- through the App, on the simulator -----------------------------------------------------


async def test_an_override_typed_in_an_open_confirmation_does_not_beat_a_freeze(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        board = app.query_one(WaveBoard)
        board.focus()
        board.move_cursor(row=2)  # Wave-3
        await pilot.press("p")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        # Someone freezes while the confirmation is open.
        simulator = app.sources[0].simulator  # type: ignore[attr-defined]
        simulator.do_freeze("bob", "registry brownout")
        app.ingest(simulator.advance(0))
        app.refresh_view()
        screen.query_one("#confirm-reason", Input).value = "exec approved early start"
        screen.query_one("#confirm-name", Input).value = "Wave-3"
        screen.action_confirm()
        await pilot.pause()
        assert app.screen is screen
        error = text_of(screen.query_one("#confirm-error", Static))
        assert "frozen by bob" in error and "cannot be overridden" in error
        await pilot.press("escape")
        await actions_done(app, pilot)
        assert app.view is not None
        wave = app.view.wave("Wave-3")
        assert wave is not None and wave.state is WaveState.PLANNED


async def test_while_frozen_abort_is_allowed_and_unfreeze_is_the_way_on(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("f", "enter")
        await actions_done(app, pilot)
        assert app.view is not None and app.view.freeze.frozen
        # A move back: abort the canary in progress.
        rollouts = app.query_one(RolloutBoard)
        rollouts.focus()
        target = next(r for r in app.view.rollouts if r.can_abort)
        rollouts.move_cursor(row=[r.key for r in app.view.rollouts].index(target.key))
        await pilot.pause()
        await pilot.press("x")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        await pilot.press(*target.name, "enter")
        await actions_done(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        aborted = app.view.rollout(target.key)
        assert aborted is not None and not aborted.can_abort
        # A move forward is refused until the unfreeze, then goes through.
        waves = app.query_one(WaveBoard)
        waves.focus()
        waves.move_cursor(row=1)  # Wave-2, canary
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("u")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"unfreeze", "enter")
        await actions_done(app, pilot)
        assert not app.view.freeze.frozen
        waves.focus()
        await pilot.press("p")
        assert isinstance(app.screen, ConfirmScreen), "unfrozen: the promotion can be confirmed"
        await pilot.press("escape")
    lines = (tmp_path / "audit.jsonl").read_text().splitlines()
    intents = [json.loads(line) for line in lines if json.loads(line)["kind"] == "intent"]
    assert [i["action"] for i in intents] == ["freeze", "abort rollout", "unfreeze"]


# -- promote --full, which does not pass the pipeline ------------------------------------


async def test_promote_full_on_the_cluster_is_refused_while_frozen(tmp_path: Path) -> None:
    from maestro_control_room.sources.rollouts import build_kubernetes
    from tests.kube_fake import CONFIGMAPS, ROLLOUTS, canary_rollout, cutover_configmap
    from tests.kube_harness import kube_config, running_fake

    with running_fake() as kube:
        kube.put(ROLLOUTS, canary_rollout("maestro-api"))
        kube.put(CONFIGMAPS, cutover_configmap(frozen="true", frozen_by="alice",
                                               freeze_reason="registry brownout"))  # fmt: skip
        _, effector = build_kubernetes(kube_config(kube, tmp_path))
        key = "maestro-system/maestro-api"
        seen = str(
            kube.get(ROLLOUTS, "maestro-system", "maestro-api")["metadata"]["resourceVersion"]
        )
        outcome = await effector.promote_full(key, seen)
        assert not outcome.ok
        assert "frozen by alice: registry brownout; unfreeze first" in outcome.message
        assert kube.patches("maestro-api") == [], "nothing is sent while frozen"
        kube.modify(CONFIGMAPS, "maestro-system", "maestro-cutover",
                    lambda o: o["data"].update(frozen="false"))  # fmt: skip
        assert (await effector.promote_full(key, seen)).ok
        (sent,) = kube.patches("maestro-api")
        assert sent.body["status"] == {"promoteFull": True}
