"""Building the control room from a validated config: its sources, effector, journal and
announcers. Each backend's client is imported only when the config enables it, so start-up
pays for nothing it does not use."""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from fnmatch import fnmatch
from functools import partial
from pathlib import Path

from ..cutover.actions import Effector, RoutingEffector
from ..cutover.config import (
    Config,
    gate_alertnames,
    gate_specs,
    room_settings,
    signoff_policy,
    trigger_specs,
)
from ..cutover.pipeline import Announce
from ..cutover.room import RoomSettings
from ..cutover.updates import Update
from ..cutover.waves import Workbook
from ..sources.base import Clock, Source
from ..sources.journal import AuditJournal, journal_damage, journal_path, local_operator
from ..sources.secrets import SecretError
from ..sources.workbook import WorkbookError, load_workbook
from .app import ControlRoomApp
from .bindings import keymap_problem
from .configfile import ConfigError, LoadedConfig
from .handover import resolved as resolved_handover


class WallClock:
    """The real time, for real sources."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def operator_name(config: Config, given: str | None) -> str:
    return given or config.actions.operator or getpass.getuser()


@dataclass(frozen=True)
class RoomParts:
    """What a control room watches, with or without a screen: its settings, sources and
    clock, and what carries actions out."""

    settings: RoomSettings
    sources: list[Source]
    clock: Clock
    effector: Effector | None
    after_action: Callable[[], Sequence[Update]] | None
    workbook_path: Path
    workbook: Workbook


def room_parts(loaded: LoadedConfig, context: str | None = None) -> RoomParts:
    """The room's parts for a validated config. Raises ConfigError for what the config asks
    but cannot be had: a workbook that cannot be read, a secret or a cluster out of reach."""
    config = loaded.config
    workbook_path = loaded.resolve(config.waves.workbook)
    try:
        workbook = load_workbook(workbook_path)
    except WorkbookError as error:
        raise ConfigError(f"{loaded.path}: waves.workbook: {error}") from error
    unreadable = [p for p in workbook.problems if p.structural]
    if unreadable:
        # A line that is not CSV is a repository the boards would silently leave out.
        lines = "; ".join(f"{p} (an unterminated quote?)" for p in unreadable)
        raise ConfigError(
            f"{loaded.path}: waves.workbook: {workbook_path}: {lines}; expected every line"
            " to be one row of comma-separated cells, quotes closed on the same line"
        )
    if not workbook.rows:
        problems = "; ".join(str(p) for p in workbook.problems) or "no rows"
        raise ConfigError(f"{loaded.path}: waves.workbook: {workbook_path}: {problems}")
    after_action = None
    sources: list[Source] = []
    effector: Effector | None = None
    clock: Clock = WallClock()
    if config.sources.sim.enabled:
        from ..sources.sim import ScenarioError, build_simulation

        simulated = config if not _has_real_sources(config) else _in_real_time(config)
        try:
            simulation, effector = build_simulation(simulated, loaded.path.parent, workbook)
        except ScenarioError as error:
            raise ConfigError(f"{loaded.path}: sources.sim.scenario: {error}") from error
        sources.append(simulation)
        if simulated is config:
            clock = simulation  # the simulator alone: its clock is the room's
        else:
            simulation.keeps_wall_time = True
        # Show an action's effect at once, not at the next tick of the simulated clock.
        after_action = partial(simulation.simulator.advance, 0)
    try:
        real, real_effector = real_sources(config, context)
    except (SecretError, ConfigError) as error:
        raise ConfigError(f"{loaded.path}: {error}") from error
    sources += real
    # The cluster, when there is one, is what actions change; the simulator otherwise.
    if isinstance(real_effector, RoutingEffector) and real_effector.default is None:
        real_effector = RoutingEffector(effector, real_effector.routes)
    effector = real_effector or effector
    if effector is not None and config.sources.alertmanager.enabled:
        from ..sources.alertmanager_silences import AlertmanagerSilencer, ResponseEffector

        section = config.sources.alertmanager
        silencer = AlertmanagerSilencer.for_url(section.url, section.timeout.total_seconds())
        effector = ResponseEffector(effector, silencer)
    settings = room_settings(config, workbook)
    return RoomParts(settings, sources, clock, effector, after_action, workbook_path, workbook)


def build_app(
    loaded: LoadedConfig,
    *,
    read_only: bool = False,
    operator: str | None = None,
    context: str | None = None,
) -> ControlRoomApp:
    """The app for a validated config; ConfigError as `room_parts` raises it, or for an
    announcer's secret that cannot be read."""
    config = loaded.config
    clash = keymap_problem(config.ui.keymap)
    if clash:
        raise ConfigError(f"{loaded.path}: {clash}")
    parts = room_parts(loaded, context)
    name = operator_name(config, operator)
    try:
        announcers = announcers_for(config)
    except SecretError as error:
        raise ConfigError(f"{loaded.path}: {error}") from error
    if config.sources.kubernetes.enabled and config.actions.read_only_contexts:
        from ..sources.kubeconfig import context_in_use

        section = config.sources.kubernetes
        in_use = context_in_use(section.kubeconfig, context or section.context)
        if any(fnmatch(in_use, pattern) for pattern in config.actions.read_only_contexts):
            read_only = True
    path = loaded.resolve(config.audit.path) if config.audit.path else journal_path("")
    workbook = parts.workbook
    return ControlRoomApp(
        settings=parts.settings,
        sources=parts.sources,
        clock=parts.clock,
        effector=parts.effector,
        operator=name,
        ui=config.ui,
        actions=config.actions,
        read_only=read_only,
        after_action=parts.after_action,
        workbook_problems=tuple(f"{parts.workbook_path}: {p}" for p in workbook.problems),
        journal=AuditJournal(path),
        audit_operator=local_operator(name),
        announcers=announcers,
        announce=config.announce,
        handover=resolved_handover(loaded),
        alarms=[damage] if (damage := journal_damage(path)) else [],
        signoffs=signoff_policy(config),
        workflows=config.sources.github,
    )


def _has_real_sources(config: Config) -> bool:
    return any(name != "sim" for name in config.sources.enabled())


def _in_real_time(config: Config) -> Config:
    """Beside real sources, the simulator keeps their time: it starts now and runs at one
    simulated second a second, so every reading is judged against one clock."""
    now = datetime.now(timezone.utc)
    seconds = int((now - config.cutover.go_live).total_seconds())
    start = f"T+{seconds}s" if seconds >= 0 else f"T-{-seconds}s"
    sim = config.sources.sim.model_copy(update={"start": start, "time_scale": 1.0})
    sources = config.sources.model_copy(update={"sim": sim})
    return config.model_copy(update={"sources": sources})


def real_sources(config: Config, context: str | None) -> tuple[list[Source], Effector | None]:
    """The enabled real sources, and the cluster's effector when Kubernetes is enabled.

    Raises SecretError when a secret cannot be read, ConfigError when the cluster's
    configuration cannot be used."""
    found: list[Source] = []
    effector: Effector | None = None
    section = config.sources
    gates = gate_specs(config)
    if section.prometheus.enabled:
        from ..sources.prometheus import PrometheusSource

        found.append(
            PrometheusSource.from_config(
                section.prometheus, config.queries, gates=gates, smoke_suite=config.smoke.suite
            )
        )
    if section.mqtt.enabled:
        from ..sources.mqtt import MqttSource

        found.append(MqttSource.from_config(section.mqtt))
    if section.alertmanager.enabled:
        from ..sources.alertmanager import AlertmanagerSource

        alertnames = [spec.alertname for spec in trigger_specs(config) if spec.alertname]
        alertnames += gate_alertnames(gates)
        found.append(AlertmanagerSource.from_config(section.alertmanager, alertnames))
    if section.kubernetes.enabled:
        from ..sources.kubeconfig import KubernetesConfigError
        from ..sources.rollouts import build_kubernetes

        try:
            kubernetes, effector = build_kubernetes(config, context)
        except KubernetesConfigError as error:
            raise ConfigError(f"sources.kubernetes: {error}") from error
        found.append(kubernetes)
    if section.github.enabled:
        from ..cutover.actions import ActionKind
        from ..sources.github_actions import build_github

        github, dispatcher = build_github(section.github)
        found.append(github)
        # Dispatches go to GitHub; every other action to the cluster (or the simulator,
        # which `room_parts` puts in as the default when there is no cluster).
        effector = RoutingEffector(effector, {ActionKind.DISPATCH_WORKFLOW: dispatcher})
    return found, effector


def announcers_for(config: Config) -> list[Announce]:
    """Grafana and Slack, when enabled; SecretError when their secret cannot be read."""
    announcers: list[Announce] = []
    if config.announce.grafana.enabled:
        from ..sources.grafana import GrafanaAnnouncer

        announcers.append(GrafanaAnnouncer.from_config(config.announce.grafana))
    if config.announce.slack.enabled:
        from ..sources.slack import SlackAnnouncer

        announcers.append(SlackAnnouncer.from_config(config.announce.slack))
    return announcers
