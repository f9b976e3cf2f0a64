"""The plan's defaults beyond single settings: the rollback playbook's triggers and the
Go/No-Go gate matrix, used when `config.toml` lists none, each made from the configured
thresholds. (A single setting's default, a threshold's say, is on its field in `schema`.)
"""

from __future__ import annotations

from ..signers import SIGNOFF_ROLES
from .schema import Config, GateSection, ThresholdsSection, TriggerSection


def default_triggers(thresholds: ThresholdsSection) -> tuple[TriggerSection, ...]:
    """The rollback playbook's triggers, used when the config lists none."""
    t = thresholds
    defaults: tuple[dict[str, object], ...] = (
        {"id": "success-rate", "title": "Success rate under target", "signal": "success_rate",
         "below": t.success_rate_target, "clear": min(1.0, t.success_rate_target + 0.002),
         "for": "5m"},
        {"id": "queue-p95", "title": "Queue wait p95 breach", "signal": "queue_wait_p95",
         "above": t.queue_wait_p95_limit_s, "clear": t.queue_wait_p95_limit_s * 0.9,
         "for": "5m"},
        {"id": "critical-cve", "title": "Critical CVE", "alertname": "MaestroCriticalCVE"},
        {"id": "audit-failure", "title": "Audit failure", "alertname": "MaestroAuditFailure"},
    )  # fmt: skip
    return tuple(TriggerSection.model_validate(item) for item in defaults)


_GATEKEEPER = "constraints.gatekeeper.sh/v1beta1"


def default_gates(config: Config) -> tuple[GateSection, ...]:
    """The plan's gate matrix (section 2), A to H, and its sign-off line.

    A check names the source that answers it where that depends on what is configured:
    Prometheus for metrics, MQTT for events, the cluster for rollouts; the simulator where
    it stands in for them.
    """
    enabled = set(config.sources.enabled())
    t = config.thresholds
    smoke = config.smoke

    def source(real: str) -> str:
        return real if real in enabled or "sim" not in enabled else "sim"

    gatekeeper = [
        ("required-imagedigest", "k8srequiredimagedigest", "Gatekeeper: images by digest"),
        ("disallow-latest", "k8sdisallowedtags", "Gatekeeper: no :latest tags"),
        ("required-limits", "k8scontainerlimits", "Gatekeeper: resource limits"),
        ("required-annotations-values", "k8srequiredannotations",
         "Gatekeeper: required annotation values"),
    ]  # fmt: skip
    matrix: list[dict[str, object]] = [
        {"id": "A", "title": "Platform reliability & scale", "checks": [
            {"id": "success-7d", "title": "Job success rate over 7 days", "kind": "promql",
             "query": "success_rate_7d", "op": ">=", "threshold": t.success_rate_target,
             "unit": "ratio"},
            {"id": "queue-p95", "title": "Queue wait p95", "kind": "promql",
             "query": "queue_wait_p95", "op": "<=", "threshold": t.queue_wait_p95_limit_s,
             "unit": "s"},
            {"id": "saturation", "title": "Executor saturation under load", "kind": "promql",
             "query": "executor_saturation", "op": "<=",
             "threshold": t.executor_saturation_limit, "unit": "ratio"},
            {"id": "smoke-suite", "title": "Smoke suite passed", "kind": "smoke",
             "max_age": smoke.max_age},
        ]},
        {"id": "B", "title": "Observability & SLOs", "checks": [
            {"id": "metrics", "title": "Metrics wired", "kind": "source_healthy",
             "source": source("prometheus")},
            {"id": "events", "title": "Build events flowing", "kind": "source_healthy",
             "source": source("mqtt")},
            {"id": "paging", "title": "Paging route live (Watchdog)", "kind": "alert_present",
             "alertname": "Watchdog"},
            {"id": "cost", "title": "Cost per build within budget", "kind": "promql",
             "query": "cost_per_build", "op": "<=", "threshold": t.cost_per_build_limit,
             "unit": "$"},
        ]},
        {"id": "C", "title": "Security, governance & compliance", "checks": [
            *({"id": name, "title": title, "kind": "k8s_exists",
               "resource": f"{_GATEKEEPER}/{plural}", "name": name}
              for name, plural, title in gatekeeper),
            {"id": "kyverno-verify", "title": "Kyverno image verification", "kind": "k8s_exists",
             "resource": "kyverno.io/v1/clusterpolicies", "name": "verify-maestro-images"},
            {"id": "secrets", "title": "Secrets from External Secrets", "kind": "k8s_exists",
             "resource": "external-secrets.io/v1beta1/externalsecrets",
             "namespace": "maestro-system", "name": "maestro-secrets"},
            {"id": "signed-rollouts", "title": "Rollouts signed, with SBOM",
             "kind": "k8s_exists", "resource": "argoproj.io/v1alpha1/rollouts",
             "label_selector": config.sources.kubernetes.label_selector,
             "annotations": {"intelgraph.dev/signed": "true", "intelgraph.dev/sbom": "spdx"}},
            {"id": "no-critical-cve", "title": "No critical CVE", "kind": "alert_absent",
             "alertname": "MaestroCriticalCVE"},
            {"id": "audit", "title": "Audit passing", "kind": "alert_absent",
             "alertname": "MaestroAuditFailure"},
            {"id": "deploy-evidence", "title": "Prod deploys witnessed and signed",
             "kind": "deploy_evidence", "env": "prod", "max_age": smoke.evidence_period},
        ]},
        {"id": "D", "title": "Deployment, environments & IaC", "checks": [
            {"id": "slo-analysis", "title": "SLO analysis template", "kind": "k8s_exists",
             "resource": "argoproj.io/v1alpha1/analysistemplates",
             "namespace": "maestro-system", "name": "maestro-slo"},
            {"id": "rollouts-watched", "title": "Rollouts watched", "kind": "source_healthy",
             "source": source("kubernetes")},
            {"id": "staging-deploy", "title": "Staging deploy smoke test", "kind": "smoke",
             "test": "staging-deploy", "max_age": smoke.max_age},
            {"id": "promotion-gate", "title": "Promotion gate smoke test", "kind": "smoke",
             "test": "promotion-gate", "max_age": smoke.max_age},
        ]},
        {"id": "E", "title": "Disaster recovery", "checks": [
            {"id": "db-backup", "title": "Database backup", "kind": "k8s_cronjob_recent",
             "resource": "batch/v1/cronjobs", "namespace": "maestro-system",
             "name": "maestro-db-backup", "max_age": "26h"},
            {"id": "config-backup", "title": "Config backup", "kind": "k8s_cronjob_recent",
             "resource": "batch/v1/cronjobs", "namespace": "maestro-system",
             "name": "maestro-config-backup", "max_age": "26h"},
        ]},
        {"id": "F", "title": "Migration & parity", "checks": [
            {"id": "shadow-pass", "title": "Shadow builds match legacy", "kind": "promql",
             "query": "shadow_pass", "op": ">=", "threshold": t.shadow_pass_min,
             "unit": "ratio"},
            {"id": "flake-rate", "title": "Flake rate", "kind": "promql", "query": "flake_rate",
             "op": "<=", "threshold": t.flake_rate_limit, "unit": "ratio"},
        ]},
        {"id": "G", "title": "Integrations", "checks": [
            {"id": "integrations", "title": "SCM, GHCR, Jira, Slack up", "kind": "alert_absent",
             "alertname": "MaestroIntegrationDown"},
        ]},
        {"id": "H", "title": "People, enablement & process", "checks": [
            {"id": "runbooks", "title": "Runbooks published", "kind": "k8s_exists",
             "resource": "v1/configmaps", "namespace": "maestro-system",
             "name": "maestro-runbooks"},
        ]},
        {"id": "Sign-off", "title": "Go/No-Go sign-off", "checks": [
            {"id": role.lower().replace(" ", "-").replace("/", "-"), "title": role,
             "kind": "signoff", "role": role}
            for role in SIGNOFF_ROLES
        ]},
    ]  # fmt: skip
    return tuple(GateSection.model_validate(gate) for gate in matrix)
