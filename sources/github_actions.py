"""The CD workflows' runs and their evidence, from GitHub Actions (REST, `httpx`); and the
`workflow_dispatch` that runs the smoke suite or the CD dry run.

Every `refresh` it lists the runs of each deploy workflow
(`GET /repos/{owner}/{repo}/actions/workflows/{file}/runs`) and, for the newest finished
ones, their artifacts (`GET /repos/{owner}/{repo}/actions/runs/{id}/artifacts`): a
`witness*` artifact is the deploy's witness, `cosign-verify*` its verified signature and
`sbom*` its SBOM annotation (the prefixes are configurable). Which environment and which tag
or digest a run deployed is read from its `display_title`, the workflow's `run-name`
(docs/contract.md).

GitHub meters the API: each answer's `ETag` is kept and sent back as `If-None-Match`, so an
unchanged list costs a `304` and no quota; a `403`/`429` with `retry-after`, or with
`x-ratelimit-remaining: 0` and `x-ratelimit-reset`, waits as long as GitHub says before the
next request, keeps what was already read, and says so in the health row.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx

from ..cutover.actions import ActionKind, ActionOutcome, ActionPlan
from ..cutover.config import GithubSection
from ..cutover.smoke import ENVIRONMENTS, DeployRun, VerificationUpdate
from ..cutover.updates import HealthState, SourceHealth, Update
from .base import Deliver
from .secrets import read_secret

SOURCE = "github"
API_VERSION = "2022-11-28"
#: Runs listed per workflow, and how many of the newest finished ones have their
#: artifacts read: enough for a shift's deploys, few enough for the rate limit.
RUNS_PER_PAGE = 20
ARTIFACTS_FOR = 10
#: The longest wait a rate limit is honoured for before asking again.
MAX_WAIT = timedelta(hours=1)


def wall_now() -> datetime:
    return datetime.now(timezone.utc)


class GithubError(RuntimeError):
    """An answer that is not what the REST API documents: the status and GitHub's message."""


class RateLimited(GithubError):
    """GitHub asked us to wait `wait` seconds."""

    def __init__(self, wait: float, why: str) -> None:
        super().__init__(f"rate limited ({why}); retrying in {wait:.0f}s")
        self.wait = wait


@dataclass(frozen=True)
class GithubSettings:
    """`[sources.github]`, its token read."""

    url: str
    repository: str
    token: str | None
    refresh: timedelta
    timeout: timedelta
    deploy_workflows: tuple[str, ...]
    witness_artifact: str = "witness"
    cosign_artifact: str = "cosign-verify"
    sbom_artifact: str = "sbom"

    @classmethod
    def from_config(
        cls, section: GithubSection, environ: Mapping[str, str] | None = None
    ) -> GithubSettings:
        token = read_secret(
            "sources.github.token", file=section.token_file, env=section.token_env,
            environ=environ,
        )  # fmt: skip
        return cls(
            url=section.url.rstrip("/"),
            repository=section.repository,
            token=token,
            refresh=section.refresh,
            timeout=section.timeout,
            deploy_workflows=section.deploy_workflows,
            witness_artifact=section.witness_artifact,
            cosign_artifact=section.cosign_artifact,
            sbom_artifact=section.sbom_artifact,
        )


def client_for(settings: GithubSettings) -> httpx.AsyncClient:
    headers = {
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "maestro-control-room",
    }
    if settings.token:
        headers["Authorization"] = f"Bearer {settings.token}"
    return httpx.AsyncClient(
        base_url=settings.url, headers=headers, timeout=settings.timeout.total_seconds()
    )


def rate_limit_wait(response: httpx.Response, now: datetime) -> tuple[float, str] | None:
    """How long GitHub asks us to wait, from `retry-after` or an exhausted
    `x-ratelimit-remaining` with its `x-ratelimit-reset`; None when it asks nothing."""
    headers = response.headers
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        try:
            return max(0.0, float(retry_after)), f"retry-after {retry_after}s"
        except ValueError:
            pass  # an HTTP date: rare on GitHub; fall through to the reset header
    if headers.get("x-ratelimit-remaining") == "0":
        try:
            reset = float(headers.get("x-ratelimit-reset", ""))
        except ValueError:
            return 60.0, "quota exhausted, no reset time"
        wait = min(max(0.0, reset - now.timestamp()), MAX_WAIT.total_seconds())
        at = datetime.fromtimestamp(reset, timezone.utc).strftime("%H:%M:%S")
        return wait, f"quota exhausted until {at}Z"
    return None


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:80].strip() or response.reason_phrase
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:120]
    return response.reason_phrase


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def read_title(title: str) -> tuple[str, str, bool]:
    """Environment, tag or digest, and dry run, from a run's `display_title`
    (`deploy prod v2.14.1`, `deploy staging ghcr.io/o/x@sha256:… no_op`)."""
    words = title.replace(",", " ").split()
    env = next((w for w in words if w in ENVIRONMENTS), "")
    ref = next((w for w in words if "@sha256:" in w), "")
    if not ref and env:
        after = words[words.index(env) + 1 :]
        ref = next((w for w in after if w not in ("no_op", "dry-run", "no_op=true")), "")
    no_op = any(w in ("no_op", "no_op=true", "dry-run", "dry_run") for w in words)
    return env, ref, no_op


def deploy_of(workflow: str, run: Mapping[str, Any]) -> DeployRun | None:
    """A deploy from one workflow run object; None when the object lacks what a run has."""
    run_id = run.get("id")
    at = _time(run.get("run_started_at")) or _time(run.get("created_at"))
    if not isinstance(run_id, int) or at is None:
        return None
    status = run.get("status")
    conclusion = run.get("conclusion")
    if status != "completed":
        result = "in_progress"
    elif conclusion in ("success", "failure", "cancelled"):
        result = str(conclusion)
    else:
        result = "failure"  # timed_out, startup_failure, action_required: not a deploy
    env, ref, no_op = read_title(str(run.get("display_title") or ""))
    actor = run.get("triggering_actor") or run.get("actor") or {}
    return DeployRun(
        workflow=workflow,
        env=env or "?",
        ref=ref or str(run.get("head_sha") or "")[:12],
        actor=str(actor.get("login", "")) if isinstance(actor, dict) else "",
        result=result,
        at=at,
        run_id=str(run_id),
        url=str(run.get("html_url") or ""),
        no_op=no_op,
        source=SOURCE,
    )


class GithubApi:
    """GETs with ETags and rate limits honoured, and the dispatch POST."""

    def __init__(
        self, client: httpx.AsyncClient, *, now: Callable[[], datetime] = wall_now
    ) -> None:
        self.client = client
        self.now = now
        self._etags: dict[str, tuple[str, Any]] = {}
        #: Not before this wall time: set by a rate limit, and what GitHub said.
        self.resume_at: datetime | None = None
        self._why = ""
        self.requests = 0
        self.not_modified = 0

    def _check_limit(self) -> None:
        if self.resume_at is not None:
            left = (self.resume_at - self.now()).total_seconds()
            if left > 0:
                raise RateLimited(left, self._why)
            self.resume_at = None

    def _limited(self, response: httpx.Response) -> None:
        found = rate_limit_wait(response, self.now())
        if found is None:
            return
        wait, why = found
        self.resume_at = self.now() + timedelta(seconds=wait)
        self._why = why
        raise RateLimited(wait, why)

    async def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """The JSON at `path`; the cached body when GitHub answers 304 Not Modified."""
        self._check_limit()
        key = path + "?" + "&".join(f"{k}={v}" for k, v in sorted((params or {}).items()))
        cached = self._etags.get(key)
        headers = {"If-None-Match": cached[0]} if cached else {}
        self.requests += 1
        response = await self.client.get(path, params=params, headers=headers)
        if response.status_code == 304 and cached is not None:
            self.not_modified += 1
            return cached[1]
        if response.status_code in (403, 429):
            self._limited(response)
        if response.status_code != 200:
            raise GithubError(f"GET {path}: {response.status_code} {_message(response)}")
        try:
            body = response.json()
        except ValueError:
            kind = response.headers.get("content-type", "?")
            raise GithubError(f"GET {path}: 200 but not JSON ({kind})") from None
        etag = response.headers.get("etag")
        if etag:
            self._etags[key] = (etag, body)
        # The last request of the quota: the next one waits for the reset.
        if response.headers.get("x-ratelimit-remaining") == "0":
            found = rate_limit_wait(response, self.now())
            if found is not None:
                self.resume_at = self.now() + timedelta(seconds=found[0])
                self._why = found[1]
        return body

    async def post(self, path: str, body: Mapping[str, Any]) -> httpx.Response:
        self._check_limit()
        self.requests += 1
        response = await self.client.post(path, json=dict(body))
        if response.status_code in (403, 429):
            self._limited(response)
        return response


class GithubActionsSource:
    """Polls the deploy workflows' runs and their artifacts; delivers deploys and health."""

    name = SOURCE

    def __init__(self, api: GithubApi, settings: GithubSettings) -> None:
        self.api = api
        self.settings = settings
        #: Artifacts of finished runs, read once each (then 304s while nothing changes).
        self._evidence: dict[str, tuple[bool, bool, bool]] = {}

    @classmethod
    def from_config(
        cls, section: GithubSection, environ: Mapping[str, str] | None = None
    ) -> GithubActionsSource:
        settings = GithubSettings.from_config(section, environ)
        return cls(GithubApi(client_for(settings)), settings)

    async def run(self, deliver: Deliver) -> None:
        try:
            while True:
                updates, wait = await self.poll()
                deliver(updates)
                await asyncio.sleep(wait)
        finally:
            await self.api.client.aclose()

    async def poll(self) -> tuple[list[Update], float]:
        """One refresh: the updates, and the seconds until the next one."""
        now = self.api.now()
        refresh = self.settings.refresh.total_seconds()
        deploys: list[DeployRun] = []
        try:
            for workflow in self.settings.deploy_workflows:
                deploys += await self._workflow(workflow)
        except RateLimited as limited:
            # What was read before the limit is kept and delivered: nothing is lost.
            found: list[Update] = []
            if deploys:
                found.append(VerificationUpdate(SOURCE, now, deploys=tuple(deploys)))
            found.append(SourceHealth(SOURCE, HealthState.ERROR, now, str(limited)))
            return found, max(limited.wait, 1.0)
        except (GithubError, httpx.HTTPError, ValueError) as error:
            reason = str(error) or type(error).__name__
            return [SourceHealth(SOURCE, HealthState.ERROR, now, reason[:120])], refresh
        return [
            VerificationUpdate(SOURCE, now, deploys=tuple(deploys)),
            SourceHealth(SOURCE, HealthState.CONNECTED, now),
        ], refresh

    async def _workflow(self, workflow: str) -> list[DeployRun]:
        repo = self.settings.repository
        body = await self.api.get(
            f"/repos/{repo}/actions/workflows/{workflow}/runs",
            {"per_page": str(RUNS_PER_PAGE)},
        )
        runs = body.get("workflow_runs") if isinstance(body, dict) else None
        if not isinstance(runs, list):
            raise GithubError(f"{workflow}: no workflow_runs in the answer")
        found = []
        for run in runs:
            deploy = deploy_of(workflow, run) if isinstance(run, dict) else None
            if deploy is not None:
                found.append(deploy)
        finished = [d for d in found if d.result != "in_progress"][:ARTIFACTS_FOR]
        for deploy in finished:
            witness, cosign, sbom = await self._artifacts(deploy.run_id)
            index = found.index(deploy)
            found[index] = _with_evidence(deploy, witness, cosign, sbom)
        return found

    async def _artifacts(self, run_id: str) -> tuple[bool, bool, bool]:
        known = self._evidence.get(run_id)
        if known is not None:
            return known
        s = self.settings
        body = await self.api.get(f"/repos/{s.repository}/actions/runs/{run_id}/artifacts")
        artifacts = body.get("artifacts") if isinstance(body, dict) else None
        if not isinstance(artifacts, list):
            raise GithubError(f"run {run_id}: no artifacts list in the answer")
        # An expired artifact is evidence no more: it cannot be downloaded and checked.
        names = [
            str(a.get("name", ""))
            for a in artifacts
            if isinstance(a, dict) and not a.get("expired")
        ]
        evidence = (
            any(n.startswith(s.witness_artifact) for n in names),
            any(n.startswith(s.cosign_artifact) for n in names),
            any(n.startswith(s.sbom_artifact) for n in names),
        )
        self._evidence[run_id] = evidence
        return evidence


def _with_evidence(deploy: DeployRun, witness: bool, cosign: bool, sbom: bool) -> DeployRun:
    return replace(deploy, witness=witness, cosign_verified=cosign, sbom=sbom)


class WorkflowDispatcher:
    """Carries out a confirmed dispatch: `POST .../actions/workflows/{file}/dispatches` with
    the plan's ref and inputs. It starts nothing else: prod deploys are never dispatched."""

    name = SOURCE

    def __init__(self, api: GithubApi, repository: str) -> None:
        self.api = api
        self.repository = repository

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        dispatch = plan.dispatch
        if plan.kind is not ActionKind.DISPATCH_WORKFLOW or dispatch is None:
            return ActionOutcome(False, f"{plan.title}: not a workflow dispatch")
        path = f"/repos/{self.repository}/actions/workflows/{dispatch.workflow}/dispatches"
        try:
            response = await self.api.post(path, dispatch.body)
        except RateLimited as limited:
            return ActionOutcome(False, f"{dispatch.workflow} not dispatched: {limited}")
        except httpx.HTTPError as error:
            return ActionOutcome(False, f"{dispatch.workflow} not dispatched: {error}")
        if response.status_code in (200, 204):
            return ActionOutcome(True, f"{dispatch.workflow} dispatched: {dispatch.summary}")
        return ActionOutcome(
            False,
            f"{dispatch.workflow} not dispatched: {response.status_code} {_message(response)}",
        )


def build_github(
    section: GithubSection, environ: Mapping[str, str] | None = None
) -> tuple[GithubActionsSource, WorkflowDispatcher]:
    """The source and the dispatcher, sharing one client (and its rate limit)."""
    source = GithubActionsSource.from_config(section, environ)
    return source, WorkflowDispatcher(source.api, section.repository)
