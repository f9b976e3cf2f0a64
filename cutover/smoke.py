"""The plan's smoke suite (§4), its drills and the CD deploys, as the room keeps them.

Results arrive from MQTT, Prometheus, GitHub Actions or the simulator as `VerificationUpdate`s;
the `VerificationLedger` keeps the recent runs of each test and drill and every deploy seen,
and `board(now)` says, per test, its last result, when, how long, where, and its streak. A
test not run within its max age is stale, never passed. Pure: no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from .durations import format_duration
from .gates import CheckResult, CheckSpec, CheckState


@dataclass(frozen=True)
class PlannedTest:
    """One test of the plan's suite: its id (the topic's last level), title, and whether it
    is a negative test (it passes when the platform degrades gracefully)."""

    id: str
    title: str
    negative: bool = False


#: The plan's smoke tests and negative tests, in its order.
SMOKE_TESTS: tuple[PlannedTest, ...] = (
    PlannedTest("build-caching", "Build caching"),
    PlannedTest("secrets-fetch", "Secrets fetch"),
    PlannedTest("artifact-publish", "Artifact publish + SBOM attach"),
    PlannedTest("vuln-gates", "Vulnerability gates"),
    PlannedTest("staging-deploy", "Staging deploy"),
    PlannedTest("e2e", "End-to-end"),
    PlannedTest("promotion-gate", "Promotion gate"),
    PlannedTest("cancel-mid-job", "Cancel mid-job", negative=True),
    PlannedTest("kill-runner", "Kill runner", negative=True),
    PlannedTest("registry-outage", "Registry outage", negative=True),
    PlannedTest("deny-egress", "Deny egress", negative=True),
    PlannedTest("rotate-secrets", "Rotate secrets mid-run", negative=True),
)

#: Gate A's resilience drills, gate E's DR drills, and the rollback drill the Definition of
#: Done asks for.
DRILLS: tuple[tuple[str, str], ...] = (
    ("cancel-retry", "Cancel / retry"),
    ("agent-loss", "Agent loss"),
    ("registry-brownout", "Registry brownout"),
    ("runner-kill", "Runner kill"),
    ("broker-loss", "Broker loss"),
    ("dr-restore", "DR restore"),
    ("rollback", "Rollback to legacy"),
)

PASSED = "passed"
FAILED = "failed"
RESULTS = frozenset({PASSED, FAILED})

#: A deploy's result, in GitHub's words (`conclusion`, or `in_progress` while it runs).
DEPLOY_RESULTS = frozenset({"success", "failure", "cancelled", "in_progress"})
ENVIRONMENTS = frozenset({"staging", "prod"})

#: The contract's smoke metrics, one series per (suite, test).
SMOKE_LAST_RUN = "maestro_smoke_test_last_run_timestamp_seconds"
SMOKE_SUCCESS = "maestro_smoke_test_success"

#: Runs kept per test or drill, for its recent-runs view and its streak.
RUNS_KEPT = 20
#: Deploys kept, newest last.
DEPLOYS_KEPT = 200


@dataclass(frozen=True)
class SmokeRun:
    """One run of one smoke test."""

    suite: str
    test: str
    result: str
    at: datetime
    duration_s: float | None = None
    pool: str = ""
    run_id: str = ""
    url: str = ""
    source: str = ""

    @property
    def passed(self) -> bool:
        return self.result == PASSED


@dataclass(frozen=True)
class DrillRun:
    """One run of a drill, with the id of its evidence (a witness, a ticket, a log bundle)."""

    drill: str
    result: str
    at: datetime
    evidence: str = ""
    message: str = ""
    source: str = ""


@dataclass(frozen=True)
class DeployRun:
    """One run of a CD workflow, with what its evidence says.

    `witness`, `cosign_verified` and `sbom` are None when not known (the run is still going,
    or its artifacts were not read), never a guess."""

    workflow: str
    env: str
    ref: str
    actor: str
    result: str
    at: datetime
    run_id: str
    url: str = ""
    no_op: bool = False
    witness: bool | None = None
    cosign_verified: bool | None = None
    sbom: bool | None = None
    source: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.workflow, self.run_id)

    @property
    def evidenced(self) -> bool:
        """A witness and a verified signature: what the plan's audit asks of every deploy."""
        return bool(self.witness) and bool(self.cosign_verified)


@dataclass(frozen=True)
class VerificationUpdate:
    """Smoke runs, drill runs and deploys a source saw, as of `at`."""

    source: str
    at: datetime
    smoke: tuple[SmokeRun, ...] = ()
    drills: tuple[DrillRun, ...] = ()
    deploys: tuple[DeployRun, ...] = ()


class RunState(str, Enum):
    PASSED = "passed"
    FAILED = "FAILED"
    STALE = "STALE"
    NEVER = "never run"


@dataclass(frozen=True)
class SmokeRow:
    """A test as of now."""

    test: PlannedTest
    state: RunState
    last: SmokeRun | None
    #: How many runs in a row had the last run's result.
    streak: int
    runs: tuple[SmokeRun, ...]
    age: timedelta | None

    @property
    def streak_text(self) -> str:
        if self.last is None:
            return "—"
        return f"{self.streak}× {self.last.result}"

    @property
    def when_text(self) -> str:
        return "—" if self.age is None else f"{format_duration(max(self.age, timedelta(0)))} ago"


@dataclass(frozen=True)
class DrillRow:
    drill: str
    title: str
    state: RunState
    last: DrillRun | None
    age: timedelta | None


@dataclass(frozen=True)
class VerificationView:
    """The smoke board, the drills and the deploys, as of `now`."""

    now: datetime
    suite: str
    tests: tuple[SmokeRow, ...]
    drills: tuple[DrillRow, ...]
    deploys: tuple[DeployRun, ...]
    max_age: timedelta
    drill_max_age: timedelta

    def test(self, test_id: str) -> SmokeRow | None:
        return next((row for row in self.tests if row.test.id == test_id), None)

    def drill(self, drill: str) -> DrillRow | None:
        return next((row for row in self.drills if row.drill == drill), None)

    @property
    def counts(self) -> dict[RunState, int]:
        found = {state: 0 for state in RunState}
        for row in self.tests:
            found[row.state] += 1
        return found

    @property
    def line(self) -> str:
        """The main screen's compact row."""
        counts = self.counts
        total = len(self.tests)
        parts = [f"Smoke {counts[RunState.PASSED]}/{total} passed"]
        failed = [r.test.id for r in self.tests if r.state is RunState.FAILED]
        if failed:
            parts.append(f"FAILED {', '.join(failed)}")
        stale = [r.test.id for r in self.tests if r.state in (RunState.STALE, RunState.NEVER)]
        if stale:
            parts.append(f"{len(stale)} stale")
        drills_ok = sum(1 for d in self.drills if d.state is RunState.PASSED)
        parts.append(f"drills {drills_ok}/{len(self.drills)}")
        prod = [d for d in self.deploys if d.env == "prod" and not d.no_op]
        if prod:
            last = prod[-1]
            evidence = "evidence ok" if last.evidenced else "NO EVIDENCE"
            ref = short_ref(last.ref) or last.run_id
            parts.append(f"prod {ref} {last.result}, {evidence}")
        return " · ".join(parts)


class VerificationLedger:
    """The runs every source delivered; the same run from two sources counts once."""

    def __init__(
        self,
        suite: str = "maestro",
        tests: Sequence[PlannedTest] = SMOKE_TESTS,
        drills: Sequence[tuple[str, str]] = DRILLS,
    ) -> None:
        self.suite = suite
        self.tests = tuple(tests)
        self.drill_names = tuple(drills)
        self.runs: dict[str, deque[SmokeRun]] = {t.id: deque(maxlen=RUNS_KEPT) for t in tests}
        self.drill_runs: dict[str, deque[DrillRun]] = {
            d: deque(maxlen=RUNS_KEPT) for d, _ in drills
        }
        self.deploys: dict[tuple[str, str], DeployRun] = {}
        self.sources: set[str] = set()

    def take(self, update: VerificationUpdate) -> None:
        self.sources.add(update.source)
        for run in update.smoke:
            if run.suite != self.suite:
                continue
            kept = self.runs.setdefault(run.test, deque(maxlen=RUNS_KEPT))
            _insert(kept, run)
        for drill in update.drills:
            runs = self.drill_runs.setdefault(drill.drill, deque(maxlen=RUNS_KEPT))
            _insert(runs, drill)
        for deploy in update.deploys:
            # A run seen again (in progress, then done; artifacts read later) replaces itself.
            self.deploys[deploy.key] = deploy
        if len(self.deploys) > DEPLOYS_KEPT:
            newest = sorted(self.deploys.values(), key=lambda d: d.at)[-DEPLOYS_KEPT:]
            self.deploys = {d.key: d for d in newest}

    def view(self, now: datetime, max_age: timedelta, drill_max_age: timedelta) -> VerificationView:
        tests = tuple(self._row(t, now, max_age) for t in self._all_tests())
        drills = tuple(
            _drill_row(name, title, tuple(self.drill_runs.get(name, ())), now, drill_max_age)
            for name, title in self._all_drills()
        )
        deploys = tuple(sorted(self.deploys.values(), key=lambda d: d.at))
        return VerificationView(now, self.suite, tests, drills, deploys, max_age, drill_max_age)

    def _all_tests(self) -> list[PlannedTest]:
        known = {t.id for t in self.tests}
        extra = [PlannedTest(name, name) for name in self.runs if name not in known]
        return [*self.tests, *extra]

    def _all_drills(self) -> list[tuple[str, str]]:
        known = {name for name, _ in self.drill_names}
        return [*self.drill_names, *((n, n) for n in self.drill_runs if n not in known)]

    def _row(self, test: PlannedTest, now: datetime, max_age: timedelta) -> SmokeRow:
        runs = tuple(self.runs.get(test.id, ()))
        if not runs:
            return SmokeRow(test, RunState.NEVER, None, 0, (), None)
        last = runs[-1]
        streak = 0
        for run in reversed(runs):
            if run.result != last.result:
                break
            streak += 1
        age = now - last.at
        if age > max_age:
            state = RunState.STALE
        else:
            state = RunState.PASSED if last.passed else RunState.FAILED
        return SmokeRow(test, state, last, streak, runs, age)


def _insert(runs: deque[Any], run: SmokeRun | DrillRun) -> None:
    """Keep runs in time order and each once: MQTT and Prometheus report the same run."""
    if any(kept.at == run.at and kept.result == run.result for kept in runs):
        return
    runs.append(run)
    if len(runs) > 1 and runs[-2].at > run.at:
        ordered = sorted(runs, key=lambda r: r.at)
        runs.clear()
        runs.extend(ordered)


def _drill_row(
    name: str, title: str, runs: tuple[DrillRun, ...], now: datetime, max_age: timedelta
) -> DrillRow:
    if not runs:
        return DrillRow(name, title, RunState.NEVER, None, None)
    last = runs[-1]
    age = now - last.at
    if age > max_age:
        state = RunState.STALE
    else:
        state = RunState.PASSED if last.result == PASSED else RunState.FAILED
    return DrillRow(name, title, state, last, age)


def short_ref(ref: str) -> str:
    """A tag as it is; a digest as its image name and the first 12 hex digits."""
    if "@sha256:" in ref:
        image, digest = ref.split("@sha256:", 1)
        return f"{image.rsplit('/', 1)[-1]}@{digest[:12]}"
    return ref


def prod_deploys(deploys: Iterable[DeployRun], since: datetime) -> list[DeployRun]:
    """The real (not dry-run) prod deploys that finished since `since`."""
    return [
        d
        for d in deploys
        if d.env == "prod" and not d.no_op and d.at >= since and d.result != "in_progress"
    ]


@dataclass(frozen=True)
class EvidenceGap:
    deploy: DeployRun
    lacking: tuple[str, ...] = field(default_factory=tuple)


def evidence_gaps(deploys: Iterable[DeployRun]) -> list[EvidenceGap]:
    gaps = []
    for deploy in deploys:
        lacking = []
        if not deploy.witness:
            lacking.append("witness" if deploy.witness is False else "witness unknown")
        if not deploy.cosign_verified:
            lacking.append(
                "cosign verification" if deploy.cosign_verified is False else "cosign unknown"
            )
        if lacking:
            gaps.append(EvidenceGap(deploy, tuple(lacking)))
    return gaps


# Gate checks --------------------------------------------------------------------------------


def judge_smoke(spec: CheckSpec, view: VerificationView, answered: bool) -> CheckResult:
    """A `smoke` check: its test (or every test of the suite) passed within `max_age`.
    A test not run within it fails the check, as a failed one does: never passed."""
    if not answered:
        return CheckResult(spec, CheckState.UNKNOWN, "—", "no smoke results yet")
    rows = [r for r in view.tests if not spec.test or r.test.id == spec.test]
    if not rows:
        return CheckResult(spec, CheckState.FAIL, "no such test", f"no test {spec.test!r}")
    failed, stale = [], []
    for row in rows:
        if row.last is None:
            stale.append(f"{row.test.id} never run")
        elif now_age(row) > spec.max_age:
            stale.append(f"{row.test.id} stale ({row.when_text})")
        elif not row.last.passed:
            failed.append(f"{row.test.id} failed {row.when_text}")
    if failed or stale:
        passed = len(rows) - len(failed) - len(stale)
        one = "failed" if failed else "stale"
        value = f"{passed}/{len(rows)} passed" if len(rows) > 1 else one
        return CheckResult(spec, CheckState.FAIL, value, "; ".join([*failed, *stale]))
    if len(rows) == 1:
        return CheckResult(spec, CheckState.PASS, f"passed {rows[0].when_text}")
    return CheckResult(spec, CheckState.PASS, f"{len(rows)}/{len(rows)} passed")


def now_age(row: SmokeRow) -> timedelta:
    return row.age if row.age is not None else timedelta.max


def judge_deploy_evidence(spec: CheckSpec, view: VerificationView, answered: bool) -> CheckResult:
    """A `deploy_evidence` check: every real deploy to `env` of the last `max_age` has its
    witness artifact and a verified cosign signature."""
    if not answered:
        return CheckResult(spec, CheckState.UNKNOWN, "—", "no deploy records yet")
    since = view.now - spec.max_age
    deploys = [
        d
        for d in view.deploys
        if d.env == spec.env and not d.no_op and d.at >= since and d.result != "in_progress"
    ]
    if not deploys:
        return CheckResult(spec, CheckState.PASS, f"no {spec.env} deploy")
    gaps = evidence_gaps(deploys)
    if gaps:
        reason = "; ".join(
            f"{g.deploy.workflow} #{g.deploy.run_id} lacks {', '.join(g.lacking)}" for g in gaps
        )
        return CheckResult(spec, CheckState.FAIL, f"{len(gaps)}/{len(deploys)} lacking", reason)
    return CheckResult(spec, CheckState.PASS, f"{len(deploys)}/{len(deploys)} evidenced")
