"""`maestro-control-room audit verify|show|seal [FILE]`: check the journal's chain, read it,
or close its damaged end with a seal entry."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from ..cutover.audit import entry_changes, entry_operator, entry_outcome
from ..sources.journal import (
    JournalError,
    SealRefused,
    journal_path,
    local_operator,
    read_journal,
    seal_journal,
)
from .configfile import ConfigError, find_config, load_config

PROG = "maestro-control-room audit"
INTACT, BROKEN, UNREADABLE = 0, 1, 2


def audit_parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog=PROG, description="The tamper-evident audit journal.")
    cli.add_argument("--config", metavar="PATH", help="the config whose [audit] path to use")
    commands = cli.add_subparsers(dest="command", required=True, metavar="{verify,show,seal}")
    verify_help = "check the hash chain: exit 0 intact, 1 broken (naming the line), 2 unreadable"
    show_help = "print every entry readably, then the chain's state (same exit codes)"
    for name, help_text in (("verify", verify_help), ("show", show_help)):
        command = commands.add_parser(name, help=help_text, description=help_text)
        command.add_argument(
            "file", nargs="?", metavar="FILE", help="the journal (default: the configured one)"
        )
    seal_help = (
        "close a damaged end (a line cut short by a crash) with a seal entry that records the"
        " damage and chains from the last good entry; the damaged bytes stay in the file."
        " Exit 0 sealed, 1 refused (intact, or broken mid-file), 2 unreadable"
    )
    seal = commands.add_parser("seal", help=seal_help, description=seal_help)
    seal.add_argument("--reason", required=True, metavar="TEXT", help="why, for the journal")
    seal.add_argument("--operator", metavar="NAME", help="who seals (default: the login name)")
    seal.add_argument(
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
    if args.command == "seal":
        return run_seal(path, args.reason, args.operator or _operator(args.config), out, err)
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


def _operator(config: str | None) -> str:
    try:
        configured = load_config(find_config(config)).config.actions.operator
    except ConfigError:
        configured = ""
    return configured or getpass.getuser()


def run_seal(path: Path, reason: str, operator: str, out: TextIO, err: TextIO) -> int:
    """`audit seal`: journal the damage and close it, or say why not."""
    try:
        entry, damage = seal_journal(path, reason, local_operator(operator))
    except SealRefused as refusal:
        print(f"{PROG}: refused: {refusal}", file=err)
        return BROKEN
    except JournalError as error:
        print(f"{PROG}: {error}", file=err)
        return UNREADABLE
    print(
        f"{path}: sealed {damage.where} ({damage.size} bytes: {damage.why}) with entry"
        f" #{entry.seq}, chained from #{damage.last_good_seq}; the damaged bytes stay in"
        " the file. `audit verify` names the sealed break.",
        file=out,
    )
    return INTACT


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
