"""A program in a pseudo-terminal: every byte it writes is counted and fed to a terminal
emulator (pyte), so the benchmark knows what is on screen and when."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import termios
import threading
import time
from collections.abc import Callable, Mapping, Sequence

import pyte


def _controlling_terminal() -> None:
    """In the child: a session of its own, with the pty (its stdin) as controlling terminal,
    as a login shell would have it; SIGHUP then reaches it when the terminal goes away."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class ScreenTimeout(Exception):
    """What was awaited never appeared on screen."""


class PtyProgram:
    """Runs `argv` in a pty of `columns` x `lines` and keeps its screen up to date."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        columns: int,
        lines: int,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> None:
        self.columns, self.lines = columns, lines
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        environment = dict(os.environ if env is None else env)
        environment.update(TERM="xterm-256color", COLUMNS=str(columns), LINES=str(lines))
        self.started = time.monotonic()
        self.process = subprocess.Popen(
            list(argv),
            stdin=slave,
            stdout=slave,
            stderr=slave,  # Textual draws on stderr
            env=environment,
            cwd=cwd,
            preexec_fn=_controlling_terminal,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.screen = pyte.Screen(columns, lines)
        self.stream = pyte.ByteStream(self.screen)
        self.bytes_written = 0
        self._changed = threading.Condition()
        self._version = 0
        self._watchers: list[Callable[[float], None]] = []
        self._closed = False
        self._reader = threading.Thread(target=self._read, name="pty-reader", daemon=True)
        self._reader.start()

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read(self) -> None:
        while not self._closed:
            try:
                ready, _, _ = select.select([self.master], [], [], 0.2)
                if not ready:
                    continue
                chunk = os.read(self.master, 65536)
            except OSError:
                break
            if not chunk:
                break
            now = time.monotonic()
            with self._changed:
                self.bytes_written += len(chunk)
                self.stream.feed(chunk)
                self._version += 1
                for watcher in list(self._watchers):
                    watcher(now)
                self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def text(self) -> str:
        with self._changed:
            return "\n".join(self.screen.display)

    def watch(self, watcher: Callable[[float], None]) -> None:
        """Call `watcher(time)` after every chunk the program writes (under the screen lock)."""
        with self._changed:
            self._watchers.append(watcher)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float) -> float:
        """Wait until the screen satisfies `predicate`; the monotonic time it first did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if predicate("\n".join(self.screen.display)):
                    return time.monotonic()
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    raise ScreenTimeout(
                        "the screen never showed what was awaited; it showed:\n" + self.text()
                    )
                self._changed.wait(left)

    def press(self, keys: bytes) -> float:
        """Type `keys`; the monotonic time they were sent."""
        os.write(self.master, keys)
        return time.monotonic()

    def resize(self, columns: int, lines: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", lines, columns, 0, 0))
        with self._changed:
            self.screen.resize(lines, columns)
        os.killpg(self.process.pid, signal.SIGWINCH)

    def close(self, timeout: float = 5.0) -> int | None:
        """Ask the program to quit (q), then terminate it if it does not."""
        if self.process.poll() is None:
            try:
                os.write(self.master, b"q")
                self.process.wait(timeout)
            except (OSError, subprocess.TimeoutExpired):
                self.process.terminate()
                try:
                    self.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        self._closed = True
        self._reader.join(2)
        os.close(self.master)
        return self.process.returncode
