"""`maestro-control-room audit verify|show [FILE]`: check the journal's chain, or read it."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from cutover.audit import entry_changes, entry_operator, entry_outcome
from sources.journal import JournalError, journal_path, read_journal
from tui.configfile import ConfigError, find_config, load_config

PROG = "maestro-control-room audit"
INTACT, BROKEN, UNREADABLE = 0, 1, 2


def audit_parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog=PROG, description="The tamper-evident audit journal.")
    cli.add_argument("--config", metavar="PATH", help="the config whose [audit] path to use")
    commands = cli.add_subparsers(dest="command", required=True, metavar="{verify,show}")
    verify_help = "check the hash chain: exit 0 intact, 1 broken (naming the line), 2 unreadable"
    show_help = "print every entry readably, then the chain's state (same exit codes)"
    for name, help_text in (("verify", verify_help), ("show", show_help)):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "file", nargs="?", metavar="FILE", help="the journal (default: the configured one)"
        )
    return cli


def default_file(config: str | None) -> Path:
    """The configured journal; the XDG default when no config is found or it sets none."""
    try:
        loaded = load_config(find_config(config))
    except ConfigError:
        if config:  # a config named on the command line must be usable
            raise
        return journal_path("")
    configured = loaded.config.audit.path
    return loaded.resolve(configured) if configured else journal_path("")


def audit_main(
    argv: Sequence[str], *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """Run `audit verify` or `audit show`; `argv` is what follows `audit`."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    args = audit_parser().parse_args(list(argv))
    try:
        path = Path(args.file) if args.file else default_file(args.config)
    except ConfigError as error:
        print(f"{PROG}: {error}", file=err)
        return UNREADABLE
    try:
        report = read_journal(path)
    except JournalError as error:
        print(f"{PROG}: {error}", file=err)
        return UNREADABLE
    if args.command == "show":
        for number, entry in report.entries:
            shown = entry_line(entry) if isinstance(entry, dict) else f"line {number}: {entry}"
            print(shown, file=out)
    result = report.result
    if result.ok:
        print(f"{path}: {result}; head {result.head}", file=out)
        return INTACT
    print(f"{path}: {result}", file=out)
    return BROKEN


def entry_line(entry: Mapping[str, Any]) -> str:
    """One entry on one line: seq, time, operator, kind, action, target, changes, result."""
    parts = [
        f"#{entry.get('seq')}",
        str(entry.get("ts", "?")),
        entry_operator(entry),
        f"{entry.get('kind', '?'):<6}",
        str(entry.get("action", "?")),
        str(entry.get("target", "?")),
    ]
    changes = entry_changes(entry)
    if changes:
        parts.append(f"[{changes}]")
    outcome = entry_outcome(entry)
    if outcome:
        parts.append(outcome)
    return "  ".join(parts)
