"""Action plans and their preconditions, judged against the control room's live view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maestro_control_room.cutover.actions import (
    ActionKind,
    ActionPlan,
    ActionUnavailable,
    Change,
    Precondition,
    blocking,
    check_preconditions,
    plan_abort_rollout,
    plan_freeze,
    plan_promote_rollout,
    plan_promote_wave,
    plan_roll_back_wave,
    plan_unfreeze,
    promotion_changes,
)
from maestro_control_room.cutover.config import Config, ThresholdsSection, kpi_specs, trigger_specs
from maestro_control_room.cutover.freeze import FreezeState
from maestro_control_room.cutover.rollouts import RolloutPhase, RolloutStatus
from maestro_control_room.cutover.room import ControlRoom, RoomSettings
from maestro_control_room.cutover.signals import Signal
from maestro_control_room.cutover.updates import (
    Alert,
    AlertsUpdate,
    FreezeUpdate,
    RolloutsUpdate,
    SignalUpdate,
    WavesUpdate,
)
from maestro_control_room.cutover.waves import RepoState, WaveState, WaveStatus, parse_workbook

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NOW = GO_LIVE + timedelta(days=3)
GREEN_PERIOD = timedelta(hours=48)

WORKBOOK = parse_workbook(
    "Team/Repo,Tier,Owner,Pipeline Size,Critical Deps,Scanners,Avg Build (min),"
    "Shadow Pass %,Blocking Issues,Cutover Wave\n"
    "svc-api,0,alice,12 jobs,vault://prod,SAST+DAST,14.2,98%,flaky test pack,Wave-1\n"
    "svc-batch,1,carol,5 jobs,,SAST,20,97%,,Wave-2\n"
    "svc-report,2,dan,3 jobs,,SAST,4,100%,,Wave-3\n"
)
CONFIG = Config.model_validate(
    {"cutover": {"go_live": GO_LIVE.isoformat()}, "waves": {"workbook": "workbook.csv"}}
)
MAX_AGE = {
    "prometheus": timedelta(seconds=60),
    "alertmanager": timedelta(seconds=60),
    "kubernetes": timedelta(seconds=90),
}
HEALTHY: dict[str, tuple[float, str]] = {
    "queue_wait_p95": (45.0, "s"),
    "success_rate": (0.993, "ratio"),
    "success_rate_7d": (0.991, "ratio"),
    "build_duration_mean": (600.0, "s"),
    "flake_rate": (0.005, "ratio"),
    "executor_saturation": (0.5, "ratio"),
    "cost_per_build": (0.4, "$"),
}


def rollout(name: str, **fields: object) -> RolloutStatus:
    values: dict[str, object] = {
        "namespace": "maestro-system",
        "name": name,
        "phase": RolloutPhase.PROGRESSING,
        "step": 2,
        "steps": 4,
        "weight": 25,
        "version": "1",
    }
    values.update(fields)
    return RolloutStatus(**values)  # type: ignore[arg-type]


ROLLOUTS = (
    rollout("maestro-api"),
    rollout("maestro-worker", phase=RolloutPhase.PAUSED, paused=True, pause_reason="manual"),
    rollout("maestro-ui", phase=RolloutPhase.HEALTHY, step=4, weight=100),
    rollout("maestro-scheduler", phase=RolloutPhase.DEGRADED, aborted=True),
    rollout("maestro-gateway", step=1, weight=10),
)


def waves(
    wave_1: WaveState = WaveState.ACTIVE,
    wave_1_since: datetime = GO_LIVE,
    wave_2: WaveState = WaveState.PLANNED,
    version: str = "5",
) -> WavesUpdate:
    return WavesUpdate(
        "kubernetes",
        (
            WaveStatus("Wave-1", wave_1, wave_1_since, "ops", "4"),
            WaveStatus("Wave-2", wave_2, GO_LIVE - timedelta(days=7), "ops", version),
        ),
        {},
        {},
        NOW,
        green_since=GO_LIVE,
    )


def calm_room(**wave_args: object) -> ControlRoom:
    """A room at T+3d: every input fresh, no alert, Wave-1 active and green since go-live."""
    room = ControlRoom(
        RoomSettings(
            name="Maestro cutover",
            go_live=GO_LIVE,
            kpis=kpi_specs(ThresholdsSection()),
            triggers=trigger_specs(CONFIG),
            green_period=GREEN_PERIOD,
            workbook=WORKBOOK,
            max_age=MAX_AGE,
        )
    )
    feed(room, NOW)
    room.apply(RolloutsUpdate("kubernetes", ROLLOUTS, NOW))
    room.apply(waves(**wave_args))  # type: ignore[arg-type]
    room.apply(FreezeUpdate("kubernetes", FreezeState(False, version="10"), NOW))
    return room


def feed(room: ControlRoom, at: datetime, **values: float) -> None:
    for name, (value, unit) in HEALTHY.items():
        reading = values.get(name, value)
        room.apply(SignalUpdate(Signal.measured(name, reading, unit, at, "prometheus")))
    room.apply(AlertsUpdate("alertmanager", (), at))


def frozen(room: ControlRoom) -> ControlRoom:
    state = FreezeState(
        True,
        by="alice",
        reason="queue p95 breach",
        at=NOW,
        paused_by_freeze=("maestro-system/maestro-api", "maestro-system/maestro-gateway"),
        version="11",
    )
    room.apply(FreezeUpdate("kubernetes", state, NOW))
    return room


def check(checks: tuple[Precondition, ...], check_id: str) -> Precondition:
    return next(c for c in checks if c.id == check_id)


def failed_ids(checks: tuple[Precondition, ...]) -> list[str]:
    return [c.id for c in checks if not c.ok]


# -- freeze and unfreeze ---------------------------------------------------------------


def test_freeze_names_every_rollout_it_will_pause() -> None:
    plan = plan_freeze(calm_room().evaluate(NOW), "alice", "queue p95 breach")
    assert plan.changes == (
        Change("cutover", "frozen", "false", "true"),
        Change("maestro-system/maestro-api", "paused", "false", "true"),
        Change("maestro-system/maestro-gateway", "paused", "false", "true"),
    )
    assert plan.reason == "queue p95 breach"


def test_freeze_is_confirmed_with_one_key() -> None:
    plan = plan_freeze(calm_room().evaluate(NOW), "alice", "drill")
    assert plan.confirm_name is None
    assert check_preconditions(plan, calm_room().evaluate(NOW))[0].ok


def test_freeze_when_already_frozen_is_unavailable() -> None:
    view = frozen(calm_room()).evaluate(NOW)
    with pytest.raises(ActionUnavailable, match="already frozen by alice"):
        plan_freeze(view, "bob", "again")


def test_unfreeze_resumes_only_what_the_freeze_paused_and_asks_for_the_word() -> None:
    plan = plan_unfreeze(frozen(calm_room()).evaluate(NOW), "alice")
    assert plan.changes == (
        Change("cutover", "frozen", "true", "false"),
        Change("maestro-system/maestro-api", "paused", "true", "false"),
        Change("maestro-system/maestro-gateway", "paused", "true", "false"),
    )
    assert plan.confirm_name == "unfreeze"


def test_unfreeze_when_not_frozen_is_unavailable() -> None:
    with pytest.raises(ActionUnavailable, match="not frozen"):
        plan_unfreeze(calm_room().evaluate(NOW), "alice")


def test_unfreeze_while_a_trigger_fires_needs_an_override() -> None:
    room = frozen(calm_room())
    room.apply(AlertsUpdate("alertmanager", (Alert("MaestroCriticalCVE"),), NOW))
    view = room.evaluate(NOW)
    checks = check_preconditions(plan_unfreeze(view, "alice"), view)
    assert failed_ids(checks) == ["no-trigger"]


def test_a_trigger_nobody_can_read_is_never_a_quiet_one() -> None:
    # Every input gone a minute past its age: the triggers are unknown, not quiet.
    room = frozen(calm_room())
    view = room.evaluate(NOW + max(MAX_AGE.values()) + timedelta(minutes=1))
    checks = check_preconditions(plan_unfreeze(view, "alice"), view)
    assert "no-trigger" in failed_ids(checks)
    assert check(checks, "no-trigger").detail.startswith("not known: ")


# -- waves --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "after"),
    [
        (WaveState.PLANNED, WaveState.CANARY),
        (WaveState.CANARY, WaveState.ACTIVE),
    ],
)
def test_promote_wave_moves_it_one_state_on(state: WaveState, after: WaveState) -> None:
    plan = plan_promote_wave(calm_room(wave_2=state).evaluate(NOW), "Wave-2", "alice")
    assert plan.kind is ActionKind.PROMOTE_WAVE
    assert plan.changes == (Change("Wave-2", "state", state.value, after.value),)
    assert plan.confirm_name == "Wave-2"
    assert plan.seen_versions == {"Wave-2": "5"}


def test_promote_active_wave_completes_it() -> None:
    plan = plan_promote_wave(calm_room().evaluate(NOW), "Wave-1", "alice")
    assert plan.changes == (Change("Wave-1", "state", "active", "complete"),)


@pytest.mark.parametrize("state", [WaveState.COMPLETE, WaveState.ROLLED_BACK])
def test_promote_wave_with_nothing_to_promote_is_unavailable(state: WaveState) -> None:
    view = calm_room(wave_2=state).evaluate(NOW)
    with pytest.raises(ActionUnavailable, match="nothing to promote"):
        plan_promote_wave(view, "Wave-2", "alice")


def test_promote_unknown_wave_is_unavailable() -> None:
    with pytest.raises(ActionUnavailable, match="no wave Wave-9"):
        plan_promote_wave(calm_room().evaluate(NOW), "Wave-9", "alice")


def test_roll_back_active_wave() -> None:
    plan = plan_roll_back_wave(calm_room().evaluate(NOW), "Wave-1", "alice")
    # The wave, and the wave after it: held until this one is replanned.
    assert plan.changes == (
        Change("Wave-1", "state", "active", "rolled-back"),
        Change("Wave-2", "next eligible", "now", "blocked: Wave-1 rolled back"),
    )
    assert plan.confirm_name == "Wave-1"


def test_promote_wave_passes_every_check_when_calm_and_green_long_enough() -> None:
    view = calm_room().evaluate(NOW)
    checks = check_preconditions(plan_promote_wave(view, "Wave-2", "alice"), view)
    assert blocking(checks, override="") == ()


def test_promote_wave_is_blocked_while_frozen() -> None:
    room = calm_room()
    view = room.evaluate(NOW)
    plan = plan_promote_wave(view, "Wave-2", "alice")
    live = frozen(room).evaluate(NOW)
    not_frozen = check(check_preconditions(plan, live), "not-frozen")
    assert not not_frozen.ok
    assert not_frozen.detail == "frozen by alice at 09:00: queue p95 breach; unfreeze first"
    assert not not_frozen.overridable


def test_promote_wave_is_blocked_while_a_trigger_is_pending() -> None:
    room = calm_room()
    feed(room, NOW, success_rate=0.97)
    view = room.evaluate(NOW)
    checks = check_preconditions(plan_promote_wave(view, "Wave-2", "alice"), view)
    no_trigger = check(checks, "no-trigger")
    assert not no_trigger.ok
    assert no_trigger.detail == "Success rate under target pending"


def test_promote_wave_is_blocked_while_a_trigger_fires() -> None:
    room = calm_room()
    room.apply(AlertsUpdate("alertmanager", (Alert("MaestroAuditFailure"),), NOW))
    view = room.evaluate(NOW)
    checks = check_preconditions(plan_promote_wave(view, "Wave-2", "alice"), view)
    assert check(checks, "no-trigger").detail == "Audit failure firing"


def test_promote_wave_is_blocked_while_an_input_is_stale() -> None:
    room = calm_room()
    # Cost per build last read two minutes ago; Prometheus readings are good for a minute.
    room.apply(
        SignalUpdate(
            Signal.measured("cost_per_build", 0.4, "$", NOW - timedelta(minutes=2), "prometheus")
        )
    )
    view = room.evaluate(NOW)
    checks = check_preconditions(plan_promote_wave(view, "Wave-2", "alice"), view)
    assert failed_ids(checks) == ["inputs-current"]
    assert check(checks, "inputs-current").detail == "not current: Cost/build"


def test_promote_wave_waits_until_the_previous_wave_is_green_for_the_green_period() -> None:
    room = calm_room(wave_1_since=NOW - timedelta(hours=10))
    view = room.evaluate(NOW)
    checks = check_preconditions(plan_promote_wave(view, "Wave-2", "alice"), view)
    green = check(checks, "green-period")
    assert not green.ok
    assert green.detail == "Wave-1 green for 1d 14h more"
    assert green.title == "green for 2d first"


def test_promote_wave_after_a_wave_still_in_canary_is_blocked() -> None:
    view = calm_room(wave_1=WaveState.CANARY).evaluate(NOW)
    checks = check_preconditions(plan_promote_wave(view, "Wave-2", "alice"), view)
    assert check(checks, "green-period").detail == "Wave-1 is canary"


def test_first_wave_waits_for_no_wave_before_it() -> None:
    view = calm_room(wave_1=WaveState.PLANNED).evaluate(NOW)
    checks = check_preconditions(plan_promote_wave(view, "Wave-1", "alice"), view)
    assert check(checks, "green-period").ok


# -- overriding, and the target changing under the operator --------------------------------


def test_override_reason_lets_overridable_failures_through() -> None:
    room = calm_room(wave_1_since=NOW - timedelta(hours=10))
    feed(room, NOW, success_rate=0.97)
    view = room.evaluate(NOW)
    checks = check_preconditions(plan_promote_wave(view, "Wave-2", "alice"), view)
    assert {c.id for c in blocking(checks, override="")} == {"no-trigger", "green-period"}
    assert blocking(checks, override="exec approved on the bridge") == ()


def test_whitespace_is_not_an_override_reason() -> None:
    room = calm_room(wave_1_since=NOW - timedelta(hours=10))
    view = room.evaluate(NOW)
    checks = check_preconditions(plan_promote_wave(view, "Wave-2", "alice"), view)
    assert [c.id for c in blocking(checks, override="   ")] == ["green-period"]


def test_target_changed_since_shown_blocks_even_with_an_override() -> None:
    room = calm_room()
    plan = plan_promote_wave(room.evaluate(NOW), "Wave-2", "alice")
    room.apply(waves(wave_2=WaveState.CANARY, version="6"))  # someone else promoted it
    checks = check_preconditions(plan, room.evaluate(NOW))
    (still,) = blocking(checks, override="I know what I am doing")
    assert still.id == "unchanged"
    assert not still.overridable
    assert "Wave-2" in still.detail


def test_freeze_changed_by_someone_else_blocks_the_freeze_plan() -> None:
    room = calm_room()
    plan = plan_freeze(room.evaluate(NOW), "bob", "drill")
    frozen(room)
    checks = check_preconditions(plan, room.evaluate(NOW))
    assert [c.id for c in blocking(checks, override="reason")] == ["unchanged"]


# -- rollouts ------------------------------------------------------------------------------


def test_abort_is_allowed_while_frozen_and_while_a_trigger_fires() -> None:
    room = frozen(calm_room())
    room.apply(AlertsUpdate("alertmanager", (Alert("MaestroCriticalCVE"),), NOW))
    view = room.evaluate(NOW)
    assert view.firing
    plan = plan_abort_rollout(view, "maestro-system/maestro-api", "alice")
    assert blocking(check_preconditions(plan, view), override="") == ()
    assert plan.changes == (
        Change("maestro-system/maestro-api", "phase", "Progressing", "Degraded"),
        Change("maestro-system/maestro-api", "weight", "25%", "0% (stable)"),
    )
    assert plan.confirm_name == "maestro-api"


@pytest.mark.parametrize("name", ["maestro-ui", "maestro-scheduler"], ids=["done", "aborted"])
def test_abort_of_a_done_or_aborted_rollout_is_unavailable(name: str) -> None:
    with pytest.raises(ActionUnavailable, match="nothing to abort"):
        plan_abort_rollout(calm_room().evaluate(NOW), f"maestro-system/{name}", "alice")


def test_promote_rollout_advances_one_step() -> None:
    plan = plan_promote_rollout(calm_room().evaluate(NOW), "maestro-system/maestro-api", "alice")
    assert plan.changes == (Change("maestro-system/maestro-api", "step", "2/4", "3/4"),)


def test_promote_paused_rollout_resumes_it() -> None:
    plan = plan_promote_rollout(calm_room().evaluate(NOW), "maestro-system/maestro-worker", "alice")
    # As the plugin: unpaused, and the step promoted as for a rollout not paused by hand.
    assert plan.changes == (
        Change("maestro-system/maestro-worker", "paused", "true", "false"),
        Change("maestro-system/maestro-worker", "step", "2/4", "3/4"),
    )


def test_promote_rollout_is_blocked_while_frozen() -> None:
    room = calm_room()
    plan = plan_promote_rollout(room.evaluate(NOW), "maestro-system/maestro-api", "alice")
    view = frozen(room).evaluate(NOW)
    assert failed_ids(check_preconditions(plan, view)) == ["not-frozen"]


def test_rollout_changed_since_shown_is_caught() -> None:
    room = calm_room()
    plan = plan_abort_rollout(room.evaluate(NOW), "maestro-system/maestro-api", "alice")
    moved = (rollout("maestro-api", step=3, version="2"), *ROLLOUTS[1:])
    room.apply(RolloutsUpdate("kubernetes", moved, NOW))
    checks = check_preconditions(plan, room.evaluate(NOW))
    assert failed_ids(checks) == ["unchanged"]


def test_plan_title_reads_as_the_action_and_its_target() -> None:
    plan = ActionPlan(ActionKind.PROMOTE_WAVE, "Wave-2", (), "alice")
    assert plan.title == "Promote wave Wave-2"


# -- what a promote and a rollback say they move ---------------------------------------------

#: The plan's canary: 10 → pause → 25 → pause → analysis → 50 → pause → 100.
CANARY_WEIGHTS = (0, 10, 10, 25, 25, 25, 50, 50, 100)


def staged(step: int, weight: int, **fields: object) -> RolloutStatus:
    values: dict[str, object] = {
        "namespace": "maestro-system",
        "name": "maestro-api",
        "phase": RolloutPhase.PAUSED,
        "step": step,
        "steps": 8,
        "weight": weight,
        "step_weights": CANARY_WEIGHTS,
        "paused": True,
        "pause_reason": "CanaryPauseStep",
    }
    values.update(fields)
    return RolloutStatus(**values)  # type: ignore[arg-type]


def test_promoting_a_canary_pause_names_the_step_and_the_weight() -> None:
    key = "maestro-system/maestro-api"
    assert promotion_changes(staged(5, 25)) == (
        Change(key, "paused", "true", "false"),
        Change(key, "step", "5/8", "6/8"),
        Change(key, "weight", "25 %", "50 %"),
    )


def test_a_promotion_that_keeps_the_weight_says_when_it_moves() -> None:
    changes = promotion_changes(staged(3, 25))
    assert changes[1] == Change("maestro-system/maestro-api", "step", "3/8", "4/8")
    assert changes[2].after == "25 % (unchanged; 50 % at step 6/8)"


def test_a_manual_pause_is_lifted_and_the_step_promoted_as_the_plugin_does() -> None:
    key = "maestro-system/maestro-api"
    changes = promotion_changes(staged(3, 25, pause_reason="manually paused"))
    assert changes[:2] == (
        Change(key, "paused", "true", "false"),
        Change(key, "step", "3/8", "4/8"),
    )


def test_rolling_back_a_wave_sends_its_repos_back_to_legacy() -> None:
    room = calm_room()
    on_maestro = WavesUpdate(
        "kubernetes", waves().statuses, {"svc-api": RepoState.MAESTRO}, {}, NOW, GO_LIVE
    )
    room.apply(on_maestro)
    view = room.evaluate(NOW)
    wave = view.wave("Wave-1")
    assert wave is not None and wave.on_maestro
    plan = plan_roll_back_wave(view, "Wave-1", "alice")
    moved = next(c for c in plan.changes if c.field == "repos on Maestro")
    assert moved.after == f"0/{wave.repos} ({wave.on_maestro} back to legacy)"


def test_a_wave_after_a_planned_one_says_what_ends_its_wait() -> None:
    view = calm_room(wave_1=WaveState.CANARY).evaluate(NOW)
    wave = view.wave("Wave-2")
    assert wave is not None and wave.waiting_for == "Wave-1 active +2d"


def test_a_wave_after_a_rolled_back_one_says_it_is_blocked() -> None:
    view = calm_room(wave_1=WaveState.ROLLED_BACK).evaluate(NOW)
    wave = view.wave("Wave-2")
    assert wave is not None and wave.waiting_for == "blocked: Wave-1 rolled back"
