"""The GitHub Actions source and the workflow dispatch, against a loopback server speaking
GitHub's REST shapes (tests/github_fake.py): deploys and their evidence, ETags, rate limits,
the token, and a dispatch from the keyboard that reaches "GitHub" after its intent entry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from maestro_control_room.cutover.actions import (
    CD_DRY_RUN,
    SMOKE_SUITE,
    ActionKind,
    RoutingEffector,
    plan_dispatch,
)
from maestro_control_room.cutover.audit import AuditEntry, AuditRecord
from maestro_control_room.cutover.config import Config, GithubSection, room_settings
from maestro_control_room.cutover.pipeline import ActionPipeline, ReadOnly
from maestro_control_room.cutover.room import ControlRoom, RoomView
from maestro_control_room.cutover.smoke import DeployRun, VerificationUpdate
from maestro_control_room.cutover.updates import HealthState, SourceHealth
from maestro_control_room.sources.github_actions import (
    GithubActionsSource,
    GithubSettings,
    WorkflowDispatcher,
    build_github,
    rate_limit_wait,
    read_title,
)
from maestro_control_room.sources.journal import AuditJournal, read_journal
from maestro_control_room.sources.secrets import SecretError
from maestro_control_room.sources.workbook import load_workbook
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from tests.conftest import CONFIG, AppFactory, config_document
from tests.github_fake import FakeGithub, artifact, running, workflow_run
from tests.realstack import until

REPO = "octo-org/octo-repo"
DIGEST = "ghcr.io/brianclong/maestro-control-plane@sha256:" + "5e" * 32


def serving() -> FakeGithub:
    fake = FakeGithub()
    fake.runs["cd.yml"] = [
        workflow_run(101, "cd.yml", "deploy prod v2.14.1", started="2026-12-02T09:00:00Z"),
        workflow_run(102, "cd.yml", f"deploy prod {DIGEST}", actor="dana",
                     started="2026-12-02T10:00:00Z"),
        workflow_run(103, "cd.yml", "deploy staging main no_op", status="in_progress",
                     conclusion=None, started="2026-12-02T11:00:00Z"),
    ]  # fmt: skip
    fake.runs["auto-pin-and-deploy.yml"] = [
        workflow_run(201, "auto-pin-and-deploy.yml", "deploy staging v2.15.0",
                     conclusion="failure", started="2026-12-02T08:00:00Z"),
    ]  # fmt: skip
    fake.artifacts[101] = [artifact(1, "witness-prod", 101), artifact(2, "cosign-verify-prod", 101),
                           artifact(3, "sbom-spdx", 101)]  # fmt: skip
    fake.artifacts[102] = [artifact(4, "witness-prod", 102),
                           artifact(5, "cosign-verify-prod", 102, expired=True)]  # fmt: skip
    return fake


@pytest.fixture
def github() -> Iterator[FakeGithub]:
    with running(serving()) as fake:
        yield fake


def section(fake: FakeGithub, **extra: Any) -> GithubSection:
    return GithubSection(enabled=True, url=fake.url, repository=REPO, token_env="GH_TOKEN",
                         refresh=timedelta(seconds=60), **extra)  # fmt: skip


def source_for(fake: FakeGithub) -> GithubActionsSource:
    return build_github(section(fake), {"GH_TOKEN": fake.token})[0]


def deploys(updates: list[Any]) -> dict[str, DeployRun]:
    found = [u for u in updates if isinstance(u, VerificationUpdate)]
    return {d.run_id: d for u in found for d in u.deploys}


async def test_runs_become_deploys_with_the_evidence_their_artifacts_show(
    github: FakeGithub,
) -> None:
    source = source_for(github)
    updates, wait = await source.poll()
    assert wait == 60
    assert updates[-1] == SourceHealth("github", HealthState.CONNECTED, updates[-1].at)  # type: ignore[union-attr]
    found = deploys(updates)
    assert set(found) == {"101", "102", "103", "201"}
    first = found["101"]
    assert (first.env, first.ref, first.actor, first.result) == ("prod", "v2.14.1", "octocat",
                                                                  "success")  # fmt: skip
    assert (first.witness, first.cosign_verified, first.sbom) == (True, True, True)
    assert first.url == f"https://github.com/{REPO}/actions/runs/101"
    # An expired artifact is no evidence: it can no longer be checked.
    second = found["102"]
    assert (second.ref, second.witness, second.cosign_verified, second.sbom) == (
        DIGEST, True, False, False
    )  # fmt: skip
    running_run = found["103"]
    assert (running_run.result, running_run.no_op, running_run.witness) == (
        "in_progress",
        True,
        None,
    )
    assert found["201"].workflow == "auto-pin-and-deploy.yml" and found["201"].result == "failure"
    # Every request named the API version and carried the token.
    assert all(r.headers["X-GitHub-Api-Version"] == "2022-11-28" for r in github.requests)
    assert all(r.headers["Authorization"] == "Bearer ghp_test" for r in github.requests)
    await source.api.client.aclose()


async def test_an_unchanged_list_is_a_304_that_costs_no_quota(github: FakeGithub) -> None:
    source = source_for(github)
    first, _ = await source.poll()
    quota = github.quota
    asked = len(github.requests)
    second, _ = await source.poll()
    new = github.requests[asked:]
    # The runs lists again, with their ETags; artifacts of finished runs are not asked again.
    assert [r.path.split("?")[0].rsplit("/", 2)[-2] for r in new] == [
        "cd.yml", "auto-pin-and-deploy.yml"
    ]  # fmt: skip
    assert all(r.headers.get("If-None-Match", "").startswith('W/"') for r in new)
    assert github.quota == quota and source.api.not_modified == 2
    assert deploys(second) == deploys(first)
    # A change is seen: the ETag no longer matches.
    github.runs["cd.yml"][2] = workflow_run(103, "cd.yml", "deploy staging main no_op",
                                            started="2026-12-02T11:00:00Z")  # fmt: skip
    third, _ = await source.poll()
    assert deploys(third)["103"].result == "success"
    await source.api.client.aclose()


async def test_a_primary_rate_limit_waits_until_the_reset_and_loses_nothing(
    github: FakeGithub,
) -> None:
    config = Config.model_validate(config_document())
    room = ControlRoom(room_settings(config, load_workbook(CONFIG.parent / config.waves.workbook)))
    source = source_for(github)
    updates, _ = await source.poll()
    for update in updates:
        room.apply(update)
    github.limits.append(("primary", 40))
    limited, wait = await source.poll()
    health = limited[-1]
    assert isinstance(health, SourceHealth) and health.state is HealthState.ERROR
    assert "rate limited (quota exhausted until" in health.reason
    assert 30 <= wait <= 40
    # Until the reset, nothing is asked at all.
    asked = len(github.requests)
    again, wait_again = await source.poll()
    assert len(github.requests) == asked and wait_again <= wait
    assert "quota exhausted until" in again[-1].reason  # type: ignore[union-attr]
    for update in [*limited, *again]:
        room.apply(update)
    # What was read before the limit is still there.
    assert set(room.verification.deploys) >= {("cd.yml", "101"), ("cd.yml", "102")}
    await source.api.client.aclose()


async def test_a_secondary_rate_limit_waits_as_retry_after_says(github: FakeGithub) -> None:
    source = source_for(github)
    github.limits.append(("secondary", 7))
    updates, wait = await source.poll()
    assert wait == 7
    assert "retry-after 7s" in updates[-1].reason  # type: ignore[union-attr]
    assert github.requests[-1].path.startswith(f"/repos/{REPO}/actions/workflows/cd.yml/runs")
    await source.api.client.aclose()


def test_rate_limit_headers_are_read_as_github_documents_them() -> None:
    import httpx

    now = datetime(2026, 12, 2, 12, tzinfo=timezone.utc)
    reset = int(now.timestamp()) + 90
    primary = httpx.Response(403, headers={"x-ratelimit-remaining": "0",
                                           "x-ratelimit-reset": str(reset)})  # fmt: skip
    assert rate_limit_wait(primary, now) == (90.0, "quota exhausted until 12:01:30Z")
    assert rate_limit_wait(httpx.Response(429, headers={"retry-after": "12"}), now) == (
        12.0, "retry-after 12s"
    )  # fmt: skip
    # A 403 that is not a rate limit (a token without the scope) asks for no wait.
    assert (
        rate_limit_wait(httpx.Response(403, headers={"x-ratelimit-remaining": "4999"}), now) is None
    )


async def test_a_wrong_token_is_an_error_naming_githubs_answer(github: FakeGithub) -> None:
    source = build_github(section(github), {"GH_TOKEN": "ghp_wrong"})[0]
    updates, _ = await source.poll()
    assert updates[-1].reason.endswith("401 Requires authentication")  # type: ignore[union-attr]
    await source.api.client.aclose()


def test_the_token_comes_from_a_file_or_the_environment(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("ghp_from_file\n")
    s = GithubSection(enabled=True, repository=REPO, token_file=str(token))
    assert GithubSettings.from_config(s).token == "ghp_from_file"
    with pytest.raises(SecretError, match=r"sources\.github\.token_env: environment variable GH_X"):
        GithubSettings.from_config(GithubSection(enabled=True, repository=REPO, token_env="GH_X"),
                                   {})  # fmt: skip


@pytest.mark.parametrize(
    ("title", "read"),
    [
        ("deploy prod v2.14.1", ("prod", "v2.14.1", False)),
        (f"deploy staging {DIGEST} no_op", ("staging", DIGEST, True)),
        ("Update README.md", ("", "", False)),
    ],
)
def test_a_runs_title_names_its_environment_ref_and_dry_run(
    title: str, read: tuple[str, str, bool]
) -> None:
    assert read_title(title) == read


# Dispatch -----------------------------------------------------------------------------------


def live_view() -> RoomView:
    config = Config.model_validate(config_document())
    room = ControlRoom(room_settings(config, load_workbook(CONFIG.parent / config.waves.workbook)))
    return room.evaluate(datetime.now(timezone.utc))


class WatchedJournal(AuditJournal):
    """The real journal, noting how many dispatches had reached GitHub at each write."""

    def __init__(self, path: Path, fake: FakeGithub) -> None:
        super().__init__(path)
        self.fake = fake
        self.seen: list[int] = []

    def write(self, record: AuditRecord) -> AuditEntry:
        self.seen.append(len(self.fake.dispatches()))
        return super().write(record)


async def test_the_cd_dry_run_is_dispatched_after_its_intent_is_journalled(
    github: FakeGithub, tmp_path: Path
) -> None:
    source, dispatcher = build_github(section(github), {"GH_TOKEN": github.token})
    journal = WatchedJournal(tmp_path / "audit.jsonl", github)
    pipeline = ActionPipeline(
        RoutingEffector(None, {ActionKind.DISPATCH_WORKFLOW: dispatcher}),
        read_only=False,
        journal=journal,
    )
    plan = plan_dispatch(CD_DRY_RUN, REPO, "cd.yml", "main", "alice")
    executed = await pipeline.execute(plan, live_view())
    assert executed.outcome.ok, executed.outcome.message
    assert executed.outcome.message == "cd.yml dispatched: ref main, no_op=true"
    (posted,) = github.dispatches()
    assert posted.path == f"/repos/{REPO}/actions/workflows/cd.yml/dispatches"
    assert posted.body == {"ref": "main", "inputs": {"no_op": "true"}}
    # The intent was on disk before the request; the result after it.
    assert journal.seen == [0, 1]
    entries = [e for _, e in read_journal(journal.path).entries if isinstance(e, dict)]
    assert [e["kind"] for e in entries] == ["intent", "result"]
    assert entries[0]["action"] == "dispatch workflow" and entries[0]["target"] == "cd.yml"
    await source.api.client.aclose()


async def test_a_read_only_room_dispatches_nothing(github: FakeGithub, tmp_path: Path) -> None:
    dispatcher = WorkflowDispatcher(source_for(github).api, REPO)
    pipeline = ActionPipeline(dispatcher, read_only=True, journal=AuditJournal(tmp_path / "a"))
    with pytest.raises(ReadOnly):
        await pipeline.execute(plan_dispatch(SMOKE_SUITE, REPO, "smoke.yml", "main", "a"),
                               live_view())  # fmt: skip
    assert github.dispatches() == []


def test_only_the_smoke_suite_and_the_cd_dry_run_are_dispatched() -> None:
    from maestro_control_room.cutover.actions import ActionUnavailable

    with pytest.raises(ActionUnavailable, match="only the smoke suite and the CD dry run"):
        plan_dispatch("prod deploy", REPO, "cd.yml", "main", "alice")
    dry = plan_dispatch(CD_DRY_RUN, REPO, "cd.yml", "main", "alice")
    assert dry.dispatch is not None and dry.dispatch.body == {
        "ref": "main", "inputs": {"no_op": "true"}
    }  # fmt: skip
    assert [str(c) for c in dry.changes] == [
        f"{REPO}/cd.yml: workflow_dispatch — → ref main", f"{REPO}/cd.yml: input no_op — → true"
    ]  # fmt: skip


async def test_a_dispatch_github_refuses_says_why(github: FakeGithub) -> None:
    dispatcher = WorkflowDispatcher(source_for(github).api, REPO)
    github.limits.append(("secondary", 30))
    outcome = await dispatcher.apply(plan_dispatch(SMOKE_SUITE, REPO, "smoke.yml", "main", "a"))
    assert not outcome.ok and "retry-after 30s" in outcome.message


async def test_n_on_the_keyboard_dispatches_the_cd_dry_run_through_the_pipeline(
    github: FakeGithub, make_app: AppFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", github.token)
    app = make_app(sources__github={"enabled": True, "url": github.url, "repository": REPO,
                                    "token_env": "GH_TOKEN", "refresh": "60s"})  # fmt: skip
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None, "the first view")
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the confirmation")
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "Dispatch workflow cd.yml?" in text
        assert f"{REPO}/cd.yml" in text and "ref main" in text and "input no_op" in text
        assert github.dispatches() == []  # nothing before the confirmation
        await pilot.press("enter")
        await until(pilot, lambda: bool(github.dispatches()), "the dispatch to reach GitHub")
        (posted,) = github.dispatches()
        assert json.dumps(posted.body, sort_keys=True) == (
            '{"inputs": {"no_op": "true"}, "ref": "main"}'
        )
        journal = tmp_path / "audit.jsonl"
        await until(pilot, lambda: journal.exists() and len(journal.read_text().splitlines()) == 2,
                    "the result entry")  # fmt: skip
        intent, result = (json.loads(line) for line in journal.read_text().splitlines())
        assert (intent["kind"], intent["action"], result["kind"]) == (
            "intent", "dispatch workflow", "result"
        )  # fmt: skip
        assert result["result"]["ok"] is True


async def test_a_read_only_room_refuses_the_dispatch_key(
    github: FakeGithub, make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", github.token)
    github_section = {"enabled": True, "url": github.url, "repository": REPO,
                      "token_env": "GH_TOKEN"}  # fmt: skip
    app = make_app(read_only=True, sources__github=github_section)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.view is not None, "the first view")
        await pilot.press("r")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert github.dispatches() == []
