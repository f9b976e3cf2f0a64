"""The audit journal on disk: JSON lines, append-only, one fsync per entry.

Two control rooms on one host may share a journal: the last line is read and the new one
appended under an exclusive `flock`, so each entry chains onto the one really before it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

from cutover.audit import (
    AuditEntry,
    AuditRecord,
    Operator,
    VerifyResult,
    next_entry,
    operator_identity,
    parse_entry,
    verify,
)

APP_DIR = "maestro-control-room"
#: How far back to look for the last line's start, per read.
_CHUNK = 64 * 1024


class JournalError(Exception):
    """The journal cannot be opened, read or written; the message names the path and why."""


def default_journal_path(environ: Mapping[str, str] | None = None) -> Path:
    """`$XDG_STATE_HOME/maestro-control-room/audit.jsonl`, `~/.local/state/...` when unset."""
    env = os.environ if environ is None else environ
    state = env.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / APP_DIR / "audit.jsonl"


def journal_path(configured: str, environ: Mapping[str, str] | None = None) -> Path:
    """The configured `[audit] path` (with `~` expanded), or the default when empty."""
    return Path(configured).expanduser() if configured else default_journal_path(environ)


def local_operator(user: str, environ: Mapping[str, str] | None = None) -> Operator:
    """This process's operator: the environment, the host name and, inside tmux, the
    session's name as tmux itself reports it."""
    env = os.environ if environ is None else environ
    tmux_name = ""
    if env.get("TMUX"):
        try:
            shown = subprocess.run(
                ["tmux", "display-message", "-p", "#S"],
                capture_output=True,
                text=True,
                timeout=1,
                check=False,
            )
            if shown.returncode == 0:
                tmux_name = shown.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass  # the socket path from $TMUX names the session well enough
    return operator_identity(env, socket.gethostname(), user, tmux_name)


class AuditJournal:
    """The append-only journal file. Opened on first write (or by `open`), so a journal that
    cannot be written refuses the action that needs it rather than the app's start."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._observers: list[Callable[[AuditEntry], None]] = []

    def observe(self, observer: Callable[[AuditEntry], None]) -> None:
        """Hand every entry to `observer` once it is durable (the session recorder does
        this). An observer that fails never fails the write."""
        self._observers.append(observer)

    def open(self) -> None:
        """Create the file (and its folders) if needed, append-only, mode 0600."""
        if self._fd is not None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as error:
            raise self._error("cannot open", error) from error
        try:
            self._locked_last_line()  # a journal that cannot be continued refuses now
        except JournalError:
            self.close()
            raise

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> AuditJournal:
        self.open()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def write(self, record: AuditRecord) -> AuditEntry:
        """Append `record` as the next entry; it is on disk when this returns."""
        self.open()
        fd = self._fd
        assert fd is not None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as error:
            raise self._error("cannot lock", error) from error
        try:
            entry = self._seal(record, self._last_line(fd))
            data = (entry.line + "\n").encode("utf-8")
            written = os.write(fd, data)
            if written != len(data):
                raise self._error("cannot write", OSError(f"short write, {written} bytes"))
            os.fsync(fd)
        except OSError as error:
            raise self._error("cannot write", error) from error
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
        for observer in self._observers:
            with contextlib.suppress(Exception):
                observer(entry)
        return entry

    def _seal(self, record: AuditRecord, last: bytes | None) -> AuditEntry:
        try:
            return next_entry(record, last)
        except ValueError as error:
            raise JournalError(
                f"audit journal {self.path}: cannot continue the chain: {error};"
                " check it with `maestro-control-room audit verify`"
            ) from error

    def _locked_last_line(self) -> bytes | None:
        fd = self._fd
        assert fd is not None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            try:
                last = self._last_line(fd)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        except OSError as error:
            raise self._error("cannot read", error) from error
        if last is not None:
            self._seal_check(last)
        return last

    def _seal_check(self, last: bytes) -> None:
        parsed = parse_entry(last)
        if isinstance(parsed, str):
            raise JournalError(
                f"audit journal {self.path}: cannot continue the chain: the last line is"
                f" {parsed}; check it with `maestro-control-room audit verify`"
            )

    def _last_line(self, fd: int) -> bytes | None:
        """The last complete line, without its newline; None for an empty journal."""
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        if os.pread(fd, 1, size - 1) != b"\n":
            raise JournalError(
                f"audit journal {self.path}: the last line is cut short (no newline);"
                " check it with `maestro-control-room audit verify`"
            )
        # Read backwards from the final newline to the one before it.
        tail, position = b"", size - 1
        while position > 0:
            start = max(0, position - _CHUNK)
            tail = os.pread(fd, position - start, start) + tail
            position = start
            newline = tail.rfind(b"\n")
            if newline >= 0:
                return tail[newline + 1 :]
        return tail

    def _error(self, doing: str, error: OSError) -> JournalError:
        reason = error.strerror or str(error)
        return JournalError(f"audit journal {self.path}: {doing}: {reason}")


@dataclass(frozen=True)
class JournalReport:
    """A journal as read back: its chain's state and the entries that parse."""

    path: Path
    result: VerifyResult
    #: (line number, fields, or why the line is not a sound entry), in file order.
    entries: tuple[tuple[int, dict[str, Any] | str], ...]


def read_lines(path: Path) -> Iterator[bytes]:
    """The journal's lines; OSError when it cannot be read."""
    with path.open("rb") as journal:
        yield from journal


def read_journal(path: Path) -> JournalReport:
    """Read and verify a whole journal. Raises JournalError when it cannot be read."""
    try:
        lines = list(read_lines(path))
    except OSError as error:
        reason = error.strerror or str(error)
        raise JournalError(f"audit journal {path}: cannot read: {reason}") from error
    entries = tuple((number, parse_entry(line)) for number, line in enumerate(lines, start=1))
    return JournalReport(path, verify(lines), entries)
