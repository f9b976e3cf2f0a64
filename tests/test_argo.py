"""Rollouts as the plugin shows them, and the plugin's patches: pure, on plain dicts."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from maestro_control_room.cutover.actions import ActionKind
from maestro_control_room.cutover.argo import (
    ABORT,
    PAUSE,
    RETRY,
    promote_full_patches,
    promote_patches,
    rollout_status,
    set_weight,
    with_version,
)
from maestro_control_room.cutover.cutover_configmap import (
    WaveMoveError,
    freeze_state,
    moved_waves,
    wave_statuses,
)
from maestro_control_room.cutover.permissions import AccessCheck, Permissions, action_permitted
from maestro_control_room.cutover.rollouts import RolloutPhase
from maestro_control_room.cutover.waves import WaveState

STEPS = [
    {"setWeight": 10},
    {"pause": {"duration": "2m"}},
    {"setWeight": 25},
    {"pause": {}},
    {"analysis": {"templates": [{"templateName": "success-rate"}]}},
    {"setWeight": 50},
]


def rollout(
    *, spec: dict[str, Any] | None = None, generation: int = 1, **status: Any
) -> dict[str, Any]:
    return {
        "metadata": {
            "name": "maestro-api",
            "namespace": "maestro-system",
            "generation": generation,
            "resourceVersion": "42",
        },
        "spec": {"replicas": 3, "strategy": {"canary": {"steps": STEPS}}, **(spec or {})},
        "status": {"observedGeneration": "1", "currentPodHash": "new", "stableRS": "old", **status},
    }


@pytest.mark.parametrize(
    ("obj", "phase", "message"),
    [
        (
            rollout(generation=2, phase="Healthy"),
            RolloutPhase.PROGRESSING,
            "waiting for rollout spec update to be observed",
        ),
        (
            rollout(controllerPause=True, phase="Paused"),
            RolloutPhase.PROGRESSING,
            "waiting for rollout to unpause",
        ),
        (
            rollout(
                phase="Paused",
                message="CanaryPauseStep",
                controllerPause=True,
                pauseConditions=[{"reason": "CanaryPauseStep"}],
            ),
            RolloutPhase.PAUSED,
            "CanaryPauseStep",
        ),
        (
            rollout(phase="Degraded", message="RolloutAborted: aborted", abort=True),
            RolloutPhase.DEGRADED,
            "RolloutAborted: aborted",
        ),
        # Before 1.0 the controller set no phase: the plugin calculates it.
        (
            rollout(
                conditions=[
                    {"type": "Progressing", "reason": "RolloutAborted", "message": "aborted"}
                ]
            ),
            RolloutPhase.DEGRADED,
            "RolloutAborted: aborted",
        ),
        (rollout(spec={"paused": True}), RolloutPhase.PAUSED, "manually paused"),
        (
            rollout(pauseConditions=[{"reason": "InconclusiveAnalysis"}]),
            RolloutPhase.PAUSED,
            "InconclusiveAnalysis",
        ),
        (
            rollout(currentStepIndex=6, currentPodHash="new", stableRS="new"),
            RolloutPhase.HEALTHY,
            "",
        ),
        (
            rollout(currentStepIndex=2),
            RolloutPhase.PROGRESSING,
            "waiting for all steps to complete",
        ),
        (rollout(updatedReplicas=1), RolloutPhase.PROGRESSING, "more replicas need to be updated"),
    ],
)
def test_phase_is_derived_as_the_plugin_derives_it(
    obj: dict[str, Any], phase: RolloutPhase, message: str
) -> None:
    status = rollout_status(obj)
    assert (status.phase, status.message) == (phase, message)


@pytest.mark.parametrize(
    ("status", "weight"),
    [
        ({"currentStepIndex": 0}, 10),
        ({"currentStepIndex": 1}, 10),  # a pause keeps the weight before it
        ({"currentStepIndex": 4}, 25),
        ({"currentStepIndex": 6}, 100),  # past the last step
        ({"currentStepIndex": 4, "abort": True}, 0),
        ({}, 10),  # no index yet: step 0
    ],
)
def test_set_weight_walks_back_from_the_current_step(status: dict[str, Any], weight: int) -> None:
    assert set_weight(rollout(**status)) == weight


def test_step_weight_pause_reasons_analysis_and_version() -> None:
    obj = rollout(
        currentStepIndex=4,
        phase="Paused",
        spec={"paused": True},
        pauseConditions=[{"reason": "InconclusiveAnalysis"}],
        canary={
            "weights": {"canary": {"weight": 20}},
            "currentStepAnalysisRunStatus": {"name": "run-4", "status": "Running"},
        },
    )
    runs = [{"metadata": {"name": "run-4"}, "status": {"phase": "Inconclusive"}}]
    status = rollout_status(obj, runs)
    assert (status.step, status.steps) == (4, 6)
    assert status.weight == 20  # the router's actual weight wins over setWeight (25)
    assert status.pause_reason == "manually paused, InconclusiveAnalysis"
    assert status.analysis == "Inconclusive"  # the run's own phase is fresher
    assert status.paused and not status.aborted
    assert status.version == "42"
    assert status.key == "maestro-system/maestro-api"


def test_analysis_found_by_step_label_when_the_rollout_names_no_run() -> None:
    runs = [
        {
            "metadata": {
                "name": "x",
                "labels": {"rollout-type": "Step", "step-index": "4"},
                "ownerReferences": [{"name": "maestro-api"}],
            },
            "status": {"phase": "Running"},
        }
    ]
    assert rollout_status(rollout(currentStepIndex=4), runs).analysis == "Running"
    assert rollout_status(rollout(currentStepIndex=3), runs).analysis == ""


@pytest.mark.parametrize(
    ("obj", "sent"),
    [
        # paused by hand at a pause step: the plugin clears the conditions, then unpauses
        (
            rollout(spec={"paused": True}, pauseConditions=[{"reason": "CanaryPauseStep"}]),
            [("status", {"status": {"pauseConditions": None}}), ("", {"spec": {"paused": False}})],
        ),
        # paused by hand with no pause conditions: the plugin also skips the current step
        (
            rollout(spec={"paused": True}, currentStepIndex=2),
            [
                ("status", {"status": {"pauseConditions": None, "currentStepIndex": 3}}),
                ("", {"spec": {"paused": False}}),
            ],
        ),
        (
            rollout(
                currentStepIndex=3,
                pauseConditions=[{"reason": "CanaryPauseStep"}],
                controllerPause=True,
            ),
            [("status", {"status": {"pauseConditions": None}})],
        ),
        (
            rollout(
                currentStepIndex=4,
                controllerPause=True,
                pauseConditions=[{"reason": "InconclusiveAnalysis"}],
                canary={"currentStepAnalysisRunStatus": {"name": "r", "status": "Inconclusive"}},
            ),
            [
                (
                    "status",
                    {
                        "status": {
                            "pauseConditions": None,
                            "controllerPause": False,
                            "currentStepIndex": 5,
                        }
                    },
                )
            ],
        ),
        # mid-analysis, no pause: the plugin skips the step
        (
            rollout(currentStepIndex=4),
            [("status", {"status": {"pauseConditions": None, "currentStepIndex": 5}})],
        ),
        (
            rollout(currentStepIndex=6),
            [("status", {"status": {"pauseConditions": None, "currentStepIndex": 6}})],
        ),
    ],
)
def test_promote_sends_the_plugins_patches_in_its_order(
    obj: dict[str, Any], sent: list[tuple[str, dict[str, Any]]]
) -> None:
    assert [(patch.subresource, patch.body) for patch in promote_patches(obj)] == sent


def test_full_pause_abort_retry_patches_and_the_version_precondition() -> None:
    (full,) = promote_full_patches(rollout())
    assert (full.subresource, full.body) == ("status", {"status": {"promoteFull": True}})
    assert promote_full_patches(rollout(stableRS="new")) == ()
    assert (PAUSE.subresource, PAUSE.body) == ("", {"spec": {"paused": True}})
    assert (ABORT.subresource, ABORT.body) == ("status", {"status": {"abort": True}})
    assert (RETRY.subresource, RETRY.body) == ("status", {"status": {"abort": False}})
    assert with_version(ABORT.body, "7") == {
        "status": {"abort": True},
        "metadata": {"resourceVersion": "7"},
    }


def test_the_configmap_reads_into_freeze_and_wave_states() -> None:
    data = {
        "frozen": "true",
        "frozen_by": "alice",
        "frozen_at": "2026-12-01T09:00:00Z",
        "freeze_reason": "brownout",
        "paused_by_freeze": '["maestro-system/maestro-api"]',
        "waves": '{"Wave-1": {"state": "active", "since": "2026-12-01T08:00:00Z", "by": "bob"},'
        ' "Wave-2": {"state": "bogus"}}',
    }
    freeze = freeze_state(data, "9")
    assert freeze.frozen and freeze.by == "alice" and freeze.reason == "brownout"
    assert freeze.at == datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    assert freeze.paused_by_freeze == ("maestro-system/maestro-api",)
    assert freeze.version == "9"
    (wave,) = wave_statuses(data, "9")
    assert (wave.wave, wave.state, wave.by, wave.version) == (
        "Wave-1",
        WaveState.ACTIVE,
        "bob",
        "9",
    )
    assert freeze_state({"paused_by_freeze": "not json"}, "1").paused_by_freeze == ()


def test_waves_move_planned_canary_active_complete_or_roll_back() -> None:
    at = datetime(2026, 12, 2, tzinfo=timezone.utc)
    data: dict[str, str] = {}
    states = []
    for _ in range(3):
        before, after, data = moved_waves(data, "Wave-2", False, "carol", at)
        states.append((before.value, after.value))
    assert states == [("planned", "canary"), ("canary", "active"), ("active", "complete")]
    with pytest.raises(WaveMoveError):
        moved_waves(data, "Wave-2", False, "carol", at)
    _, after, data = moved_waves({}, "Wave-3", False, "carol", at)
    _, after, data = moved_waves(data, "Wave-3", True, "carol", at)
    assert after is WaveState.ROLLED_BACK
    assert '"by": "carol"' in data["waves"] and '"since": "2026-12-02T00:00:00Z"' in data["waves"]


def test_a_forbidden_verb_disables_the_actions_that_need_it() -> None:
    permissions = Permissions(
        (
            AccessCheck("patch", "configmaps", "maestro-system", True),
            AccessCheck("patch", "rollouts", "maestro-system", True),
            AccessCheck("patch", "rollouts/status", "maestro-system", False, "no RBAC rule"),
        ),
        ("maestro-system",),
        "maestro-system",
    )
    ok, reason = action_permitted(ActionKind.ABORT_ROLLOUT, permissions, "maestro-system/api")
    assert not ok
    assert reason == "forbidden: patch rollouts/status in maestro-system (no RBAC rule)"
    assert not action_permitted(ActionKind.PROMOTE_ROLLOUT, permissions)[0]
    assert action_permitted(ActionKind.FREEZE, permissions) == (True, "")
    assert action_permitted(ActionKind.PROMOTE_WAVE, permissions) == (True, "")
    assert action_permitted(ActionKind.FREEZE, None)[0]  # unknown: the server decides


def test_promote_full_on_a_rollout_paused_by_hand_also_unpauses() -> None:
    """The controller halts on `spec.paused` before it looks at `promoteFull`."""
    patches = promote_full_patches(rollout(spec={"paused": True}))
    assert [(patch.subresource, patch.body) for patch in patches] == [
        ("status", {"status": {"promoteFull": True}}),
        ("", {"spec": {"paused": False}}),
    ]
    # the fallback for a CRD without the status subresource carries both
    assert patches[0].unified == {"spec": {"paused": False}, "status": {"promoteFull": True}}
    # fully promoted already, but paused: only the unpause is left
    done = promote_full_patches(rollout(spec={"paused": True}, stableRS="new"))
    assert [(patch.subresource, patch.body) for patch in done] == [
        ("", {"spec": {"paused": False}})
    ]
