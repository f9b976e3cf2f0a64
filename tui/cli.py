"""The `maestro-control-room` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from .. import __version__
from ..cutover.config import MqttSection
from . import check, handover, incidents, serve, starter
from .build import build_app
from .configfile import ConfigError, find_config, load_config

PROG = "maestro-control-room"


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog=PROG,
        description="A terminal control room for the cutover of CI/CD onto Maestro.",
    )
    cli.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    cli.add_argument("--config", metavar="PATH", help="the config file (default: see README)")
    cli.add_argument("--read-only", action="store_true", help="watch only: every action is refused")
    cli.add_argument("--operator", metavar="NAME", help="who acts (default: the login name)")
    cli.add_argument(
        "--mouse", action="store_true", help="turn mouse tracking on (off by default for SSH)"
    )
    cli.add_argument("--context", metavar="NAME", help="the kubeconfig context to use")
    cli.add_argument(
        "--record", metavar="FILE",
        help="record the session to FILE (gzip JSON lines) for `replay`",
    )  # fmt: skip
    cli.add_argument(
        "--record-max-mb", type=float, default=64, metavar="MB",
        help="start a new part of the recording (FILE.1, FILE.2, ...) past this size (default 64)",
    )  # fmt: skip
    commands = cli.add_subparsers(dest="command", metavar="COMMAND")
    replay = commands.add_parser(
        "replay",
        help="replay a recorded session, read-only (replay FILE [--speed X] [--from TIME])",
        description="Play a session recorded with --record back into the control room,"
        " read-only. Keys: space pauses, the arrows seek (shift: 10 minutes), [ and ] change"
        " the speed.",
    )
    replay.add_argument("file", metavar="FILE", help="the recording (its first part)")
    replay.add_argument(
        "--speed", type=float, metavar="X", help="recorded seconds per real second (default 1)"
    )
    replay.add_argument(
        "--from", dest="from_", metavar="TIME",
        help="start at TIME: '+10m' from the start, 'T+1d2h' on the plan, or RFC 3339",
    )  # fmt: skip
    commands.add_parser(
        "audit",
        help="verify, show or seal the audit journal (audit verify|show|seal [FILE])",
        add_help=False,
    )
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
    starter.add_parsers(commands)
    serve.add_parser(commands)
    handover.add_parser(commands)
    check.add_parser(commands)
    incidents.add_parser(commands)
    return cli


def run_sim(args: argparse.Namespace) -> int:
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


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except BrokenPipeError:
        # The reader went away (`check --json | head`): what it did not read is not an error
        # of ours. Python would report the pipe again while flushing stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["audit"]:
        # `audit` has a parser of its own (verify / show, FILE, --config).
        from .audit_cli import audit_main

        return audit_main(arguments[1:])
    args = parser().parse_args(arguments)
    if args.command == "sim":
        return run_sim(args)
    if args.command == "serve":
        return serve.run_serve(args)
    if args.command == "handover":
        return handover.run_handover(args)
    if args.command == "check":
        return check.run_check(args)
    if args.command == "incidents":
        return incidents.run_incidents(args)
    if args.command == "init":
        return starter.run_init(args, PROG)
    if args.command == "replay":
        from .replay import run_replay

        return run_replay(args, PROG)
    recorder = None
    try:
        if args.command == "demo" and args.config:
            raise ConfigError("demo runs the packaged configuration; --config names another")
        loaded = load_config(
            starter.DEMO_CONFIG if args.command == "demo" else find_config(args.config)
        )
        app = build_app(
            loaded, read_only=args.read_only, operator=args.operator, context=args.context
        )
        if args.record:
            from .record import start_recording

            if not args.record_max_mb > 0:
                raise ConfigError("--record-max-mb must be more than 0")
            max_bytes = int(args.record_max_mb * 1024 * 1024)
            recorder = start_recording(app, loaded, Path(args.record), max_bytes=max_bytes)
    except ConfigError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    try:
        app.run(mouse=args.mouse or loaded.config.ui.mouse)
    finally:
        if recorder is not None:
            recorder.close()
            if recorder.error:
                print(f"{PROG}: {recorder.error}", file=sys.stderr)
    return app.return_code or 0
