"""Sign-offs belong to their signers: `[signoffs]` names who may sign each role, anyone
else is refused before confirmation (and again at the pipeline), and the journal records
the identity the decision used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from maestro_control_room.cutover.actions import ActionKind, SignoffRefused, plan_sign_off
from maestro_control_room.cutover.config import SIGNOFF_ROLES, Config, signoff_policy
from maestro_control_room.cutover.pipeline import ActionPipeline, NotTheSigner
from maestro_control_room.cutover.signers import FROM_CLUSTER, Signer, SignoffPolicy, SignoffRule
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from tests.conftest import AppFactory, config_document
from tests.test_app import actions_done, started
from tests.test_gate_board import select
from tests.test_pipeline import OPERATOR, World, world  # noqa: F401 - the fixture

POLICY = SignoffPolicy(
    {
        "Security": SignoffRule(users=("sam",), groups=("security-leads",)),
        "Exec Sponsor": SignoffRule(users=("dana",)),
        "App Eng": SignoffRule(users=("sam",)),
    }
)


def everyone_but(**rules: dict[str, list[str]]) -> dict[str, Any]:
    """A `[signoffs]` table: `dana` for every role, except the ones given."""
    table: dict[str, Any] = {role: {"users": ["dana"]} for role in SIGNOFF_ROLES}
    table.update(rules)
    return table


# -- the rule ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signer", "ok"),
    [
        (Signer("sam"), True),
        (Signer("rui", ("security-leads",), FROM_CLUSTER), True),
        (Signer("rui", ("sre",), FROM_CLUSTER), False),
        (Signer("dana"), False),
        (None, False),
    ],
)
def test_a_role_is_signed_by_its_users_or_groups_only(signer: Signer | None, ok: bool) -> None:
    assert POLICY.may_sign("Security", signer)[0] is ok


def test_a_role_the_policy_does_not_name_is_nobodys() -> None:
    permitted, why = POLICY.may_sign("SRE", Signer("sam"))
    assert not permitted and "names no signer" in why


def test_without_signoffs_anyone_signs() -> None:
    assert SignoffPolicy().may_sign("Exec Sponsor", Signer("anyone"))[0]


# -- the config --------------------------------------------------------------------------


def test_signoffs_are_read_into_the_policy() -> None:
    document = config_document(signoffs=everyone_but(SRE={"groups": ["sre-oncall"]}))
    policy = signoff_policy(Config.model_validate(document))
    assert policy.rules["SRE"] == SignoffRule((), ("sre-oncall",))
    assert policy.rules["Exec Sponsor"] == SignoffRule(("dana",), ())


@pytest.mark.parametrize(
    ("signoffs", "expected"),
    [
        ({"Exec Sponser": {"users": ["dana"]}}, "'Exec Sponser' is not a sign-off role"),
        ({"Security": {"users": ["sam"]}}, "no signers for SRE, Platform"),
        (everyone_but(SRE={}), "at least one user or group"),
        (everyone_but(SRE={"users": "sam"}), "tuple"),
        (everyone_but(SRE={"user": ["sam"]}), "Extra inputs"),
    ],
)
def test_a_bad_signoffs_table_is_refused(signoffs: dict[str, Any], expected: str) -> None:
    with pytest.raises(ValidationError, match=expected):
        Config.model_validate(config_document(signoffs=signoffs))


# -- planning and the pipeline -------------------------------------------------------------


def test_planning_refuses_someone_else_before_any_confirmation(world: World) -> None:  # noqa: F811
    view = world.live()
    with pytest.raises(SignoffRefused, match="Exec Sponsor is signed by user dana; you are sam"):
        plan_sign_off(view, "Exec Sponsor", "sam", signer=Signer("sam"), policy=POLICY)
    plan = plan_sign_off(view, "App Eng", "sam", signer=Signer("sam"), policy=POLICY)
    assert plan.kind is ActionKind.SIGN_OFF and plan.signer == Signer("sam")
    # Withdrawing is the signers' too: dana signed Security, but may not sign it.
    with pytest.raises(SignoffRefused, match="Security is signed by user sam or group"):
        plan_sign_off(view, "Security", "dana", signer=Signer("dana"), policy=POLICY)


async def test_the_pipeline_refuses_a_plan_made_for_someone_else(
    world: World,  # noqa: F811 - the fixture
    tmp_path: Path,
) -> None:
    from maestro_control_room.sources.journal import AuditJournal

    journal = AuditJournal(tmp_path / "audit.jsonl")
    pipeline = ActionPipeline(
        world.effector, read_only=False, journal=journal, operator=OPERATOR, signoffs=POLICY
    )
    # Planned without the policy (another way in): the pipeline still checks.
    plan = plan_sign_off(world.live(), "Exec Sponsor", "sam", signer=Signer("sam"))
    with pytest.raises(NotTheSigner, match="signed by user dana"):
        await pipeline.execute(plan, world.live())
    assert not journal.path.exists(), "a refused sign-off is never journalled"
    assert world.simulator.signoffs().of("Exec Sponsor") is None


# -- through the App, with no cluster: the operator signs ----------------------------------


async def test_the_operator_signs_only_their_roles_and_the_journal_names_them(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(signoffs=everyone_but(**{"App Eng": {"users": ["tester"]}}))
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("g")
        select(app, "Sign-off/exec-sponsor")
        await pilot.press("s")
        assert not isinstance(app.screen, ConfirmScreen), "refused before confirmation"
        (refusal,) = [n for n in app._notifications if n.title == "Not yours to sign"]
        assert "Exec Sponsor is signed by user dana; you are tester" in refusal.message
        select(app, "Sign-off/app-eng")
        await pilot.press("s")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press(*"App Eng", "enter")
        await actions_done(app, pilot)
        assert app.view is not None and app.view.gates is not None
        signed = app.view.gates.signoffs.of("App Eng")
        assert signed is not None and signed.by == "tester"
    entries = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
    assert [(e["kind"], e["target"]) for e in entries] == [
        ("intent", "App Eng"),
        ("result", "App Eng"),
    ]
    assert entries[0]["signer"] == {"user": "tester", "groups": [], "source": "operator"}
