"""Reading a recorded session back: its parts in order, an index of every record's times,
and the records themselves from any point on.

Opening indexes the whole recording once, reading only each line's kind and times (and the
rare audit entries and other operators' actions in full), so a long recording opens quickly
and its duration and actions are known before anything is replayed. A line that is not a
sound record is named by file and line and skipped; a part cut short, as a killed recorder
leaves it, is read up to the damage and the rest of the recording goes on.
"""

from __future__ import annotations

import gzip
import zlib
from array import array
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ..cutover.audit import entry_operator, entry_outcome
from ..cutover.recording import (
    Audited,
    Batch,
    Header,
    Parsed,
    PartStart,
    RecordError,
    parse_line,
    stamp_of,
)
from ..cutover.updates import PeerActionUpdate
from .recorder import part_path

_KINDS = {"batch": ord("b"), "tick": ord("t"), "audit": ord("a")}
_KIND_NAMES = {code: name for name, code in _KINDS.items()}


class RecordingError(Exception):
    """The file is not a recording that can be replayed; the message says why."""


@dataclass(frozen=True)
class Mark:
    """An action on the timeline: this room's audit entry, or another operator's action."""

    index: int
    offset: float
    now: datetime
    kind: str  # "audit" or "peer"
    text: str


@dataclass(frozen=True)
class Problem:
    """A line of the recording that was skipped, or where a part stops early."""

    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path.name} line {self.line}: {self.message}"


def audit_text(entry: dict[str, object] | Audited) -> str:
    """An audit entry in one line: `intent freeze cutover by alice@bastion`."""
    body = entry.entry if isinstance(entry, Audited) else entry
    text = f"{body.get('kind', '?')} {body.get('action', '?')} {body.get('target', '?')}"
    text += f" by {entry_operator(body)}"
    outcome = entry_outcome(body)
    return text + (f": {outcome}" if outcome else "")


class Recording:
    """A recording's header, its parts and an index of its records."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.problems: list[Problem] = []
        self.marks: list[Mark] = []
        #: Per record: wall offset from the start, the room clock (POSIX seconds), its kind,
        #: and where it is (part, line).
        self.offsets = array("d")
        self.clocks = array("d")
        self.kinds = bytearray()
        self.part_of = array("I")
        self.line_of = array("I")
        self.parts: list[Path] = []
        self.header = self._index()

    @property
    def count(self) -> int:
        return len(self.offsets)

    @property
    def duration(self) -> float:
        """Seconds from the start of the recording to its last record."""
        return self.offsets[-1] if self.offsets else 0.0

    def kind(self, index: int) -> str:
        return _KIND_NAMES[self.kinds[index]]

    def where(self, index: int) -> str:
        """Record `index` by file and line, as problems name it."""
        return f"{self.parts[self.part_of[index]].name} line {self.line_of[index]}"

    def _index(self) -> Header:
        first = self.path
        if not first.is_file():
            raise RecordingError(f"{first}: no such recording")
        header: Header | None = None
        part = 0
        while part_path(first, part).is_file():
            path = part_path(first, part)
            self.parts.append(path)
            lines = self._lines(path)
            if part == 0:
                header = self._first_line(path, lines)
            elif not self._part_line(path, lines, part, header):
                self.parts.pop()
                break
            self._index_part(path, part, lines, header)
            part += 1
        assert header is not None
        return header

    def _first_line(self, path: Path, lines: Iterator[tuple[int, bytes]]) -> Header:
        line = next(lines, None)
        if line is None:
            raise RecordingError(f"{path}: empty or not a recording (no header line)")
        try:
            parsed = parse_line(line[1].decode("utf-8"))
        except (UnicodeDecodeError, RecordError) as error:
            raise RecordingError(f"{path}: not a recording: line 1: {error}") from None
        if not isinstance(parsed.record, Header):
            raise RecordingError(f"{path}: not the first part of a recording (no header)")
        return parsed.record

    def _part_line(
        self, path: Path, lines: Iterator[tuple[int, bytes]], part: int, header: Header | None
    ) -> bool:
        line = next(lines, None)
        parsed: Parsed | None = None
        if line is not None:
            try:
                parsed = parse_line(line[1].decode("utf-8"))
            except (UnicodeDecodeError, RecordError):
                parsed = None
        record = parsed.record if parsed is not None else None
        if (
            not isinstance(record, PartStart)
            or header is None
            or record.session != header.session
            or record.part != part
        ):
            self.problems.append(
                Problem(path, 1, "not the next part of this recording; the replay stops before it")
            )
            return False
        return True

    def _lines(self, path: Path) -> Iterator[tuple[int, bytes]]:
        """The part's lines with their numbers; a problem where the part cannot be read on."""
        number = 0
        try:
            with gzip.open(path, "rb") as stream:
                for number, line in enumerate(stream, start=1):
                    if not line.endswith(b"\n"):
                        self.problems.append(
                            Problem(path, number, "the last line is cut short; left out")
                        )
                        return
                    yield number, line
        except EOFError:
            self.problems.append(
                Problem(
                    path,
                    number + 1,
                    "the file ends without its gzip end: the recorder was stopped without"
                    " closing it (or is still writing); replayed up to the line before",
                )
            )
        except (OSError, zlib.error) as error:
            self.problems.append(
                Problem(path, number + 1, f"unreadable from here on ({error}); replayed up to it")
            )

    def _index_part(
        self,
        path: Path,
        part: int,
        lines: Iterator[tuple[int, bytes]],
        header: Header | None,
    ) -> None:
        assert header is not None
        start = header.wall
        for number, raw in lines:
            try:
                text = raw.decode("utf-8")
                stamp = stamp_of(text)
            except (UnicodeDecodeError, RecordError) as error:
                reason = "not UTF-8" if isinstance(error, UnicodeDecodeError) else str(error)
                self.problems.append(Problem(path, number, f"skipped: {reason}"))
                continue
            index = len(self.offsets)
            offset = max(0.0, stamp.wall - start)
            if self.offsets and offset < self.offsets[-1]:
                offset = self.offsets[-1]  # the wall clock stepped back: keep the order
            if stamp.kind == "audit" or (
                stamp.kind == "batch" and b'"type":"PeerActionUpdate"' in raw
            ):
                try:
                    self._mark(index, offset, parse_line(text))
                except RecordError as error:
                    self.problems.append(Problem(path, number, f"skipped: {error}"))
                    continue
            self.offsets.append(offset)
            self.clocks.append(stamp.now.timestamp())
            self.kinds.append(_KINDS[stamp.kind])
            self.part_of.append(part)
            self.line_of.append(number)

    def _mark(self, index: int, offset: float, parsed: Parsed) -> None:
        record = parsed.record
        if isinstance(record, Audited):
            self.marks.append(Mark(index, offset, record.now, "audit", audit_text(record)))
        elif isinstance(record, Batch):
            for update in record.updates:
                if isinstance(update, PeerActionUpdate):
                    for action in update.actions:
                        mark = Mark(index, offset, record.now, "peer", action.text)
                        self.marks.append(mark)

    def records(self, start: int = 0) -> Iterator[tuple[int, Parsed | Problem]]:
        """Every record from index `start` on, decoded, with its index; a record that
        cannot be decoded comes as the Problem that says why."""
        index = start
        while index < self.count:
            part = self.part_of[index]
            path = self.parts[part]
            with gzip.open(path, "rb") as stream:
                try:
                    for number, raw in enumerate(stream, start=1):
                        if index >= self.count or self.part_of[index] != part:
                            break
                        if number != self.line_of[index]:
                            continue
                        try:
                            parsed: Parsed | Problem = parse_line(raw.decode("utf-8"))
                        except (UnicodeDecodeError, RecordError) as error:
                            parsed = Problem(path, number, f"skipped: {error}")
                        yield index, parsed
                        index += 1
                except (EOFError, OSError, zlib.error):
                    pass  # already reported by the index, which stops at the same place
            while index < self.count and self.part_of[index] == part:
                index += 1  # cannot happen unless the file changed since it was indexed


def open_recording(path: Path | str) -> Recording:
    """Open and index a recording; RecordingError when it cannot be replayed at all."""
    try:
        return Recording(Path(path))
    except OSError as error:
        raise RecordingError(f"{path}: cannot read: {error.strerror or error}") from error
