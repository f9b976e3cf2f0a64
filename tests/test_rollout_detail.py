"""The rollout and wave details' pure parts: Argo's steps and runs read from the objects,
the current step, the journal's actions on a rollout, and the wave filter."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from maestro_control_room.cutover.argo import analysis_runs, canary_step, images, rollout_status
from maestro_control_room.cutover.rollout_detail import rollout_actions, step_lines
from maestro_control_room.cutover.rollouts import CanaryStep
from maestro_control_room.cutover.wave_detail import RepoLine, WaveDetail
from maestro_control_room.cutover.waves import RepoState, WaveProgress, WaveState


@pytest.mark.parametrize(
    ("step", "expected"),
    [
        ({"setWeight": 25}, CanaryStep("setWeight", weight=25)),
        ({"pause": {}}, CanaryStep("pause")),
        ({"pause": {"duration": "2m"}}, CanaryStep("pause", duration=timedelta(minutes=2))),
        ({"pause": {"duration": 90}}, CanaryStep("pause", duration=timedelta(seconds=90))),
        ({"pause": {"duration": "90"}}, CanaryStep("pause", duration=timedelta(seconds=90))),
        ({"pause": {"duration": "1h30m"}}, CanaryStep("pause", duration=timedelta(minutes=90))),
        ({"pause": {"duration": "soon"}}, CanaryStep("pause")),
        (
            {"analysis": {"templates": [{"templateName": "success-rate"}, {"x": 1}]}},
            CanaryStep("analysis", templates=("success-rate",)),
        ),
        ({"setCanaryScale": {"replicas": 1}}, CanaryStep("setCanaryScale")),
    ],
)
def test_a_canary_step_is_read_as_argo_writes_it(
    step: dict[str, Any], expected: CanaryStep
) -> None:
    assert canary_step(step) == expected


def _run(name: str, owner: str, phase: str | None, created: str | None, index: str) -> Any:
    meta: dict[str, Any] = {
        "name": name,
        "labels": {"rollout-type": "Step", "step-index": index},
        "ownerReferences": [{"kind": "Rollout", "name": owner}],
    }
    if created:
        meta["creationTimestamp"] = created
    return {"metadata": meta, "status": {"phase": phase} if phase else {}}


def test_a_rollouts_runs_are_its_own_oldest_first() -> None:
    rollout = {"metadata": {"name": "maestro-api"}}
    runs = [
        _run("api-2-6", "maestro-api", "Running", "2026-12-02T11:10:00Z", "6"),
        _run("other-4", "maestro-scheduler", "Failed", "2026-12-02T11:00:00Z", "4"),
        _run("api-2-4", "maestro-api", "Successful", "2026-12-02T11:00:00Z", "4"),
        _run("api-new", "maestro-api", None, None, "x"),
    ]
    found = analysis_runs(rollout, runs)
    assert [r.name for r in found] == ["api-2-4", "api-2-6", "api-new"]
    assert found[0].started == datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)
    assert (found[0].step, found[2].step, found[2].phase) == (4, None, "Pending")


def test_revision_and_images_come_from_the_rollout() -> None:
    obj = {
        "metadata": {"name": "a", "annotations": {"rollout.argoproj.io/revision": "7"}},
        "spec": {"template": {"spec": {"containers": [{"image": "x:1"}, {"image": "y:2"}]}}},
    }
    assert images(obj) == ("x:1", "y:2")
    status = rollout_status(obj)
    assert (status.revision, status.image) == ("7", "x:1, y:2")


def test_the_current_step_is_marked_and_the_weight_carried() -> None:
    obj = {
        "metadata": {"name": "a"},
        "spec": {"strategy": {"canary": {"steps": [
            {"setWeight": 10}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "5m"}},
        ]}}},
        "status": {"currentStepIndex": 1},
    }  # fmt: skip
    lines = step_lines(rollout_status(obj))
    assert [line.place for line in lines] == ["done", "current", "to do", "to do"]
    assert [line.weight for line in lines] == [10, 10, 50, 50]
    assert [line.what for line in lines][1:4:2] == ["pause until promoted", "pause 5m"]


def test_the_journals_actions_on_a_rollout_include_the_freeze_that_paused_it() -> None:
    operator = {"user": "alice", "host": "bastion"}
    entries = [
        {"kind": "intent", "seq": 1, "ts": "2026-12-02T11:00:00.000Z", "action": "freeze",
         "target": "cutover", "operator": operator,
         "changes": [{"target": "ns/api", "field": "paused", "before": "false", "after": "true"}]},
        {"kind": "result", "seq": 2, "intent_seq": 1, "ts": "2026-12-02T11:00:01.000Z",
         "action": "freeze", "target": "cutover", "operator": operator,
         "result": {"ok": True, "message": "done"}},
        {"kind": "intent", "seq": 3, "ts": "2026-12-02T11:05:00.000Z", "action": "abort rollout",
         "target": "ns/other", "operator": operator},
        {"kind": "intent", "seq": 4, "ts": "2026-12-02T11:06:00.000Z", "action": "abort rollout",
         "target": "ns/api", "operator": operator},
    ]  # fmt: skip
    actions = rollout_actions(entries, "ns/api")
    assert [(a.action, a.by) for a in actions] == [
        ("freeze", "alice@bastion"),
        ("abort rollout", "alice@bastion"),
    ]
    assert actions[0].outcome == "ok: done" and actions[1].outcome.startswith("NO RESULT")


def test_the_wave_filter_matches_every_word_in_any_field() -> None:
    def line(repo: str, owner: str, tier: int, state: RepoState, *blockers: str) -> RepoLine:
        return RepoLine(repo, state, 0.97, owner, tier, blockers)

    repos = (
        line("payments/api", "a.rivera", 0, RepoState.CANARY, "flaky test pack"),
        line("search/indexer", "d.murphy", 1, RepoState.SHADOW),
        line("payments/ledger", "n.ivanova", 1, RepoState.MAESTRO, "secrets in env vars"),
    )
    wave = WaveProgress("Wave-1", WaveState.ACTIVE, None, 3, 1, 0.97, (), None)
    detail = WaveDetail(wave, repos)
    names = lambda text: [r.repo for r in detail.matching(text)]  # noqa: E731
    assert names("") == [r.repo for r in repos]
    assert names("PAYMENTS blocked") == ["payments/api", "payments/ledger"]
    assert names("t1 secrets") == ["payments/ledger"]
    assert names("shadow") == ["search/indexer"]
    assert names("rivera flaky") == ["payments/api"]
    assert names("nothing-like-it") == []
