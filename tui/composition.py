"""The composition: a validated config turned into what a control room runs on, once, for
every command: its sources, effector, journal, announcers and presence, with read-only
decided here and nowhere else. Each backend's client is imported only when the config enables
it, so start-up pays for nothing it does not use.

`compose` gives a `Runtime`; the App (`tui/build.py`), `check`, `handover` and `serve` take
their parts from here. A new source or announcer is added in `real_sources` or
`announcers_for`; the App never builds one itself."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from fnmatch import fnmatch
from functools import partial
from pathlib import Path
from typing import cast

from ..cutover.action_registry import keymap_problem
from ..cutover.actions import Effector, RoutingEffector
from ..cutover.audit import Operator
from ..cutover.config import (
    ActionsSection,
    AnnounceSection,
    Config,
    GithubSection,
    HandoverSection,
    UiSection,
    gate_alertnames,
    gate_specs,
    room_settings,
    signoff_policy,
    trigger_specs,
)
from ..cutover.pipeline import ActionPipeline, Announce
from ..cutover.presence import Presence
from ..cutover.room import RoomSettings
from ..cutover.session import Delivery, Session
from ..cutover.signers import UNRESTRICTED, SignoffPolicy
from ..cutover.updates import Update
from ..cutover.waves import Workbook
from ..sources.base import Clock, Source
from ..sources.incident_log import IncidentLog, incident_log_path
from ..sources.journal import AuditJournal, journal_damage, journal_path, local_operator
from ..sources.playbook_effector import PlaybookEffector, PlaybookStore, StepBackend
from ..sources.secrets import SecretError
from ..sources.workbook import WorkbookError, load_workbook
from .configfile import ConfigError, LoadedConfig
from .handover import handover_dir
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
    if effector is not None:
        # Steps are recorded on the room's clock: the simulator's, when it runs alone.
        effector = playbook_effector(loaded, effector, clock.now)
    settings = room_settings(config, workbook)
    return RoomParts(settings, sources, clock, effector, after_action, workbook_path, workbook)


@dataclass
class Runtime:
    """What a control room runs on, composed once from its config: the session (the room)
    and its sources and clock, the pipeline every action goes through, and who acts.
    Read-only is decided here, once: the pipeline, the presence announced and the screen
    all read `read_only`."""

    session: Session
    sources: list[Source]
    clock: Clock
    pipeline: ActionPipeline
    operator: str
    ui: UiSection
    actions: ActionsSection
    #: Where the smoke suite and the CD dry run are dispatched.
    workflows: GithubSection = field(default_factory=GithubSection)
    handover: HandoverSection = field(default_factory=HandoverSection)
    signoffs: SignoffPolicy = UNRESTRICTED
    journal: AuditJournal | None = None
    audit_operator: Operator | None = None
    incident_log: IncidentLog | None = None
    #: What an action's effect looks like at once (the simulator advanced by nothing).
    after_action: Callable[[], Delivery] | None = None
    workbook_problems: tuple[str, ...] = ()
    #: What is wrong from the start (a damaged audit journal): said on screen, in the event
    #: stream and in the log, and kept on the health row.
    alarms: tuple[str, ...] = ()
    #: What an action is refused with when read-only, if not the pipeline's own reason.
    read_only_refusal: str = ""
    #: The playbook's steps, when the effector carries them out (`playbook_effector`).
    playbook: PlaybookEffector | None = None

    @property
    def settings(self) -> RoomSettings:
        return self.session.settings

    @property
    def read_only(self) -> bool:
        return self.pipeline.read_only


def compose(
    loaded: LoadedConfig,
    *,
    read_only: bool = False,
    operator: str | None = None,
    context: str | None = None,
) -> Runtime:
    """The runtime for a validated config; ConfigError as `room_parts` raises it, for a
    keymap that cannot be used, or for an announcer's secret that cannot be read."""
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
    read_only = read_only or config.actions.read_only or in_read_only_context(config, context)
    path = loaded.resolve(config.audit.path) if config.audit.path else journal_path("")
    journal = AuditJournal(path)
    audit_operator = local_operator(name)
    read_only = read_only or parts.effector is None
    steps = parts.effector if isinstance(parts.effector, PlaybookEffector) else None
    announcers += mqtt_announcers(
        parts.sources, config.announce, name, audit_operator, read_only=read_only, steps=steps
    )
    pipeline = ActionPipeline(
        parts.effector,
        read_only=read_only,
        announcers=announcers,
        journal=journal,
        operator=audit_operator,
        signoffs=signoff_policy(config),
        # One clock: the journal is stamped on the room's clock, as are the incidents.
        now=parts.clock.now,
    )
    session = Session(parts.settings)
    incident_log = IncidentLog(incident_log_path(path))
    session.room.seed_incidents(incident_log.read())
    after_action = None
    if parts.after_action is not None:
        advance, source = parts.after_action, parts.sources[0].name
        clock = parts.clock
        after_action = lambda: Delivery(source, clock.now(), tuple(advance()))  # noqa: E731
    return Runtime(
        session=session,
        sources=parts.sources,
        clock=parts.clock,
        pipeline=pipeline,
        operator=name,
        ui=config.ui,
        actions=config.actions,
        workflows=config.sources.github,
        handover=resolved_handover(loaded),
        signoffs=signoff_policy(config),
        journal=journal,
        audit_operator=audit_operator,
        incident_log=incident_log,
        after_action=after_action,
        workbook_problems=tuple(f"{parts.workbook_path}: {p}" for p in parts.workbook.problems),
        alarms=(damage,) if (damage := journal_damage(path)) else (),
        playbook=steps,
    )


def in_read_only_context(config: Config, context: str | None) -> bool:
    """The kubeconfig context in use matches `[actions] read_only_contexts`."""
    if not (config.sources.kubernetes.enabled and config.actions.read_only_contexts):
        return False
    from ..sources.kubeconfig import context_in_use

    section = config.sources.kubernetes
    in_use = context_in_use(section.kubeconfig, context or section.context)
    return any(fnmatch(in_use, pattern) for pattern in config.actions.read_only_contexts)


def mqtt_announcers(
    sources: Sequence[Source],
    announce: AnnounceSection,
    operator: str,
    me: Operator | None,
    *,
    read_only: bool,
    steps: PlaybookEffector | None = None,
) -> list[Announce]:
    """Presence, and the freeze, audit, playbook and routing announcements, on the MQTT
    source's connection."""
    from ..sources.mqtt import MqttSource
    from ..sources.mqtt_announce import MqttAnnouncer

    found: list[Announce] = []
    for source in sources:
        if not isinstance(source, MqttSource):
            continue
        if announce.mqtt_presence:
            user, host = (me.user, me.host) if me else (operator, socket.gethostname())
            source.present_as(
                Presence(
                    operator_id=f"{user}-{host}-{os.getpid()}",
                    operator=operator,
                    host=host,
                    since=datetime.now(timezone.utc),
                    mode="read-only" if read_only else "operator",
                ),
                audited_as=(user, host),
            )
        if announce.mqtt_freeze or announce.mqtt_audit:
            found.append(
                MqttAnnouncer(
                    source,
                    freeze=announce.mqtt_freeze,
                    audit=announce.mqtt_audit,
                    playbook=(lambda: steps.run) if steps else None,
                    routing=(lambda: steps.routing) if steps else None,
                )
            )
    return found


def _playbook_store(effector: object) -> PlaybookStore | None:
    """What keeps the playbook's run: the cluster's effector, else the simulator's, found
    inside the effectors that route to them."""
    while effector is not None and not hasattr(effector, "record_step"):
        effector = getattr(effector, "default", None) or getattr(effector, "effector", None)
    return cast("PlaybookStore | None", effector)


def playbook_effector(
    loaded: LoadedConfig, effector: Effector, now: Callable[[], datetime] | None = None
) -> PlaybookEffector:
    """The room's effector with the playbook's steps: the logs bundle in the handover
    folder, the incident to Alertmanager and the exec update to Slack and Grafana when
    they are configured (the simulator stands in for them otherwise)."""
    from ..cutover.actions import ActionKind
    from ..sources.log_export import LogExporter

    config = loaded.config
    backends: dict[ActionKind, StepBackend] = {
        ActionKind.EXPORT_LOGS: LogExporter(handover_dir(resolved_handover(loaded)))
    }
    section = config.sources.alertmanager
    if section.enabled:
        from ..sources.alertmanager_incident import AlertmanagerIncidents

        timeout = section.timeout.total_seconds()
        backends[ActionKind.OPEN_INCIDENT] = AlertmanagerIncidents(section.url, timeout)
    announce = config.announce
    if announce.slack.enabled or announce.grafana.enabled:
        from ..sources.exec_update import ExecUpdate
        from ..sources.grafana import GrafanaAnnouncer
        from ..sources.slack import SlackAnnouncer

        try:
            slack = SlackAnnouncer.from_config(announce.slack) if announce.slack.enabled else None
            grafana = (
                GrafanaAnnouncer.from_config(announce.grafana) if announce.grafana.enabled else None
            )
        except SecretError as error:
            raise ConfigError(f"{loaded.path}: {error}") from error
        backends[ActionKind.EXEC_UPDATE] = ExecUpdate(slack, grafana)
    return PlaybookEffector(effector, _playbook_store(effector), backends, now)


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
