"""The control room on a cluster: the fake API server behind the real client, driven from
the keyboard as an operator would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maestro_control_room.cutover.config import SIGNOFF_ROLES, Config
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.build import build_app
from maestro_control_room.tui.configfile import LoadedConfig
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.widgets.header import FreezeBanner, HealthRow
from maestro_control_room.widgets.rollouts import RolloutBoard
from maestro_control_room.widgets.table import KeyedTable
from tests.conftest import CONFIG, config_document
from tests.kube_fake import CONFIGMAPS, ROLLOUTS, FakeKube, canary_rollout
from tests.kube_harness import running_fake, seed_configmap
from tests.realstack import until

API = "maestro-system/maestro-api"


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    with running_fake() as fake:
        fake.put(ROLLOUTS, canary_rollout("maestro-api"))
        fake.put(ROLLOUTS, canary_rollout("executor-controller", "maestro-runners"))
        seed_configmap(fake)
        yield fake


def on_cluster(kube: FakeKube, tmp_path: Path, **kubernetes: Any) -> ControlRoomApp:
    actions = kubernetes.pop("actions", {})
    signoffs = kubernetes.pop("signoffs", {})
    document = config_document(
        sources__sim={"enabled": False},
        sources__kubernetes={
            "enabled": True,
            "kubeconfig": str(kube.write_kubeconfig(tmp_path / "kubeconfig")),
            "namespaces": ["maestro-system", "maestro-runners"],
            **kubernetes,
        },
        audit={"path": str(tmp_path / "audit.jsonl")},
        actions=actions,
        ui={"refresh": "200ms"},
        signoffs=signoffs,
    )
    return build_app(LoadedConfig(Config.model_validate(document), CONFIG), operator="alice")


async def test_freeze_from_the_keyboard_lands_in_the_cluster(
    kube: FakeKube, tmp_path: Path
) -> None:
    app = on_cluster(kube, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: (
                app.view is not None and len(app.view.rollouts) == 2 and app.view.freeze.version
            ),
            "the rollouts and the cutover ConfigMap on screen",
        )
        await pilot.press("f")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("enter")
        banner = app.query_one(FreezeBanner)
        await until(pilot, lambda: "FROZEN by alice" in str(banner.render()), "the banner")
        # The ConfigMap is written first, the rollouts paused after: let the action finish.
        actions = [w for w in app.workers if w.group == "actions"]
        if actions:
            await app.workers.wait_for_complete(actions)
        data = kube.get(CONFIGMAPS, "maestro-system", "maestro-cutover")["data"]
        assert data["frozen"] == "true" and data["frozen_by"] == "alice"
        for namespace, name in (("maestro-system", "maestro-api"),
                                ("maestro-runners", "executor-controller")):  # fmt: skip
            assert kube.get(ROLLOUTS, namespace, name)["spec"]["paused"] is True
        journal = (tmp_path / "audit.jsonl").read_text().splitlines()
        assert [line.count('"kind":"intent"') for line in journal] == [1, 0]


async def test_a_forbidden_verb_is_shown_and_refused_before_confirmation(
    kube: FakeKube, tmp_path: Path
) -> None:
    kube.forbid("patch", "rollouts/status", "maestro-system")
    app = on_cluster(kube, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        health = app.query_one(HealthRow)
        await until(
            pilot, lambda: "may not: patch rollouts/status" in str(health.render()), "may not"
        )
        board = app.query_one(RolloutBoard)
        board.focus()
        await until(pilot, lambda: board.row_count == 2, "the rollouts")
        board.move_cursor(row=1)
        assert board.selected_key == API
        await pilot.press("x")
        assert not isinstance(app.screen, ConfirmScreen)
        texts = [n.message for n in app._notifications]
        assert any("forbidden: patch rollouts/status" in text for text in texts), texts


async def test_a_move_forbidden_while_frozen_is_refused_as_forbidden_not_as_frozen(
    kube: FakeKube, tmp_path: Path
) -> None:
    """Who may not promote at all is told so, not sent to unfreeze, which they may not do."""
    kube.forbid("patch", "rollouts/status", "maestro-system")
    kube.forbid("patch", "configmaps", "maestro-system")

    def frozen(obj: dict[str, Any]) -> None:
        obj["data"].update(frozen="true", frozen_by="bob", freeze_reason="drill")

    kube.modify(CONFIGMAPS, "maestro-system", "maestro-cutover", frozen)
    app = on_cluster(kube, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: app.view is not None and app.view.permissions is not None,
            "who may do what",
        )
        await until(pilot, lambda: app.view is not None and app.view.freeze.frozen, "frozen")
        board = app.query_one(RolloutBoard)
        board.focus()
        await until(pilot, lambda: board.row_count == 2, "the rollouts")
        board.move_cursor(row=1)
        await pilot.press("p")
        assert not isinstance(app.screen, ConfirmScreen)
        titles = [n.title for n in app._notifications]
        assert "promote rollout: not permitted" in titles, titles
        assert "Frozen" not in titles


async def test_a_read_only_context_makes_the_room_read_only(kube: FakeKube, tmp_path: Path) -> None:
    app = on_cluster(kube, tmp_path, context="viewer", actions={"read_only_contexts": ["view*"]})
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None and len(app.view.rollouts) == 2, "rollouts")
        assert app.read_only_mode
        assert "READ-ONLY" in str(app.query_one("#header").render())
        await pilot.press("f")
        assert not isinstance(app.screen, ConfirmScreen)


async def test_sign_off_and_withdraw_from_the_gate_board(kube: FakeKube, tmp_path: Path) -> None:
    app = on_cluster(kube, tmp_path)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: (
                app.view is not None
                and app.view.gates
                and app.view.gates.signoffs.version
                and app.view.permissions is not None
            ),
            "the sign-offs from the cutover ConfigMap, and who signs",
        )
        await pilot.press("g")
        table = app.screen.query_one("#gate-table", KeyedTable)
        table.move_cursor(row=table._order.index("Sign-off/sre"))
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        # The role's name first (where the focus is), then the note above it.
        await pilot.press(*"SRE", "shift+tab", *"after the DR drill", "enter")
        await until(
            pilot,
            lambda: (g := app.view.gates) is not None and g.signoffs.of("SRE") is not None,  # type: ignore[union-attr]
            "SRE signed on the board",
        )
        data = kube.get(CONFIGMAPS, "maestro-system", "maestro-cutover")["data"]
        record = json.loads(data["signoffs"])["SRE"]
        # Signed as the cluster names the signer (SelfSubjectReview), not as the app's
        # operator name says.
        assert record["by"] == "operator" and record["note"] == "after the DR drill"
        row = str(table._rows["Sign-off/sre"][2])
        assert row == "signed by operator"
        # `s` again on a signed role withdraws it, through the same confirmation.
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"SRE", "enter")
        await until(
            pilot,
            lambda: (g := app.view.gates) is not None and g.signoffs.of("SRE") is None,  # type: ignore[union-attr]
            "SRE unsigned on the board",
        )
        assert "SRE" not in json.loads(
            kube.get(CONFIGMAPS, "maestro-system", "maestro-cutover")["data"]["signoffs"]
        )
        entries = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
        assert [(e["kind"], e["action"], e["target"]) for e in entries] == [
            ("intent", "sign off", "SRE"),
            ("result", "sign off", "SRE"),
            ("intent", "withdraw sign-off", "SRE"),
            ("result", "withdraw sign-off", "SRE"),
        ]
        assert entries[0]["reason"] == "after the DR drill"
        signer = {
            "user": "operator",
            "groups": ["maestro-cutover-operators", "system:authenticated"],
            "source": "cluster",
        }
        assert entries[0]["signer"] == entries[1]["signer"] == signer


async def test_only_a_roles_signers_may_sign_it_as_the_cluster_names_them(
    kube: FakeKube, tmp_path: Path
) -> None:
    # alice is the app's operator name; the cluster says the token is `operator`, in the
    # group maestro-cutover-operators. The cluster's word decides.
    signers = {role: {"users": ["dana"]} for role in SIGNOFF_ROLES}
    signers["SRE"] = {"groups": ["maestro-cutover-operators"]}
    signers["Security"] = {"users": ["alice"]}
    app = on_cluster(kube, tmp_path, signoffs=signers)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: (
                app.view is not None
                and app.view.gates
                and app.view.gates.signoffs.version
                and app.view.permissions is not None
            ),
            "the sign-offs and who signs",
        )
        await pilot.press("g")
        table = app.screen.query_one("#gate-table", KeyedTable)
        for role in ("security", "exec-sponsor"):
            table.move_cursor(row=table._order.index(f"Sign-off/{role}"))
            await pilot.press("s")
            assert not isinstance(app.screen, ConfirmScreen), f"{role}: refused before confirming"
        refusals = [n.message for n in app._notifications if n.title == "Not yours to sign"]
        assert len(refusals) == 2
        assert (
            "Security is signed by user alice; you are operator, groups maestro-cutover-operators"
            in (refusals[0])
        )
        assert "cluster's SelfSubjectReview" in refusals[0]
        assert "Exec Sponsor is signed by user dana" in refusals[1]
        table.move_cursor(row=table._order.index("Sign-off/sre"))
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen), "a member of the operators signs SRE"
        await pilot.press(*"SRE", "enter")
        await until(
            pilot,
            lambda: (g := app.view.gates) is not None and g.signoffs.of("SRE") is not None,  # type: ignore[union-attr]
            "SRE signed on the board",
        )
    data = kube.get(CONFIGMAPS, "maestro-system", "maestro-cutover")["data"]
    assert set(json.loads(data["signoffs"])) == {"SRE"}
    entries = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [e["target"] for e in entries] == ["SRE", "SRE"], "refusals change nothing"
    assert entries[0]["signer"]["groups"] == ["maestro-cutover-operators", "system:authenticated"]


async def test_a_wrong_shaped_configmap_is_shown_and_the_source_recovers(
    kube: FakeKube, tmp_path: Path
) -> None:
    """A value the watch cannot read ends the source's run; the supervisor shows why and
    runs it again, and once the ConfigMap is right the source is back by itself."""
    app = on_cluster(kube, tmp_path)
    health = lambda: str(app.query_one(HealthRow).render())  # noqa: E731
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: "kubernetes ok" in health(), "the cluster watched")

        def number(obj: dict[str, Any]) -> None:
            obj["data"]["frozen"] = 1

        def text(obj: dict[str, Any]) -> None:
            obj["data"]["frozen"] = "false"

        kube.modify(CONFIGMAPS, "maestro-system", "maestro-cutover", number)
        wrong = (
            "kubernetes error: ValueError: ConfigMap maestro-system/maestro-cutover:"
            " data.frozen is int, not a string; restarting in"
        )
        await until(pilot, lambda: wrong in health(), "the wrong value named")
        kube.modify(CONFIGMAPS, "maestro-system", "maestro-cutover", text)
        await until(pilot, lambda: "kubernetes ok" in health(), "the source back by itself")


async def test_an_operator_freezes_promotes_aborts_and_signs_off_on_the_strict_cluster(
    kube: FakeKube, tmp_path: Path
) -> None:
    """Under the docs' operator Role, every action the room offers lands, and nothing the
    room sends is refused."""
    kube.settle("maestro-system", "maestro-api")  # at the 2m pause step
    app = on_cluster(kube, tmp_path, context="operator")
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: (
                app.view is not None
                and (r := app.view.rollout(API)) is not None
                and r.pause_reason == "CanaryPauseStep"
                and app.view.gates is not None
                and app.view.gates.signoffs.version
            ),
            "the paused rollout and the sign-offs",
        )
        board = app.query_one(RolloutBoard)
        board.focus()
        board.move_cursor(row=1)
        await pilot.press("p")
        assert isinstance(app.screen, ConfirmScreen)
        # No Prometheus here, so the room's inputs are not current: a reason overrides.
        await pilot.press(*"maestro-api", "shift+tab", *"canary clean", "enter")
        await until(
            pilot,
            lambda: (
                "pauseConditions"
                not in kube.get(ROLLOUTS, "maestro-system", "maestro-api")["status"]
            ),
            "the promote in the cluster",
        )
        board.move_cursor(row=0)
        await pilot.press("x")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"executor-controller", "shift+tab", *"bad canary", "enter")
        await until(
            pilot,
            lambda: kube.get(ROLLOUTS, "maestro-runners", "executor-controller")["status"].get(
                "abort"
            ),
            "the abort in the cluster",
        )
        await pilot.press("g")
        table = app.screen.query_one("#gate-table", KeyedTable)
        table.move_cursor(row=table._order.index("Sign-off/sre"))
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"SRE", "enter")
        await until(
            pilot,
            lambda: (
                "SRE"
                in kube.get(CONFIGMAPS, "maestro-system", "maestro-cutover")["data"]["signoffs"]
            ),
            "the sign-off in the cluster",
        )
        # The freeze carries the ConfigMap version the room has seen: frozen before the
        # sign-off's watch event arrives, it is refused as changed since you looked.
        await until(
            pilot,
            lambda: (g := app.view.gates) is not None and g.signoffs.of("SRE") is not None,  # type: ignore[union-attr]
            "SRE signed on the board",
        )
        await pilot.press("escape")
        await pilot.press("f")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"registry brownout", "enter")
        await until(
            pilot,
            lambda: (
                kube.get(CONFIGMAPS, "maestro-system", "maestro-cutover")["data"]["frozen"]
                == "true"
            ),
            "the freeze in the cluster",
        )
        actions = [w for w in app.workers if w.group == "actions"]
        if actions:
            await app.workers.wait_for_complete(actions)
    assert kube.get(ROLLOUTS, "maestro-system", "maestro-api")["spec"]["paused"] is True
    assert {r.user for r in kube.requests} == {"operator"}
    # Refused by RBAC: nothing (the gate checks' 404s are the CRDs this cluster lacks).
    assert [(r.method, r.path) for r in kube.requests if r.status in (401, 403)] == []
    writes = [r for r in kube.requests if r.method == "PATCH"]
    assert writes and {r.status for r in writes} == {200}
    assert {r.query.get("fieldManager") for r in writes} == {"maestro-control-room"}
    entries = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    results = [(e["action"], e["target"]) for e in entries if e["kind"] == "result"]
    assert results == [
        ("promote rollout", API),
        ("abort rollout", "maestro-runners/executor-controller"),
        ("sign off", "SRE"),
        ("freeze", "cutover"),
    ]


async def test_enter_on_a_rollout_shows_its_analysis_runs_revision_and_actions_from_the_cluster(
    kube: FakeKube, tmp_path: Path
) -> None:
    from maestro_control_room.tui.screens.rollout_detail import RolloutDetailScreen
    from tests.test_details import select, shown

    def to_analysis(rollout: dict[str, Any]) -> None:
        rollout["status"]["currentStepIndex"] = 4

    kube.modify(ROLLOUTS, "maestro-system", "maestro-api", to_analysis)
    kube.reconcile("maestro-system", "maestro-api")  # the analysis step starts its run
    run = "maestro-api-canary-4"
    kube.set_analysis("maestro-system", run, "Inconclusive", "success-rate 97.1% < 98%")
    kube.reconcile("maestro-system", "maestro-api")  # paused: InconclusiveAnalysis
    app = on_cluster(kube, tmp_path)
    async with app.run_test(size=(120, 36)) as pilot:
        await until(
            pilot,
            lambda: app.view is not None and (r := app.view.rollout(API)) is not None
            and r.analysis_runs,
            "the rollout and its analysis run",
        )  # fmt: skip
        await select(pilot, app.query_one(RolloutBoard), API)
        await pilot.press("x", *"maestro-api", "enter")
        await until(
            pilot,
            lambda: (r := app.view.rollout(API)) is not None and r.aborted,  # type: ignore[union-attr]
            "the abort on the cluster",
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, RolloutDetailScreen), "the detail")
        screen = app.screen
        await until(
            pilot,
            lambda: "abort rollout" in shown(screen.query_one("#rollout-actions")),
            "the journalled abort",
        )
        head = shown(screen.query_one("#rollout-headline"))
        assert "revision 2" in head and "ghcr.io/intelgraph/maestro-api:2.14.0" in head
        runs = shown(screen.query_one("#rollout-runs"))
        assert run in runs and "Inconclusive" in runs and "success-rate 97.1% < 98%" in runs
        assert "step  4" in runs
        steps = shown(screen.query_one("#rollout-steps"))
        assert "pause 2m" in steps and "pause until promoted" in steps and "pause 5m" in steps
        assert "▶  4  analysis (success-rate)" in steps
        assert "by alice@" in shown(screen.query_one("#rollout-actions"))
