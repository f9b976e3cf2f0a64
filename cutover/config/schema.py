"""The schema of `config.toml`: one typed, validated section per table, each setting with
its default beside its type.

Reading the file lives in `tui.configfile`; this module only validates a parsed TOML
document, so it stays free of I/O.
"""

from __future__ import annotations

import types
import typing
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from ..action_registry import KEYMAP_ACTIONS  # every action's id, named once
from ..durations import parse_duration
from ..gates import ObjectRef
from ..kpis import SIGNAL_UNITS
from ..signers import SIGNOFF_ROLES


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A bare number has no unit: 120 could be seconds or minutes. Say it with one.
        raise ValueError(
            f"expected a duration string with its unit, such as '{value}s' or '5m',"
            f" not the bare number {value}"
        )
    raise ValueError("expected a duration such as '90s', '5m', '48h' or '1d2h'")


def _not_negative(value: timedelta) -> timedelta:
    if value < timedelta(0):
        raise ValueError("expected a duration of 0 or more")
    return value


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("expected a duration of more than 0, such as '1s'")
    return value


#: A duration where 0 means "none" (a trigger's `for`, a warm-up, a backfill).
Duration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_not_negative)]
#: A duration that must pass: a refresh, an age, a timeout, a period.
PositiveDuration = Annotated[timedelta, BeforeValidator(_duration), AfterValidator(_positive)]


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(
            f"expected an http:// or https:// URL with a host, such as"
            f" 'http://127.0.0.1:9090', got {value!r}"
        )
    return value


def _http_url_or_empty(value: str) -> str:
    return _http_url(value) if value else value


HttpUrl = Annotated[str, AfterValidator(_http_url)]


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("go_live needs a timezone, for example 2026-12-01T09:00:00+00:00")
    return value


def _fraction(value: float) -> float:
    if not 0 <= value <= 1:
        raise ValueError("expected a fraction between 0 and 1 (0.98 for 98 %)")
    return value


Fraction = Annotated[float, AfterValidator(_fraction)]
Positive = Annotated[float, Field(gt=0)]


def _plain_type(annotation: Any) -> Any:
    """`bool`, `int`, `float` or `str` behind an optional or annotated field; else None."""
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        kinds = [arg for arg in args if arg is not type(None)]
        return _plain_type(kinds[0]) if len(kinds) == 1 else None
    return annotation if annotation in (bool, int, float, str) else None


def _type_problem(kind: Any, value: object) -> str:
    """Why `value` is not a TOML value of `kind`, or ''. Pydantic's lax mode would read
    "false" as a boolean and "0.98" as a number: a config says what it means."""
    if kind is bool and not isinstance(value, bool):
        return "expected true or false"
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        return "expected a whole number"
    if kind is float and (isinstance(value, bool) or not isinstance(value, int | float)):
        return "expected a number"
    if kind is str and not isinstance(value, str):
        return "expected a string in quotes"
    return ""


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _exact_types(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, field in cls.model_fields.items():
            key = field.alias or name
            if key not in data or data[key] is None:
                continue
            problem = _type_problem(_plain_type(field.annotation), data[key])
            if problem:
                raise ValueError(f"{key}: {problem}, got {data[key]!r}")
        return data


class CutoverSection(Section):
    """`[cutover]`: what is being cut over, and when it goes live."""

    name: str = "Maestro cutover"
    go_live: Annotated[datetime, AfterValidator(_aware)]


class ThresholdsSection(Section):
    """`[thresholds]`: the plan's KPI targets; `*_warn` is where a tile turns amber."""

    success_rate_target: Fraction = 0.98
    success_rate_warn: Fraction = 0.985
    queue_wait_p95_limit_s: Positive = 120.0
    queue_wait_p95_warn_s: Positive = 90.0
    green_period: PositiveDuration = timedelta(hours=48)
    build_duration_mean_limit_s: Positive = 1200.0
    build_duration_mean_warn_s: Positive = 900.0
    flake_rate_limit: Fraction = 0.02
    flake_rate_warn: Fraction = 0.01
    executor_saturation_limit: Fraction = 0.9
    executor_saturation_warn: Fraction = 0.75
    cost_per_build_limit: Positive = 0.75
    cost_per_build_warn: Positive = 0.6
    #: Gate F: shadow builds matching legacy, over all waves.
    shadow_pass_min: Fraction = 0.95

    @model_validator(mode="after")
    def _warn_before_breach(self) -> ThresholdsSection:
        """A warning level is on the safe side of its limit, or the tile never warns."""
        pairs = (
            ("queue_wait_p95_warn_s", "queue_wait_p95_limit_s"),
            ("build_duration_mean_warn_s", "build_duration_mean_limit_s"),
            ("flake_rate_warn", "flake_rate_limit"),
            ("executor_saturation_warn", "executor_saturation_limit"),
            ("cost_per_build_warn", "cost_per_build_limit"),
        )
        for warn, limit in pairs:
            if getattr(self, warn) > getattr(self, limit):
                raise ValueError(
                    f"{warn}: {getattr(self, warn)} is beyond {limit} ({getattr(self, limit)}):"
                    " expected a warning level at or below the limit, so the tile warns first"
                )
        if self.success_rate_warn < self.success_rate_target:
            raise ValueError(
                f"success_rate_warn: {self.success_rate_warn} is beyond success_rate_target"
                f" ({self.success_rate_target}): expected a warning level at or above the"
                " target, so the tile warns first"
            )
        return self


class QueriesSection(Section):
    """`[queries]`: the contract's PromQL, one per signal."""

    queue_wait_p95: str = (
        "histogram_quantile(0.95, sum by (le) (rate(maestro_queue_wait_seconds_bucket[5m])))"
    )
    success_rate: str = (
        'sum(rate(maestro_jobs_total{status="success"}[15m]))'
        ' / sum(rate(maestro_jobs_total{status!="cancelled"}[15m]))'
    )
    success_rate_7d: str = (
        'sum(rate(maestro_jobs_total{status="success"}[7d]))'
        ' / sum(rate(maestro_jobs_total{status!="cancelled"}[7d]))'
    )
    build_duration_mean: str = (
        "sum(rate(maestro_job_duration_seconds_sum[15m]))"
        " / sum(rate(maestro_job_duration_seconds_count[15m]))"
    )
    flake_rate: str = "sum(rate(maestro_flaky_jobs_total[1h])) / sum(rate(maestro_jobs_total[1h]))"
    executor_saturation: str = "sum(maestro_executors_busy) / sum(maestro_executors_total)"
    cost_per_build: str = (
        "sum(rate(maestro_build_cost_dollars_total[1h])) / sum(rate(maestro_jobs_total[1h]))"
    )
    shadow_pass_by_wave: str = (
        'sum by (wave) (rate(maestro_shadow_builds_total{result="match"}[1h]))'
        " / sum by (wave) (rate(maestro_shadow_builds_total[1h]))"
    )
    repo_states: str = "maestro_repo_cutover_state == 1"
    shadow_pass: str = (
        'sum(rate(maestro_shadow_builds_total{result="match"}[1h]))'
        " / sum(rate(maestro_shadow_builds_total[1h]))"
    )


class TriggerSection(Section):
    """`[[triggers]]`: one rollback trigger. Exactly one of `below`, `above`, `alertname`."""

    id: str
    title: str = ""
    signal: str = ""
    below: float | None = None
    above: float | None = None
    clear: float | None = None
    alertname: str | None = None
    for_: Duration = Field(default=timedelta(0), alias="for")

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _one_condition(self) -> TriggerSection:
        names = ("below", "above", "alertname")
        given = [name for name in names if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"trigger {self.id!r}: expected exactly one of 'below', 'above' or 'alertname',"
                f" got {', '.join(given) or 'none'}"
            )
        if self.alertname is None and not self.signal:
            raise ValueError(f"trigger {self.id!r}: a threshold trigger needs 'signal'")
        if self.alertname is None and self.signal not in SIGNAL_UNITS:
            raise ValueError(
                f"trigger {self.id!r}: signal {self.signal!r} is not a signal the control room"
                f" measures; expected one of {', '.join(SIGNAL_UNITS)}"
            )
        if self.clear is not None:
            if self.below is not None and self.clear < self.below:
                raise ValueError(f"trigger {self.id!r}: 'clear' must be at or above 'below'")
            if self.above is not None and self.clear > self.above:
                raise ValueError(f"trigger {self.id!r}: 'clear' must be at or below 'above'")
        return self


class WavesSection(Section):
    """`[waves]`: the migration workbook; a relative path is from the config file's folder."""

    workbook: str


class SimSection(Section):
    """`[sources.sim]`: the built-in simulator of the Maestro platform."""

    enabled: bool = True
    seed: int = 7
    scenario: str = "brownout"
    time_scale: Annotated[float, Field(ge=0)] = 10.0
    refresh: PositiveDuration = timedelta(seconds=1)
    max_age: PositiveDuration = timedelta(seconds=10)
    start: str = "T+1d2h"
    warmup: Duration = timedelta(minutes=30)
    #: Argo Rollouts in the simulated cluster: Maestro's three, then the runner fleet's.
    rollouts: Annotated[int, Field(ge=3, le=10_000)] = 3

    @model_validator(mode="after")
    def _start(self) -> SimSection:
        start_offset(self.start)
        return self


def start_offset(text: str) -> timedelta:
    """`T+1d2h` / `T-3d` as an offset from go-live."""
    spec = text.strip()
    if len(spec) < 3 or spec[0] != "T" or spec[1] not in "+-":
        raise ValueError(
            f"expected a point on the timeline such as 'T+1d2h' or 'T-7d', got {text!r}"
        )
    offset = parse_duration(spec[2:])
    return offset if spec[1] == "+" else -offset


class PrometheusSection(Section):
    """`[sources.prometheus]`: PromQL against Prometheus, Thanos or Mimir."""

    enabled: bool = False
    url: HttpUrl = "http://127.0.0.1:9090"
    refresh: PositiveDuration = timedelta(seconds=15)
    max_age: PositiveDuration = timedelta(seconds=60)
    timeout: PositiveDuration = timedelta(seconds=5)
    backfill: Duration = timedelta(minutes=30)
    #: The `up` series of the scrape job behind the KPIs; "" to not check the exporter.
    exporter_up: str = 'up{job="maestro"}'
    bearer_token_file: str | None = None
    bearer_token_env: str | None = None
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    ca_bundle: str | None = None
    insecure: bool = False


class MqttSection(Section):
    """`[sources.mqtt]`: build and platform events, and the retained freeze state."""

    enabled: bool = False
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 1883
    client_id: str = ""
    persistent_session: bool = False
    username: str | None = None
    password_file: str | None = None
    password_env: str | None = None
    tls: bool = False
    ca_bundle: str | None = None
    refresh: PositiveDuration = timedelta(milliseconds=250)
    max_age: PositiveDuration = timedelta(seconds=120)
    keepalive: PositiveDuration = timedelta(seconds=15)
    #: `#`, not `+`: a repository name such as `payments/svc-api` spans two topic levels.
    events_topic: str = "maestro/events/#"
    platform_topic: str = "maestro/platform"
    freeze_topic: str = "maestro/cutover/freeze"
    operators_topic: str = "maestro/cutover/operators"
    audit_topic: str = "maestro/cutover/audit"
    #: The rollback playbook's run and the routing switch, both retained.
    playbook_topic: str = "maestro/cutover/playbook"
    routing_topic: str = "maestro/cutover/routing"
    #: The smoke suite's results (`<suite>/<test>`), the drills' and the deploys'.
    smoke_topic: str = "maestro/smoke"
    drill_topic: str = "maestro/drill"
    deploy_topic: str = "maestro/deploy"


class AlertmanagerSection(Section):
    """`[sources.alertmanager]`: active alerts that drive the CVE and audit triggers."""

    enabled: bool = False
    url: HttpUrl = "http://127.0.0.1:9093"
    refresh: PositiveDuration = timedelta(seconds=15)
    max_age: PositiveDuration = timedelta(seconds=60)
    timeout: PositiveDuration = timedelta(seconds=5)


class KubernetesSection(Section):
    """`[sources.kubernetes]`: Argo Rollouts and the `maestro-cutover` ConfigMap."""

    enabled: bool = False
    kubeconfig: str | None = None
    context: str | None = None
    namespaces: tuple[str, ...] = ("maestro-system",)
    label_selector: str = "app.kubernetes.io/part-of=maestro"
    configmap_namespace: str = "maestro-system"
    configmap_name: str = "maestro-cutover"
    refresh: PositiveDuration = timedelta(seconds=30)
    max_age: PositiveDuration = timedelta(seconds=90)


class GithubSection(Section):
    """`[sources.github]`: the CD and smoke workflows' runs and artifacts (GitHub Actions),
    and where `workflow_dispatch` sends the smoke suite and the CD dry run."""

    enabled: bool = False
    url: str = "https://api.github.com"
    #: `owner/name`.
    repository: str = ""
    token_file: str | None = None
    token_env: str | None = None
    refresh: Duration = timedelta(seconds=60)
    max_age: Duration = timedelta(minutes=10)
    timeout: Duration = timedelta(seconds=10)
    #: The CD workflows whose runs are deploys, and the smoke suite's workflow.
    deploy_workflows: tuple[str, ...] = ("cd.yml", "auto-pin-and-deploy.yml")
    smoke_workflow: str = "smoke.yml"
    #: What `workflow_dispatch` runs: the CD workflow's dry run takes `no_op=true`.
    dry_run_workflow: str = "cd.yml"
    ref: str = "main"
    #: Artifact name prefixes that are a deploy's evidence.
    witness_artifact: str = "witness"
    cosign_artifact: str = "cosign-verify"
    sbom_artifact: str = "sbom"

    @model_validator(mode="after")
    def _repository(self) -> GithubSection:
        if self.enabled and self.repository.count("/") != 1:
            raise ValueError(f"repository: expected owner/name, got {self.repository!r}")
        return self


class SourcesSection(Section):
    sim: SimSection = SimSection()
    prometheus: PrometheusSection = PrometheusSection()
    mqtt: MqttSection = MqttSection()
    alertmanager: AlertmanagerSection = AlertmanagerSection()
    kubernetes: KubernetesSection = KubernetesSection()
    github: GithubSection = GithubSection()

    def enabled(self) -> tuple[str, ...]:
        names = ("sim", "prometheus", "mqtt", "alertmanager", "kubernetes", "github")
        return tuple(name for name in names if getattr(self, name).enabled)


class AuditSection(Section):
    """`[audit]`: the tamper-evident journal of every action."""

    #: Empty means `$XDG_STATE_HOME/maestro-control-room/audit.jsonl`.
    path: str = ""


class GrafanaSection(Section):
    """`[announce.grafana]`: an annotation on the cutover dashboard for every action."""

    enabled: bool = False
    url: HttpUrl = "http://127.0.0.1:3000"
    dashboard_uid: str = ""
    token_file: str | None = None
    token_env: str | None = None
    timeout: PositiveDuration = timedelta(seconds=5)


class SlackSection(Section):
    """`[announce.slack]`: a message to an incoming webhook for every action."""

    enabled: bool = False
    webhook_url_file: str | None = None
    webhook_url_env: str | None = None
    timeout: PositiveDuration = timedelta(seconds=5)


class AnnounceSection(Section):
    """`[announce]`: who hears about actions. MQTT uses `[sources.mqtt]`'s connection."""

    mqtt_freeze: bool = True
    mqtt_audit: bool = True
    mqtt_presence: bool = True
    grafana: GrafanaSection = GrafanaSection()
    slack: SlackSection = SlackSection()


class ActionsSection(Section):
    """`[actions]`: who acts, and whether anyone may."""

    read_only: bool = False
    #: Kubernetes contexts (shell patterns such as "prod-*") in which the control room is
    #: read-only whatever else is said.
    read_only_contexts: tuple[str, ...] = ()
    operator: str = ""
    freeze_reason: str = "freeze from the control room"


CheckKindName = Literal[
    "promql",
    "source_healthy",
    "alert_absent",
    "alert_present",
    "k8s_exists",
    "k8s_cronjob_recent",
    "signoff",
    "smoke",
    "deploy_evidence",
]


class CheckSection(Section):
    """`[[gates.checks]]`: one check. Which keys it needs depends on `kind`."""

    id: str
    title: str = ""
    kind: CheckKindName
    required: bool = True
    #: promql: a `[queries]` name, or an expression of its own.
    query: str = ""
    expr: str = ""
    op: Literal[">=", "<=", ">", "<", "=="] = ">="
    threshold: float | None = None
    unit: str = ""
    #: source_healthy.
    source: str = ""
    #: alert_absent / alert_present.
    alertname: str = ""
    #: k8s_exists / k8s_cronjob_recent: `group/version/plural` (`v1/configmaps` for core).
    resource: str = ""
    namespace: str = ""
    name: str = ""
    label_selector: str = ""
    annotations: dict[str, str] = Field(default_factory=dict)
    max_age: PositiveDuration = timedelta(hours=26)
    #: signoff: one of the plan's roles.
    role: str = ""
    #: smoke: one test of the suite; empty for the whole suite.
    test: str = ""
    #: deploy_evidence: the environment whose deploys need a witness and a signature.
    env: str = "prod"

    @model_validator(mode="after")
    def _needs(self) -> CheckSection:
        kind, needs = self.kind, []
        if kind == "promql":
            if bool(self.query) == bool(self.expr):
                needs.append("exactly one of 'query' (a [queries] name) or 'expr'")
            elif self.query and self.query not in QueriesSection.model_fields:
                known = ", ".join(QueriesSection.model_fields)
                needs.append(f"'query' to name a [queries] entry ({known}), not {self.query!r}")
            if self.threshold is None:
                needs.append("'threshold'")
        elif kind == "source_healthy" and not self.source:
            needs.append("'source' (sim, prometheus, mqtt, alertmanager or kubernetes)")
        elif kind in ("alert_absent", "alert_present") and not self.alertname:
            needs.append("'alertname'")
        elif kind in ("k8s_exists", "k8s_cronjob_recent"):
            try:
                ObjectRef.parse(self.resource)
            except ValueError as error:
                needs.append(f"'resource': {error}")
            if kind == "k8s_cronjob_recent" and not (self.namespace and self.name):
                needs.append("'namespace' and 'name' of the CronJob")
            if kind == "k8s_exists" and not (self.name or self.label_selector):
                needs.append("'name' or 'label_selector'")
        elif kind == "signoff" and not self.role:
            needs.append("'role'")
        if needs:
            raise ValueError(f"check {self.id!r} ({kind}) needs " + "; ".join(needs))
        return self


class GateSection(Section):
    """`[[gates]]`: one gate of the Go/No-Go matrix and its checks."""

    id: str
    title: str = ""
    checks: tuple[CheckSection, ...]

    @model_validator(mode="after")
    def _unique(self) -> GateSection:
        ids = [check.id for check in self.checks]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"gate {self.id!r}: check ids repeated: {', '.join(repeated)}")
        return self


class SignoffSection(Section):
    """`[signoffs."ROLE"]`: who may sign one Go/No-Go role (and withdraw its sign-off)."""

    #: User names, as the cluster names them (SelfSubjectReview) or, without a cluster,
    #: the control room's operator.
    users: tuple[str, ...] = ()
    #: Groups, as the cluster names them; a member of any may sign.
    groups: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _someone(self) -> SignoffSection:
        if not (self.users or self.groups):
            raise ValueError("users: expected at least one user or group who may sign")
        return self


class ServeSection(Section):
    """`[serve]`: the browser view (`maestro-control-room serve`), always read-only.

    Loopback by default, reached through an SSH tunnel: the view has no login of its own."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 8566
    #: The address the browser uses, when it differs from host:port (a tunnel's local port).
    public_url: Annotated[str, AfterValidator(_http_url_or_empty)] = ""


class SmokeSection(Section):
    """`[smoke]`: the plan's smoke suite (§4), its drills and the deploys' evidence."""

    suite: str = "maestro"
    #: A test not run within this is stale, never passed.
    max_age: Duration = timedelta(hours=6)
    #: A drill not run within this is stale.
    drill_max_age: Duration = timedelta(days=14)
    #: The drill whose last pass says the rollback path exists (Definition of Done).
    rollback_drill: str = "rollback"
    #: `deploy_evidence`: how far back every prod deploy must carry its evidence.
    evidence_period: Duration = timedelta(days=7)


class DoneSection(Section):
    """`[done]`: the plan's Definition of Done (§1)."""

    #: The workbook tiers that must build on Maestro by default.
    tiers: tuple[str, ...] = ("0", "1")
    #: How long every KPI must have stayed green.
    slo_period: Duration = timedelta(days=14)
    #: The sign-offs the audit and security reviews record.
    signoffs: tuple[str, ...] = ("Security", "Compliance/Legal")


class HandoverSection(Section):
    """`[handover]`: the shift handover written by `h` and `maestro-control-room handover`."""

    #: Empty means `$XDG_STATE_HOME/maestro-control-room`.
    dir: str = ""
    #: How far back a handover written by `h` looks.
    period: PositiveDuration = timedelta(hours=12)


class UiSection(Section):
    """`[ui]`: refresh, look and keys."""

    refresh: PositiveDuration = timedelta(seconds=1)
    theme: str = "textual-dark"
    mouse: bool = False
    bell: bool = True
    #: The least time between two notifications of the same kind, so a flap rings once.
    notify_interval: Duration = timedelta(seconds=30)
    event_lines: Annotated[int, Field(ge=10, le=10_000)] = 500
    history_points: Annotated[int, Field(ge=10, le=1_000)] = 120
    history_interval: PositiveDuration = timedelta(seconds=15)
    keymap: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_keys(self) -> UiSection:
        unknown = sorted(set(self.keymap) - set(KEYMAP_ACTIONS))
        if unknown:
            raise ValueError(
                f"keymap: unknown action(s) {', '.join(unknown)}; expected some of "
                + ", ".join(KEYMAP_ACTIONS)
            )
        return self


class Config(Section):
    """The whole `config.toml`."""

    cutover: CutoverSection
    thresholds: ThresholdsSection = ThresholdsSection()
    queries: QueriesSection = QueriesSection()
    triggers: tuple[TriggerSection, ...] = ()
    #: The Go/No-Go matrix; empty means the plan's gates A to H and its six sign-offs.
    gates: tuple[GateSection, ...] = ()
    waves: WavesSection
    sources: SourcesSection = SourcesSection()
    actions: ActionsSection = ActionsSection()
    audit: AuditSection = AuditSection()
    announce: AnnounceSection = AnnounceSection()
    ui: UiSection = UiSection()
    serve: ServeSection = ServeSection()
    handover: HandoverSection = HandoverSection()
    #: Go/No-Go role -> who may sign it. Empty: anyone may sign any role.
    signoffs: dict[str, SignoffSection] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _signers(self) -> Config:
        if not self.signoffs:
            return self
        roles = signoff_roles(self)
        unknown = [role for role in self.signoffs if role not in roles]
        if unknown:
            raise ValueError(
                f"signoffs: {', '.join(repr(r) for r in unknown)} is not a sign-off role;"
                f" expected the gate matrix's roles: {', '.join(roles)}"
            )
        missing = [role for role in roles if role not in self.signoffs]
        if missing:
            raise ValueError(
                f"signoffs: no signers for {', '.join(missing)}; expected every role to name"
                " who may sign it (or leave [signoffs] out: then anyone may sign)"
            )
        return self

    smoke: SmokeSection = SmokeSection()
    done: DoneSection = DoneSection()

    @model_validator(mode="after")
    def _sources(self) -> Config:
        if not self.sources.enabled():
            raise ValueError("no source is enabled: enable [sources.sim] or a real source")
        ids = [trigger.id for trigger in self.triggers]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"trigger ids must be unique: {', '.join(duplicates)} repeated")
        gate_ids = [gate.id for gate in self.gates]
        repeated = sorted({i for i in gate_ids if gate_ids.count(i) > 1})
        if repeated:
            raise ValueError(f"gate ids must be unique: {', '.join(repeated)} repeated")
        return self


def signoff_roles(config: Config) -> tuple[str, ...]:
    """The roles of the sign-off line: the configured matrix's, or the plan's six."""
    if not config.gates:
        return SIGNOFF_ROLES
    roles = [c.role for g in config.gates for c in g.checks if c.kind == "signoff"]
    return tuple(dict.fromkeys(roles))


SourceName = Literal["sim", "prometheus", "mqtt", "alertmanager", "kubernetes", "github"]
