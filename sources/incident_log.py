"""The incident log on disk: JSON lines, append-only, beside the audit journal (in the state
directory unless `[audit] path` puts the journal elsewhere), so incidents survive restarts
and the headless commands read what the control room recorded."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Iterable
from pathlib import Path

from ..cutover.incidents import IncidentEvent, parse_event

FILE_NAME = "incidents.jsonl"


def incident_log_path(journal: Path) -> Path:
    """Where the incidents of the room whose audit journal is `journal` are kept."""
    return journal.with_name(FILE_NAME)


class IncidentLog:
    """Appends incident events, one line each, under an exclusive lock, fsynced."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, events: Iterable[IncidentEvent]) -> None:
        lines = "".join(json.dumps(e.as_json(), sort_keys=True) + "\n" for e in events)
        if not lines:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, lines.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)

    def read(self) -> list[IncidentEvent]:
        """Every event recorded; a line that cannot be read (cut short) is left out."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        events = []
        for line in text.splitlines():
            try:
                found = json.loads(line)
            except ValueError:
                continue
            event = parse_event(found) if isinstance(found, dict) else None
            if event is not None:
                events.append(event)
        return events
