"""The `maestro-control-room` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from .. import __version__
from . import check, handover_command, incidents, replay_command, serve, sim_command, starter
from .build import build_app
from .configfile import ConfigError, find_config, load_config

PROG = "maestro-control-room"


class Command(Protocol):
    """A subcommand's module: one parser, one run."""

    def add_parser(self, commands: Any) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


#: Every subcommand but `audit` (a parser of its own), `demo` and `init` (tui/starter.py).
#: A new command is a module with `add_parser(commands)` and `run(args)`, listed here.
COMMANDS: dict[str, Command] = {
    "replay": replay_command,
    "sim": sim_command,
    "serve": serve,
    "handover": handover_command,
    "check": check,
    "incidents": incidents,
}


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
    commands.add_parser(
        "audit",
        help="verify, show or seal the audit journal (audit verify|show|seal [FILE])",
        add_help=False,
    )
    starter.add_parsers(commands)
    for command in COMMANDS.values():
        command.add_parser(commands)
    return cli


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
    if args.command in COMMANDS:
        return COMMANDS[args.command].run(args)
    if args.command == "init":
        return starter.run_init(args, PROG)
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
