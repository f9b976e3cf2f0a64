"""`maestro-control-room sim`: the simulator as a standalone Maestro, serving /metrics,
publishing its events over MQTT and posting its alerts to Alertmanager."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..cutover.config import MqttSection
from .configfile import ConfigError, find_config, load_config

PROG = "maestro-control-room"


def add_parser(commands: Any) -> None:
    """`sim` under the main command's subcommands."""
    sim = commands.add_parser(
        "sim",
        help="run the simulator as a standalone Maestro: /metrics, MQTT events and alerts",
        description="Run the simulated Maestro in real time: serve the contract's metrics at"
        " /metrics, publish its events over MQTT and post its alerts to Alertmanager, until"
        " interrupted.",
    )
    sim.add_argument(
        "--metrics-addr", default="127.0.0.1:9464", metavar="HOST:PORT",
        help="where to serve /metrics (default 127.0.0.1:9464)",
    )  # fmt: skip
    sim.add_argument(
        "--mqtt", metavar="HOST:PORT", help="the MQTT broker to publish events to (default: none)"
    )
    sim.add_argument(
        "--alertmanager", metavar="URL",
        help="an Alertmanager to post the active alerts to, Watchdog included (default: none)",
    )  # fmt: skip
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


def run(args: argparse.Namespace) -> int:
    """The `sim` command."""
    from ..sources.sim import ScenarioError
    from ..sources.sim.exporter import ExporterOptions, parse_address
    from ..sources.sim.exporter import run as run_exporter

    try:
        metrics_host, metrics_port = parse_address(args.metrics_addr, 9464)
        mqtt = parse_address(args.mqtt, 1883) if args.mqtt else None
        if args.time_scale < 0:
            raise ValueError("--time-scale must be 0 or more")
        if args.alertmanager and not args.alertmanager.startswith(("http://", "https://")):
            raise ValueError(f"--alertmanager: expected an http(s) URL, got {args.alertmanager!r}")
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
        alertmanager_url=args.alertmanager.rstrip("/") if args.alertmanager else None,
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
        where = f"{args.sim_config}: sources.sim.scenario: " if config and not args.scenario else ""
        print(f"{PROG} sim: {where}{error}", file=sys.stderr)
        return 2
