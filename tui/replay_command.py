"""`maestro-control-room replay FILE`: a recorded session played back, read-only."""

from __future__ import annotations

import argparse
from typing import Any

PROG = "maestro-control-room"


def add_parser(commands: Any) -> None:
    """`replay` under the main command's subcommands."""
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


def run(args: argparse.Namespace) -> int:
    """The `replay` command; the App is imported only when a replay is asked for."""
    from .replay import run_replay

    return run_replay(args, PROG)
