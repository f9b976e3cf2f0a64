"""The shift handover on disk: `h` in the control room writes it to a file, and
`maestro-control-room handover` to a file or stdout."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TextIO

from ..cutover.config import HandoverSection
from ..cutover.handover import handover_markdown, parse_since, records_end
from ..cutover.incidents import Incident, fold
from ..cutover.room import RoomView, TriggerTransition
from ..sources.incident_log import IncidentLog, incident_log_path
from ..sources.journal import JournalError, default_journal_path, journal_path, read_journal
from .configfile import ConfigError, LoadedConfig, find_config, load_config

PROG = "maestro-control-room handover"
#: How long the command waits for every source to answer.
DEFAULT_TIMEOUT = 15.0


def handover_dir(section: HandoverSection, environ: Mapping[str, str] | None = None) -> Path:
    """The configured `[handover] dir`, or `$XDG_STATE_HOME/maestro-control-room`."""
    if section.dir:
        return Path(section.dir).expanduser()
    return default_journal_path(environ).parent


def resolved(loaded: LoadedConfig) -> HandoverSection:
    """`[handover]` with a relative `dir` taken from the config file's folder."""
    section = loaded.config.handover
    if not section.dir:
        return section
    return section.model_copy(update={"dir": str(loaded.resolve(section.dir))})


def journal_file(loaded: LoadedConfig) -> Path:
    configured = loaded.config.audit.path
    return loaded.resolve(configured) if configured else journal_path("")


def journal_entries(path: Path) -> tuple[list[dict[str, Any]], str]:
    """The journal's entries that parse, and a line on the journal: where it is and whether
    its chain is intact. A journal that cannot be read gives no entries and says why."""
    if not path.exists():
        return [], f"{path}: no journal yet"
    try:
        report = read_journal(path)
    except JournalError as error:
        return [], f"UNREADABLE: {error}"
    entries = [entry for _, entry in report.entries if isinstance(entry, dict)]
    return entries, f"{path}: {report.result}"


@dataclass(frozen=True)
class ShiftRecord:
    """What a handover is written from: the room as of now and what it recorded."""

    view: RoomView
    trigger_log: tuple[TriggerTransition, ...]
    trigger_log_from: datetime | None
    name: str
    operator: str
    journal: Path | None


@dataclass(frozen=True)
class ShiftRecords:
    """What the room recorded beside its view: the journal's entries and the incidents."""

    entries: tuple[dict[str, Any], ...]
    journal_note: str
    incidents: tuple[Incident, ...]


def read_records(record: ShiftRecord) -> ShiftRecords:
    """The journal and the incident log beside it, read now."""
    if record.journal is None:
        return ShiftRecords((), "none is configured", ())
    entries, note = journal_entries(record.journal)
    # What fired is in the incident log even when this room (a headless command, a
    # restarted room) never saw the trigger's transitions itself.
    incidents = fold(IncidentLog(incident_log_path(record.journal)).read())
    return ShiftRecords(tuple(entries), note, incidents)


def shift_end(record: ShiftRecord, records: ShiftRecords) -> datetime:
    """The end of the handover's period on the room's clock (see `records_end`)."""
    return records_end(record.view.now, records.entries, records.incidents)


def render(
    record: ShiftRecord, since: datetime, until: datetime, records: ShiftRecords | None = None
) -> str:
    """The Markdown, with the journal read now unless `records` were read already."""
    found = records if records is not None else read_records(record)
    return handover_markdown(
        record.view,
        record.trigger_log,
        found.entries,
        since,
        until,
        record.operator,
        name=record.name,
        trigger_log_from=record.trigger_log_from,
        journal=found.journal_note,
        incidents=found.incidents,
    )


def write_handover(text: str, directory: Path, at: datetime) -> Path:
    """Write `handover-<UTC time>.md` in `directory` (made if need be), never over an
    earlier one; returns its path. OSError when it cannot be written."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    stem = f"handover-{at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"
    for attempt in range(1, 100):
        path = directory / (stem + (f"-{attempt}" if attempt > 1 else "") + ".md")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w", encoding="utf-8") as handover:
            handover.write(text)
        return path
    raise FileExistsError(f"{directory}: too many handovers named {stem}")


# The command --------------------------------------------------------------------------------


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


def run_handover(
    args: argparse.Namespace, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """The `handover` command: gather one view from the sources, then write the handover."""
    from .build import operator_name
    from .headless import gather_view

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
