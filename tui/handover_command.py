"""`maestro-control-room handover`: the shift handover from one view of the sources, as
Markdown to a file or stdout."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from ..cutover.handover import parse_since
from .composition import operator_name
from .configfile import ConfigError, find_config, load_config
from .handover import ShiftRecord, journal_file, read_records, render, shift_end
from .headless import gather_view

PROG = "maestro-control-room handover"
#: How long the command waits for every source to answer.
DEFAULT_TIMEOUT = 15.0


def add_parser(commands: Any) -> None:
    """`handover` under the main command's subcommands."""
    described = (
        "Write the shift handover as Markdown: the current state, rollback triggers that"
        " fired, actions taken and by whom, gates not passing and open blockers."
    )
    handover = commands.add_parser(
        "handover", help="write the shift handover as Markdown", description=described
    )
    handover.add_argument(
        "--since", default="12h", metavar="TIME",
        help="the period's start: an RFC 3339 time, a point of the plan such as T+1d,"
        " or a duration back from now such as 12h (default 12h)",
    )  # fmt: skip
    handover.add_argument("--output", metavar="FILE", help="write here (default: stdout)")
    handover.add_argument(
        "--config", dest="handover_config", metavar="PATH", help="the config file"
    )
    handover.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"how long to wait for every source to answer (default {DEFAULT_TIMEOUT:g})",
    )  # fmt: skip


def run(
    args: argparse.Namespace, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """The `handover` command: gather one view from the sources, then write the handover."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        loaded = load_config(find_config(args.handover_config or args.config))
        config = loaded.config
        parse_since(args.since, datetime.now(timezone.utc), config.cutover.go_live)  # say it first
        room, view = asyncio.run(gather_view(loaded, args.timeout, context=args.context))
    except (ConfigError, ValueError) as error:
        print(f"{PROG}: {error}", file=err)
        return 2
    record = ShiftRecord(
        view=view,
        trigger_log=tuple(room.trigger_log),
        trigger_log_from=room.trigger_log_from,
        name=config.cutover.name,
        operator=operator_name(config, args.operator),
        journal=journal_file(loaded),
    )
    # One clock: the period ends on the room's clock, at the last moment recorded if a
    # room in scaled time recorded past this fresh one's now; `--since 12h` counts back
    # from there.
    records = read_records(record)
    until = shift_end(record, records)
    try:
        since = parse_since(args.since, until, config.cutover.go_live)
    except ValueError as error:
        print(f"{PROG}: {error}", file=err)
        return 2
    if since > until:
        print(f"{PROG}: --since {args.since} is after now ({until:%Y-%m-%d %H:%M} UTC)", file=err)
        return 2
    text = render(record, since, until, records)
    if not args.output:
        out.write(text)
        return 0
    try:
        Path(args.output).write_text(text, encoding="utf-8")
    except OSError as error:
        print(f"{PROG}: {args.output}: cannot write: {error.strerror or error}", file=err)
        return 2
    print(f"handover written to {args.output}", file=err)
    return 0
