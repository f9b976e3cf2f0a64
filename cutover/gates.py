"""The Go/No-Go gate matrix: gates of checks, sign-offs, and the verdict.

Probes in the sources measure what a check looks at and judge it with the functions here
(`judge_promql`, `judge_objects`, `judge_cronjob`); the room judges the checks it can see
itself (sources healthy, alerts, sign-offs). The verdict is three-valued: one required check
failing is NO-GO whatever else is unknown; otherwise one unknown makes the verdict UNKNOWN,
because a check whose source is down is never passed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from .durations import format_duration


class CheckKind(str, Enum):
    PROMQL = "promql"
    SOURCE_HEALTHY = "source_healthy"
    ALERT_ABSENT = "alert_absent"
    ALERT_PRESENT = "alert_present"
    K8S_EXISTS = "k8s_exists"
    K8S_CRONJOB_RECENT = "k8s_cronjob_recent"
    SIGNOFF = "signoff"
    SMOKE = "smoke"
    DEPLOY_EVIDENCE = "deploy_evidence"


#: The kinds a source probes and reports as `CheckReading`s; the room judges the others.
PROBED_KINDS = frozenset({CheckKind.PROMQL, CheckKind.K8S_EXISTS, CheckKind.K8S_CRONJOB_RECENT})


#: Which sources can answer which kinds of check (the simulator stands in for all of them);
#: the room judges `source_healthy` itself.
ANSWERED_BY: dict[CheckKind, frozenset[str]] = {
    CheckKind.PROMQL: frozenset({"prometheus", "sim"}),
    CheckKind.K8S_EXISTS: frozenset({"kubernetes", "sim"}),
    CheckKind.K8S_CRONJOB_RECENT: frozenset({"kubernetes", "sim"}),
    CheckKind.SIGNOFF: frozenset({"kubernetes", "sim"}),
    CheckKind.ALERT_ABSENT: frozenset({"alertmanager", "sim"}),
    CheckKind.ALERT_PRESENT: frozenset({"alertmanager", "sim"}),
    CheckKind.SMOKE: frozenset({"mqtt", "prometheus", "github", "sim"}),
    CheckKind.DEPLOY_EVIDENCE: frozenset({"mqtt", "github", "sim"}),
}

#: The kinds the room judges from the smoke suite's, drills' and deploys' results.
VERIFIED_KINDS = frozenset({CheckKind.SMOKE, CheckKind.DEPLOY_EVIDENCE})


class CheckState(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    UNKNOWN = "unknown"


class Verdict(str, Enum):
    GO = "GO"
    NO_GO = "NO-GO"
    UNKNOWN = "UNKNOWN"

    @property
    def exit_code(self) -> int:
        """`check`'s exit status: 0 GO, 1 NO-GO, 2 unknown."""
        return {Verdict.GO: 0, Verdict.NO_GO: 1, Verdict.UNKNOWN: 2}[self]


COMPARATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": lambda value, threshold: value >= threshold,
    "<=": lambda value, threshold: value <= threshold,
    ">": lambda value, threshold: value > threshold,
    "<": lambda value, threshold: value < threshold,
    "==": lambda value, threshold: value == threshold,
}


@dataclass(frozen=True)
class ObjectRef:
    """Kubernetes objects a check looks for: one by name, or every match of a selector."""

    group: str
    version: str
    plural: str
    namespace: str = ""
    name: str = ""
    label_selector: str = ""

    @classmethod
    def parse(cls, resource: str, **where: str) -> ObjectRef:
        """From `group/version/plural` (`v1/configmaps` for the core group)."""
        parts = resource.strip("/").split("/")
        if len(parts) == 2:
            return cls("", parts[0], parts[1], **where)
        if len(parts) == 3 and all(parts):
            return cls(parts[0], parts[1], parts[2], **where)
        raise ValueError(
            f"expected a resource as group/version/plural (or v1/plural), got {resource!r}"
        )

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        what = self.name or (f"[{self.label_selector}]" if self.label_selector else "*")
        return f"{self.plural} {where}{what}"


@dataclass(frozen=True)
class CheckSpec:
    """One check of a gate, as configured. Which fields count depends on `kind`."""

    id: str
    gate: str
    title: str
    kind: CheckKind
    required: bool = True
    #: promql: the expression, its comparator and threshold, and the value's unit.
    expr: str = ""
    op: str = ">="
    threshold: float = 0.0
    unit: str = ""
    #: source_healthy: the source's name.
    source: str = ""
    #: alert_absent / alert_present.
    alertname: str = ""
    #: k8s_exists / k8s_cronjob_recent.
    object: ObjectRef | None = None
    #: k8s_exists: annotations every matching object must carry.
    annotations: Mapping[str, str] = field(default_factory=dict)
    #: k8s_cronjob_recent: the longest time since the last successful run.
    max_age: timedelta = timedelta(hours=26)
    #: signoff: the plan's role.
    role: str = ""
    #: smoke: one test of the suite, or empty for the whole suite (within `max_age`).
    test: str = ""
    #: deploy_evidence: the environment whose deploys of the last `max_age` need evidence.
    env: str = "prod"

    @property
    def key(self) -> str:
        """Unique across the matrix: `A/success-7d`."""
        return f"{self.gate}/{self.id}"

    @property
    def criterion(self) -> str:
        """What passing means, in a few words."""
        kind = self.kind
        if kind is CheckKind.PROMQL:
            return f"{self.op} {format_value(self.threshold, self.unit)}"
        if kind is CheckKind.SOURCE_HEALTHY:
            return f"{self.source} connected and fresh"
        if kind is CheckKind.ALERT_ABSENT:
            return f"{self.alertname} not firing"
        if kind is CheckKind.ALERT_PRESENT:
            return f"{self.alertname} firing"
        if kind is CheckKind.K8S_EXISTS:
            wanted = ", ".join(f"{k}={v}" for k, v in sorted(self.annotations.items()))
            return f"{self.object} exists" + (f" with {wanted}" if wanted else "")
        if kind is CheckKind.K8S_CRONJOB_RECENT:
            return f"{self.object} succeeded within {format_duration(self.max_age)}"
        if kind is CheckKind.SMOKE:
            what = self.test or "every smoke test"
            return f"{what} passed within {format_duration(self.max_age)}"
        if kind is CheckKind.DEPLOY_EVIDENCE:
            return (
                f"every {self.env} deploy of {format_duration(self.max_age)}"
                " witnessed and cosign-verified"
            )
        return f"{self.role} signed"


@dataclass(frozen=True)
class GateSpec:
    id: str
    title: str
    checks: tuple[CheckSpec, ...]


@dataclass(frozen=True)
class CheckReading:
    """A probe's judgement of one check (by `CheckSpec.key`), as of `at`."""

    check: str
    source: str
    at: datetime
    state: CheckState
    value: str
    reason: str = ""


@dataclass(frozen=True)
class Signoff:
    """A role's sign-off, as the `maestro-cutover` ConfigMap records it."""

    role: str
    by: str
    at: datetime | None
    note: str = ""


@dataclass(frozen=True)
class Signoffs:
    """Every recorded sign-off; `version` is the ConfigMap's resourceVersion."""

    by_role: Mapping[str, Signoff] = field(default_factory=dict)
    version: str = ""

    def of(self, role: str) -> Signoff | None:
        return self.by_role.get(role)


@dataclass(frozen=True)
class CheckResult:
    """A check as of now: its state, the value seen and why."""

    spec: CheckSpec
    state: CheckState
    value: str
    reason: str = ""
    source: str = ""

    @property
    def blocks(self) -> bool:
        return self.spec.required and self.state is not CheckState.PASS


@dataclass(frozen=True)
class GateResult:
    spec: GateSpec
    checks: tuple[CheckResult, ...]

    @property
    def state(self) -> CheckState:
        return combine(c.state for c in self.checks if c.spec.required)


@dataclass(frozen=True)
class GoNoGo:
    """The board: every gate's checks, the sign-offs, and the verdict with its blockers."""

    gates: tuple[GateResult, ...]
    signoffs: Signoffs
    verdict: Verdict

    @property
    def blockers(self) -> tuple[CheckResult, ...]:
        """The required checks not passing, the failing ones first."""
        found = [c for gate in self.gates for c in gate.checks if c.blocks]
        return tuple(sorted(found, key=lambda c: c.state is not CheckState.FAIL))

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles whose sign-off the matrix asks for, in order."""
        found = [
            c.spec.role for g in self.gates for c in g.checks if c.spec.kind is CheckKind.SIGNOFF
        ]
        return tuple(dict.fromkeys(found))

    def only(self, gate: str) -> GoNoGo:
        """The board narrowed to one gate, with that gate's verdict."""
        kept = tuple(g for g in self.gates if g.spec.id == gate)
        return GoNoGo(kept, self.signoffs, verdict_of(combine(g.state for g in kept)))

    def blocker_lines(self) -> tuple[str, ...]:
        return tuple(blocker_line(check) for check in self.blockers)


def blocker_line(check: CheckResult) -> str:
    spec = check.spec
    why = check.reason or check.value
    return f"{spec.gate} {spec.title}: {check.state.value}" + (f" ({why})" if why else "")


def combine(states: Iterable[CheckState]) -> CheckState:
    """Three-valued AND: a failure decides; else an unknown leaves it unknown."""
    seen = set(states)
    if CheckState.FAIL in seen:
        return CheckState.FAIL
    if CheckState.UNKNOWN in seen:
        return CheckState.UNKNOWN
    return CheckState.PASS


def verdict_of(state: CheckState) -> Verdict:
    return {
        CheckState.PASS: Verdict.GO,
        CheckState.FAIL: Verdict.NO_GO,
        CheckState.UNKNOWN: Verdict.UNKNOWN,
    }[state]


def format_value(value: float, unit: str) -> str:
    if unit == "ratio":
        return f"{value * 100:.1f}%"
    if unit == "s":
        return f"{value:.0f}s" if abs(value) >= 10 else f"{value:.1f}s"
    if unit == "$":
        return f"${value:.2f}"
    return f"{value:g}"


# Judging what probes measure --------------------------------------------------------------


def judge_promql(spec: CheckSpec, value: float | None, error: str = "") -> CheckState:
    """An expression's value against the check's comparator: no data, NaN and errors are
    unknown, never passed."""
    if error or value is None or math.isnan(value) or math.isinf(value):
        return CheckState.UNKNOWN
    compare = COMPARATORS[spec.op]
    return CheckState.PASS if compare(value, spec.threshold) else CheckState.FAIL


def promql_reading(
    spec: CheckSpec, value: float | None, source: str, at: datetime, error: str = ""
) -> CheckReading:
    """A promql check's reading from one evaluation of its expression."""
    state = judge_promql(spec, value, error)
    if error:
        shown, reason = "error", error
    elif value is None:
        shown, reason = "no data", "the expression returned nothing"
    elif math.isnan(value) or math.isinf(value):
        shown, reason = str(value), "not a number"
    else:
        shown = format_value(value, spec.unit)
        reason = "" if state is CheckState.PASS else f"needs {spec.criterion}"
    return CheckReading(spec.key, source, at, state, shown, reason)


def objects_reading(
    spec: CheckSpec,
    objects: Sequence[Mapping[str, Any]] | None,
    source: str,
    at: datetime,
    error: str = "",
) -> CheckReading:
    """A k8s_exists check from the objects found (None with `error` when the listing
    failed). Every object found must carry the required annotations."""
    if objects is None:
        return CheckReading(spec.key, source, at, CheckState.UNKNOWN, "error", error or "no answer")
    if not objects:
        return CheckReading(spec.key, source, at, CheckState.FAIL, "missing", f"no {spec.object}")
    lacking = []
    for obj in objects:
        metadata = obj.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        wrong = [k for k, v in spec.annotations.items() if annotations.get(k) != v]
        if wrong:
            lacking.append(f"{metadata.get('name', '?')} lacks {', '.join(sorted(wrong))}")
    if lacking:
        return CheckReading(
            spec.key, source, at, CheckState.FAIL, f"{len(lacking)}/{len(objects)} lacking",
            "; ".join(lacking),
        )  # fmt: skip
    found = "found" if len(objects) == 1 else f"{len(objects)} found"
    return CheckReading(spec.key, source, at, CheckState.PASS, found)


def cronjob_reading(
    spec: CheckSpec,
    cronjob: Mapping[str, Any] | None,
    source: str,
    at: datetime,
    error: str = "",
) -> CheckReading:
    """A k8s_cronjob_recent check from the CronJob (None when it is not there, or with
    `error` when it could not be read): its last successful run within `max_age`."""
    if error:
        return CheckReading(spec.key, source, at, CheckState.UNKNOWN, "error", error)
    if cronjob is None:
        return CheckReading(spec.key, source, at, CheckState.FAIL, "missing", f"no {spec.object}")
    status = cronjob.get("status") or {}
    last = _time(status.get("lastSuccessfulTime"))
    if last is None:
        return CheckReading(
            spec.key, source, at, CheckState.FAIL, "never succeeded", "no lastSuccessfulTime"
        )
    age = at - last
    shown = f"{format_duration(max(age, timedelta(0)))} ago"
    if age > spec.max_age:
        return CheckReading(
            spec.key, source, at, CheckState.FAIL, shown,
            f"older than {format_duration(spec.max_age)}",
        )  # fmt: skip
    return CheckReading(spec.key, source, at, CheckState.PASS, shown)


def _time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


# The board ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GateInputs:
    """What the room knows, for the checks it judges itself.

    `source_state(name)` judges a source: pass when connected and fresh, unknown when it is
    connecting, stale or in error, fail when no such source is configured, with the words to
    show; `alert_firing(name)` whether an alert is active (None when the alerts are not
    current); `reading(key)` a probe's reading, already judged for freshness.
    """

    source_state: Callable[[str], tuple[CheckState, str]]
    alert_firing: Callable[[str], bool | None]
    reading: Callable[[str], CheckResult | None]
    signoffs: Signoffs
    signoffs_current: bool
    signoffs_source: str = ""
    #: smoke / deploy_evidence: the room's judgement from the results it holds.
    verified: Callable[[CheckSpec], CheckResult] | None = None


def evaluate_gates(gates: Sequence[GateSpec], inputs: GateInputs) -> GoNoGo:
    results = tuple(
        GateResult(gate, tuple(_check(spec, inputs) for spec in gate.checks)) for gate in gates
    )
    state = combine(c.state for gate in results for c in gate.checks if c.spec.required)
    return GoNoGo(results, inputs.signoffs, verdict_of(state))


def _check(spec: CheckSpec, inputs: GateInputs) -> CheckResult:
    kind = spec.kind
    if kind in PROBED_KINDS:
        result = inputs.reading(spec.key)
        if result is None:
            return CheckResult(spec, CheckState.UNKNOWN, "—", "no reading yet")
        return result
    if kind in VERIFIED_KINDS:
        if inputs.verified is None:
            return CheckResult(spec, CheckState.UNKNOWN, "—", "no results yet")
        return inputs.verified(spec)
    if kind is CheckKind.SOURCE_HEALTHY:
        state, text = inputs.source_state(spec.source)
        return CheckResult(spec, state, text, "" if state is CheckState.PASS else text)
    if kind in (CheckKind.ALERT_ABSENT, CheckKind.ALERT_PRESENT):
        firing = inputs.alert_firing(spec.alertname)
        if firing is None:
            return CheckResult(spec, CheckState.UNKNOWN, "—", "alerts not current")
        wanted = kind is CheckKind.ALERT_PRESENT
        state = CheckState.PASS if firing == wanted else CheckState.FAIL
        return CheckResult(spec, state, "firing" if firing else "clear")
    # A sign-off.
    if not inputs.signoffs_current:
        return CheckResult(spec, CheckState.UNKNOWN, "—", "sign-offs not current")
    signed = inputs.signoffs.of(spec.role)
    if signed is None:
        return CheckResult(spec, CheckState.FAIL, "unsigned", "", inputs.signoffs_source)
    return CheckResult(spec, CheckState.PASS, f"signed by {signed.by}", "", inputs.signoffs_source)


def with_triggers(board: GoNoGo, trigger_states: Iterable[str]) -> Verdict:
    """`check`'s overall verdict: the board's, and NO-GO while a rollback trigger is pending
    or firing (UNKNOWN while one cannot be evaluated)."""
    states = [board.verdict]
    for state in trigger_states:
        if state in ("pending", "firing"):
            states.append(Verdict.NO_GO)
        elif state == "unknown":
            states.append(Verdict.UNKNOWN)
    as_checks = {Verdict.GO: CheckState.PASS, Verdict.NO_GO: CheckState.FAIL}
    return verdict_of(combine(as_checks.get(v, CheckState.UNKNOWN) for v in states))
