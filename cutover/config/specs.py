"""A validated config as the domain's specs: the KPI tiles, the triggers, the gates, the
sign-off policy and the room's settings, with the plan's defaults where the config is silent.
"""

from __future__ import annotations

from ..gates import CheckKind, CheckSpec, GateSpec, ObjectRef
from ..kpis import SIGNAL_UNITS, KpiSpec
from ..room import RoomSettings
from ..signers import SignoffPolicy, SignoffRule
from ..triggers import Comparison, TriggerSpec
from ..waves import Workbook
from .defaults import default_gates, default_triggers
from .schema import Config, ThresholdsSection


def kpi_specs(thresholds: ThresholdsSection) -> tuple[KpiSpec, ...]:
    """The KPI tiles, in the order the dashboard shows them."""
    t = thresholds
    above, below = Comparison.ABOVE, Comparison.BELOW
    return (
        KpiSpec("queue_wait_p95", "Queue p95", "s", above, t.queue_wait_p95_limit_s,
                t.queue_wait_p95_warn_s),
        KpiSpec("success_rate", "Success", "ratio", below, t.success_rate_target,
                t.success_rate_warn),
        KpiSpec("success_rate_7d", "Success 7d", "ratio", below, t.success_rate_target,
                t.success_rate_warn),
        KpiSpec("build_duration_mean", "Build mean", "s", above, t.build_duration_mean_limit_s,
                t.build_duration_mean_warn_s),
        KpiSpec("flake_rate", "Flake", "ratio", above, t.flake_rate_limit, t.flake_rate_warn),
        KpiSpec("executor_saturation", "Saturation", "ratio", above,
                t.executor_saturation_limit, t.executor_saturation_warn),
        KpiSpec("cost_per_build", "Cost/build", "$", above, t.cost_per_build_limit,
                t.cost_per_build_warn),
    )  # fmt: skip


def trigger_specs(config: Config) -> tuple[TriggerSpec, ...]:
    """The configured rollback triggers, or the playbook's, as the room evaluates them."""
    sections = config.triggers or default_triggers(config.thresholds)
    specs = []
    for section in sections:
        if section.alertname is not None:
            specs.append(
                TriggerSpec(
                    id=section.id,
                    title=section.title or section.alertname,
                    signal=f"alert:{section.alertname}",
                    comparison=Comparison.ABOVE,
                    threshold=0.5,
                    for_=section.for_,
                    alertname=section.alertname,
                )
            )
            continue
        below = section.below is not None
        threshold = section.below if below else section.above
        assert threshold is not None
        specs.append(
            TriggerSpec(
                id=section.id,
                title=section.title or section.id,
                signal=section.signal,
                comparison=Comparison.BELOW if below else Comparison.ABOVE,
                threshold=threshold,
                clear=section.clear,
                for_=section.for_,
                unit=SIGNAL_UNITS.get(section.signal, ""),
            )
        )
    return tuple(specs)


def signoff_policy(config: Config) -> SignoffPolicy:
    """`[signoffs]` as the rule for each role."""
    return SignoffPolicy(
        {
            role: SignoffRule(tuple(section.users), tuple(section.groups))
            for role, section in config.signoffs.items()
        }
    )


def gate_specs(config: Config) -> tuple[GateSpec, ...]:
    """The configured gate matrix, or the plan's, with query names resolved."""
    gates = []
    for gate in config.gates or default_gates(config):
        checks = []
        for c in gate.checks:
            where = {"namespace": c.namespace, "name": c.name, "label_selector": c.label_selector}
            checks.append(
                CheckSpec(
                    id=c.id,
                    gate=gate.id,
                    title=c.title or c.id,
                    kind=CheckKind(c.kind),
                    required=c.required,
                    expr=getattr(config.queries, c.query) if c.query else c.expr,
                    op=c.op,
                    threshold=c.threshold if c.threshold is not None else 0.0,
                    unit=c.unit or SIGNAL_UNITS.get(c.query, ""),
                    source=c.source,
                    alertname=c.alertname,
                    object=ObjectRef.parse(c.resource, **where) if c.resource else None,
                    annotations=dict(c.annotations),
                    max_age=c.max_age,
                    role=c.role,
                    test=c.test,
                    env=c.env,
                )
            )
        gates.append(GateSpec(gate.id, gate.title or gate.id, tuple(checks)))
    return tuple(gates)


def gate_alertnames(gates: tuple[GateSpec, ...]) -> tuple[str, ...]:
    """The alerts the gates look at, for the Alertmanager source to fetch."""
    kinds = (CheckKind.ALERT_ABSENT, CheckKind.ALERT_PRESENT)
    names = [c.alertname for g in gates for c in g.checks if c.kind in kinds]
    return tuple(dict.fromkeys(names))


def room_settings(config: Config, workbook: Workbook) -> RoomSettings:
    """What the room is measured against, from a validated config and the workbook."""
    sources = config.sources
    max_age = {name: getattr(sources, name).max_age for name in sources.enabled()}
    return RoomSettings(
        name=config.cutover.name,
        go_live=config.cutover.go_live,
        kpis=kpi_specs(config.thresholds),
        triggers=trigger_specs(config),
        green_period=config.thresholds.green_period,
        workbook=workbook,
        max_age=max_age,
        history_points=config.ui.history_points,
        history_interval=config.ui.history_interval,
        gates=gate_specs(config),
        smoke_suite=config.smoke.suite,
        smoke_max_age=config.smoke.max_age,
        drill_max_age=config.smoke.drill_max_age,
        rollback_drill=config.smoke.rollback_drill,
        done_tiers=config.done.tiers,
        slo_period=config.done.slo_period,
        done_signoffs=config.done.signoffs,
    )
