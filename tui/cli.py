"""The `maestro-control-room` command."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from cutover.actions import Effector
from cutover.config import Config, MqttSection, room_settings, trigger_specs
from sources.alertmanager import AlertmanagerSource
from sources.base import Clock, Source
from sources.mqtt import MqttSource
from sources.prometheus import PrometheusSource
from sources.secrets import SecretError
from sources.sim import ScenarioError, build_simulation
from sources.sim.exporter import ExporterOptions, parse_address
from sources.sim.exporter import run as run_exporter
from sources.workbook import WorkbookError, load_workbook
from tui.app import ControlRoomApp
from tui.configfile import ConfigError, LoadedConfig, find_config, load_config

PROG = "maestro-control-room"

#: Sources whose clients this build has; any other enabled source is a config error.
AVAILABLE_SOURCES = frozenset({"sim", "prometheus", "mqtt", "alertmanager"})


class WallClock:
    """The real time, for real sources."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog=PROG,
        description="A terminal control room for the cutover of CI/CD onto Maestro.",
    )
    cli.add_argument("--config", metavar="PATH", help="the config file (default: see README)")
    cli.add_argument("--read-only", action="store_true", help="watch only: every action is refused")
    cli.add_argument("--operator", metavar="NAME", help="who acts (default: the login name)")
    cli.add_argument(
        "--mouse", action="store_true", help="turn mouse tracking on (off by default for SSH)"
    )
    commands = cli.add_subparsers(dest="command", metavar="COMMAND")
    sim = commands.add_parser(
        "sim",
        help="run the simulator as a standalone Maestro: /metrics and MQTT events",
        description="Run the simulated Maestro in real time: serve the contract's metrics at"
        " /metrics and publish its events over MQTT, until interrupted.",
    )
    sim.add_argument(
        "--metrics-addr", default="127.0.0.1:9464", metavar="HOST:PORT",
        help="where to serve /metrics (default 127.0.0.1:9464)",
    )  # fmt: skip
    sim.add_argument(
        "--mqtt", metavar="HOST:PORT", help="the MQTT broker to publish events to (default: none)"
    )
    sim.add_argument("--seed", type=int, help="the simulator's seed (default: the config's, 7)")
    sim.add_argument("--scenario", help="a scenario name or file (default: the config's)")
    sim.add_argument(
        "--time-scale", type=float, default=1.0, metavar="X",
        help="simulated seconds per real second (default 1)",
    )  # fmt: skip
    sim.add_argument(
        "--config", dest="sim_config", metavar="PATH",
        help="take the workbook, scenario, seed and topics from this config file",
    )  # fmt: skip
    return cli


def run_sim(args: argparse.Namespace) -> int:
    """The `sim` command."""
    try:
        metrics_host, metrics_port = parse_address(args.metrics_addr, 9464)
        mqtt = parse_address(args.mqtt, 1883) if args.mqtt else None
        if args.time_scale < 0:
            raise ValueError("--time-scale must be 0 or more")
    except ValueError as error:
        print(f"{PROG} sim: {error}", file=sys.stderr)
        return 2
    config = None
    config_dir = Path.cwd()
    if args.sim_config:
        try:
            loaded = load_config(find_config(args.sim_config))
        except ConfigError as error:
            print(f"{PROG} sim: {error}", file=sys.stderr)
            return 2
        config, config_dir = loaded.config, loaded.path.parent
    topics = config.sources.mqtt if config is not None else MqttSection()
    options = ExporterOptions(
        metrics_host=metrics_host,
        metrics_port=metrics_port,
        mqtt_host=mqtt[0] if mqtt else None,
        mqtt_port=mqtt[1] if mqtt else 1883,
        seed=args.seed,
        scenario=args.scenario,
        time_scale=args.time_scale,
        config=config,
        config_dir=config_dir,
        events_topic=topics.events_topic.removesuffix("/+").removesuffix("/#"),
        platform_topic=topics.platform_topic,
    )
    try:
        return run_exporter(options)
    except ScenarioError as error:
        print(f"{PROG} sim: {error}", file=sys.stderr)
        return 2


def operator_name(config: Config, given: str | None) -> str:
    return given or config.actions.operator or getpass.getuser()


def build_app(
    loaded: LoadedConfig, *, read_only: bool = False, operator: str | None = None
) -> ControlRoomApp:
    """The app for a validated config. Raises ConfigError for what the config asks but
    cannot be had (a workbook that cannot be read, a source this build lacks)."""
    config = loaded.config
    missing = [name for name in config.sources.enabled() if name not in AVAILABLE_SOURCES]
    if missing:
        raise ConfigError(
            f"{loaded.path}: sources.{missing[0]}.enabled: this build cannot read"
            f" {missing[0]} yet; set enabled = false or use [sources.sim]"
        )
    workbook_path = loaded.resolve(config.waves.workbook)
    try:
        workbook = load_workbook(workbook_path)
    except WorkbookError as error:
        raise ConfigError(f"{loaded.path}: waves.workbook: {error}") from error
    if not workbook.rows:
        problems = "; ".join(str(p) for p in workbook.problems) or "no rows"
        raise ConfigError(f"{loaded.path}: waves.workbook: {workbook_path}: {problems}")
    sources: list[Source] = []
    effector: Effector | None = None
    clock: Clock = WallClock()
    after_action = None
    if config.sources.sim.enabled:
        simulation, effector = build_simulation(config, loaded.path.parent, workbook)
        sources.append(simulation)
        clock = simulation
        # Show an action's effect at once, not at the next tick of the simulated clock.
        after_action = partial(simulation.simulator.advance, 0)
    try:
        sources += real_sources(config)
    except SecretError as error:
        raise ConfigError(f"{loaded.path}: {error}") from error
    notes = [f"workbook: {len(workbook.problems)} bad row(s), see ?"] if workbook.problems else []
    return ControlRoomApp(
        settings=room_settings(config, workbook),
        sources=sources,
        clock=clock,
        effector=effector,
        operator=operator_name(config, operator),
        ui=config.ui,
        actions=config.actions,
        read_only=read_only,
        after_action=after_action,
        notes=notes,
        workbook_problems=tuple(f"{workbook_path}: {p}" for p in workbook.problems),
    )


def real_sources(config: Config) -> list[Source]:
    """The enabled real sources, configured; SecretError when a secret cannot be read."""
    found: list[Source] = []
    section = config.sources
    if section.prometheus.enabled:
        found.append(PrometheusSource.from_config(section.prometheus, config.queries))
    if section.mqtt.enabled:
        found.append(MqttSource.from_config(section.mqtt))
    if section.alertmanager.enabled:
        alertnames = [spec.alertname for spec in trigger_specs(config) if spec.alertname]
        found.append(AlertmanagerSource.from_config(section.alertmanager, alertnames))
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "sim":
        return run_sim(args)
    try:
        loaded = load_config(find_config(args.config))
        app = build_app(loaded, read_only=args.read_only, operator=args.operator)
    except ConfigError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    app.run(mouse=args.mouse or loaded.config.ui.mouse)
    return app.return_code or 0
