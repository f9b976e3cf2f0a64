"""The audit journal on disk: JSON lines, append-only, one fsync per entry.

Two control rooms on one host may share a journal: the last line is read and the new one
appended under an exclusive `flock`, so each entry chains onto the one really before it.
"""

from __future__ import annotations

import contextlib
import fcntl
import io
import os
import socket
import subprocess
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType
from typing import Any

from ..cutover.audit import (
    AuditEntry,
    AuditRecord,
    Damage,
    Operator,
    VerifyResult,
    damaged_bytes,
    line_digest,
    next_entry,
    operator_identity,
    parse_entry,
    seal_entry,
    verify,
)

APP_DIR = "maestro-control-room"
#: How far back to look for the last line's start, per read.
_CHUNK = 64 * 1024


#: What to do about a journal that cannot be continued.
NEXT_STEP = (
    "check it with `maestro-control-room audit verify`, then close the damage with"
    " `maestro-control-room audit seal --reason TEXT`"
)


class JournalError(Exception):
    """The journal cannot be opened, read or written; the message names the path and why."""


class SealRefused(JournalError):
    """`audit seal` was asked of a journal it must not seal: intact, or broken mid-file."""


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
                f"audit journal {self.path}: cannot continue the chain: {error}; {NEXT_STEP}"
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
                f" {parsed}; {NEXT_STEP}"
            )

    def _last_line(self, fd: int) -> bytes | None:
        """The last complete line, without its newline; None for an empty journal."""
        size = os.fstat(fd).st_size
        if size == 0:
            return None
        if os.pread(fd, 1, size - 1) != b"\n":
            raise JournalError(
                f"audit journal {self.path}: the last line is cut short (no newline); {NEXT_STEP}"
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


def _split_lines(data: bytes) -> list[bytes]:
    """The journal's lines with their newlines, split on `\n` only (as `read_lines`)."""
    return list(io.BytesIO(data))


def journal_damage(path: Path) -> str:
    """What is wrong with the journal at `path`, for the control room to say at start, or
    '' when it is sound or absent. Names the file, the line and why, and whether actions
    are refused (they are when its end cannot be continued)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return ""
    except OSError as error:
        return f"audit journal {path}: cannot read: {error.strerror or error}"
    lines = _split_lines(data)
    result = verify(lines)
    if result.ok:
        return ""
    last = lines[-1]
    if not last.endswith(b"\n") or isinstance(parse_entry(last), str):
        consequence = f"every action is refused until it is sealed: {NEXT_STEP}"
    else:
        consequence = "actions go on; the break stays on record (audit verify names it)"
    return f"audit journal {path}: {result}; {consequence}"


def seal_journal(
    path: Path, reason: str, operator: Operator, now: datetime | None = None
) -> tuple[AuditEntry, Damage]:
    """Close the damaged end of the journal with a seal entry, appended after it.

    Nothing is rewritten: the damaged bytes stay where they are, a line cut short gets the
    newline it lacked, and the seal records the damage and chains from the last good entry.
    Refused (SealRefused) when the journal is intact, or when sound entries follow the
    break: that is not the damaged end a crash leaves, and is kept as it is for inquiry."""
    if not reason.strip():
        raise SealRefused(f"audit journal {path}: a seal needs a reason (--reason TEXT)")
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND)
    except OSError as error:
        raise JournalError(f"audit journal {path}: cannot open: {error.strerror}") from error
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # no control room appends while the seal is made
        data = _read_all(fd)
        lines = _split_lines(data)
        result = verify(lines)
        damage = _damage(path, lines, result)
        entry = seal_entry(damage, operator, reason.strip(), now or datetime.now(timezone.utc))
        gap = b"\n" if data and not data.endswith(b"\n") else b""
        payload = gap + entry.line.encode("utf-8") + b"\n"
        if os.write(fd, payload) != len(payload):
            raise JournalError(f"audit journal {path}: cannot write the seal: short write")
        os.fsync(fd)
    except OSError as error:
        raise JournalError(f"audit journal {path}: cannot seal: {error.strerror}") from error
    finally:
        os.close(fd)
    return entry, damage


def _read_all(fd: int) -> bytes:
    size = os.fstat(fd).st_size
    chunks, offset = [], 0
    while offset < size:
        chunk = os.pread(fd, min(_CHUNK, size - offset), offset)
        if not chunk:
            break
        chunks.append(chunk)
        offset += len(chunk)
    return b"".join(chunks)


def _damage(path: Path, lines: list[bytes], result: VerifyResult) -> Damage:
    if result.ok:
        raise SealRefused(f"audit journal {path}: {result}: nothing to seal")
    first = result.broken_line
    assert first is not None
    sound = [n for n in range(first, len(lines) + 1) if isinstance(parse_entry(lines[n - 1]), dict)]
    if sound:
        raise SealRefused(
            f"audit journal {path}: {result}, but line {sound[0]} is a sound entry: the damage"
            " is not at the end, where a crash leaves it. Nothing was sealed; keep the file"
            " as it is and compare it with a copy (the MQTT audit topic)"
        )
    region = damaged_bytes(lines, first, len(lines))
    cut = not lines[-1].endswith(b"\n")
    why = "cut short: the last line has no newline (a crash while writing)" if cut else result.why
    return Damage(
        first, len(lines), len(region), line_digest(region), why, result.last_seq, result.head
    )
