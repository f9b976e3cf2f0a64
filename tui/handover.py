"""The shift handover on disk: `h` in the control room writes it to a file, and
`maestro-control-room handover` (tui/handover_command.py) to a file or stdout."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ..cutover.config import HandoverSection
from ..cutover.handover import handover_markdown, records_end
from ..cutover.incidents import Incident, fold
from ..cutover.room import RoomView, TriggerTransition
from ..sources.incident_log import IncidentLog, incident_log_path
from ..sources.journal import JournalError, default_journal_path, journal_path, read_journal
from .configfile import LoadedConfig


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
