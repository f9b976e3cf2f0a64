"""Recording a session to disk: gzip-compressed JSON lines, written off the event loop.

The app only appends to a queue (a delivered batch, an evaluation, an audit entry); a
thread encodes, compresses and writes what is queued about once a second, flushes the
compressor so everything written so far can be read back, and fsyncs. A crash loses at most
that second. When a part grows past `max_bytes` it is closed and the next one opened: FILE,
then FILE.1, FILE.2, ...
"""

from __future__ import annotations

import gzip
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ..cutover.audit import AuditEntry
from ..cutover.recording import (
    Audited,
    Batch,
    Header,
    PartStart,
    Tick,
    encode_update,
    header_line,
    part_line,
    record_line,
)
from ..cutover.session import Delivery
from ..cutover.updates import SignalUpdate, Update
from .base import Clock

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
FLUSH_EVERY = 1.0


class RecorderError(Exception):
    """The recording cannot be started or written; the message names the file and why."""


def part_path(path: Path, part: int) -> Path:
    """FILE for the first part, FILE.1, FILE.2, ... for the parts after it."""
    return path if part == 0 else path.with_name(f"{path.name}.{part}")


def source_of(updates: Sequence[Update]) -> str:
    """The source a batch came from, as its updates name it."""
    for update in updates:
        name = update.signal.source if isinstance(update, SignalUpdate) else ""
        name = name or str(getattr(update, "source", "") or "")
        if name:
            return name
    return ""


#: What the app hands over: (kind, wall, clock now, payload), encoded later by the thread.
_Queued = tuple[str, float, datetime, Any]


class SessionRecorder:
    """Writes one session: its header at once, then every queued record once a second."""

    def __init__(
        self,
        path: Path,
        header: Header,
        clock: Clock,
        *,
        max_bytes: int = DEFAULT_MAX_BYTES,
        flush_every: float = FLUSH_EVERY,
        wall: Callable[[], float] = time.time,
        on_error: Callable[[str], None] | None = None,
    ) -> None:
        self.path = Path(path)
        self.header = header
        self.max_bytes = max(1, max_bytes)
        self.error = ""
        self._clock = clock
        self._wall = wall
        self._flush_every = flush_every
        self._on_error = on_error
        self._queue: deque[_Queued] = deque()
        self._part = 0
        self._raw: IO[bytes] | None = None
        self._gzip: gzip.GzipFile | None = None
        #: The clock of the last tick, while nothing else was queued after it: a room
        #: evaluated again at the same instant with nothing new changes nothing.
        self._last_tick: datetime | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()  # one writer at a time: the thread, or close()
        self._closed = False
        for part in (0, 1):
            if part_path(self.path, part).exists():
                raise RecorderError(
                    f"{part_path(self.path, part)}: a recording is already there;"
                    " give another file name"
                )
        self._open_part(0)
        self._write_lines([header_line(header)])
        self._flush()
        self._thread = threading.Thread(target=self._run, name="session-recorder", daemon=True)
        self._thread.start()

    @property
    def parts(self) -> int:
        return self._part + 1

    # Called on the app's thread: each only queues ------------------------------------------

    def delivered(self, updates: Sequence[Update], source: str = "") -> None:
        """A batch of updates from `source` is applied to the room (its name read from its
        updates when not given)."""
        if self._closed or self.error:
            return
        self._last_tick = None
        named = source or source_of(updates)
        self._queue.append(("batch", self._wall(), self._clock.now(), (named, tuple(updates))))

    def heard(self, batch: Delivery) -> None:
        """As a session's listener: every batch the room takes in."""
        self.delivered(batch.updates, batch.source)

    def ticked(self, now: datetime) -> None:
        """As a session's listener: every evaluation of the room."""
        self.evaluated(now)

    def evaluated(self, now: datetime) -> None:
        """The room is about to be evaluated at `now`."""
        if self._closed or self.error or now == self._last_tick:
            return
        self._last_tick = now
        self._queue.append(("tick", self._wall(), now, None))

    def audited(self, entry: AuditEntry) -> None:
        """The audit journal has just made `entry` durable."""
        if self._closed or self.error:
            return
        self._last_tick = None
        self._queue.append(("audit", self._wall(), self._clock.now(), dict(entry.body)))

    def close(self) -> None:
        """Write what is queued, end the last part properly and stop; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join()
        with self._lock:
            self._drain()
            self._close_part()

    # The writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.wait(self._flush_every):
            with self._lock:
                if self._gzip is None:
                    return
                self._drain()

    def _drain(self) -> None:
        if self.error or self._gzip is None:
            self._queue.clear()
            return
        lines: list[str] = []
        while self._queue:
            kind, wall, now, payload = self._queue.popleft()
            lines.append(self._line(kind, wall, now, payload))
        try:
            if lines:
                self._write_lines(lines)
                self._flush()
            raw = self._raw
            if raw is not None and raw.tell() >= self.max_bytes:
                self._close_part()
                self._open_part(self._part + 1)
                self._write_lines([part_line(PartStart(self.header.session, self._part, wall))])
                self._flush()
        except (OSError, RecorderError) as error:
            self._fail(error)

    def _line(self, kind: str, wall: float, now: datetime, payload: Any) -> str:
        if kind == "tick":
            return record_line(Tick(wall, now))
        if kind == "audit":
            entry: Mapping[str, Any] = payload
            return record_line(Audited(wall, now, entry))
        source, updates = payload
        batch = Batch(wall, now, source, updates)
        try:
            return record_line(batch)
        except (TypeError, ValueError):
            pass
        # A value no recording can hold costs its update, not the batch or the recording.
        kept = []
        for update in updates:
            try:
                encode_update(update)
            except (TypeError, ValueError) as error:
                self._report(f"recording: an update was left out: {error}")
                continue
            kept.append(update)
        return record_line(Batch(wall, now, batch.source, tuple(kept)))

    def _open_part(self, part: int) -> None:
        path = part_path(self.path, part)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            raw = path.open("xb")
        except OSError as error:
            raise RecorderError(f"{path}: cannot create the recording: {_why(error)}") from error
        self._part = part
        self._raw = raw
        # No name or time in the gzip header: the first line says what and when.
        self._gzip = gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0)

    def _write_lines(self, lines: list[str]) -> None:
        assert self._gzip is not None
        self._gzip.write(("\n".join(lines) + "\n").encode("ascii"))

    def _flush(self) -> None:
        """Everything written so far, readable from the file even if the process dies now."""
        assert self._gzip is not None and self._raw is not None
        self._gzip.flush()  # a sync flush: the compressed stream so far decodes on its own
        self._raw.flush()
        os.fsync(self._raw.fileno())

    def _close_part(self) -> None:
        compressed, raw = self._gzip, self._raw
        self._gzip = self._raw = None
        try:
            if compressed is not None:
                compressed.close()
            if raw is not None:
                raw.flush()
                os.fsync(raw.fileno())
                raw.close()
        except OSError as error:
            self._fail(error)

    def _fail(self, error: OSError | RecorderError) -> None:
        if self.error:
            return
        reason = _why(error) if isinstance(error, OSError) else str(error)
        self.error = f"recording {part_path(self.path, self._part)} stopped: {reason}"
        self._queue.clear()
        self._report(self.error)

    def _report(self, message: str) -> None:
        if self._on_error is not None:
            self._on_error(message)


def _why(error: OSError) -> str:
    return error.strerror or str(error)
