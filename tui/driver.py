"""The terminal driver: Textual's own, with an input thread that sleeps until a key comes.

Textual's Linux driver reads the terminal in a thread that wakes ten times a second to
look for input and for the end of an escape sequence. On a control room that only watches,
those wake-ups were a tenth of its CPU. Here the thread waits on the terminal and on a pipe
that the driver writes when it stops the thread; it wakes on a timer only while the key
parser waits out a lone Escape (to tell it from Alt+key).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import threading
from codecs import getincrementaldecoder
from typing import Any

from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver


class _WakingEvent(threading.Event):
    """The driver's exit event, which also wakes the input thread out of its wait."""

    def __init__(self, wake: int) -> None:
        super().__init__()
        self._wake = wake

    def set(self) -> None:
        super().set()
        # Closed with the driver, or a full pipe: awake already.
        with contextlib.suppress(OSError):
            os.write(self._wake, b"x")


def input_timeout(parser_deadline: float | None, now: float) -> float | None:
    """How long the input thread may wait: until the parser's deadline for the rest of an
    escape sequence, or for as long as it takes while none is pending."""
    if parser_deadline is None:
        return None
    return max(0.0, parser_deadline - now)


class QuietLinuxDriver(LinuxDriver):
    """The Linux driver, whose input thread wakes only for input, a pending escape
    sequence's timeout, or its end."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.exit_event = _WakingEvent(self._wake_write)

    def close(self) -> None:
        super().close()
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)

    def _drain_wake(self) -> None:
        with contextlib.suppress(OSError):  # nothing left to read (non-blocking): drained
            while os.read(self._wake_read, 64):
                pass

    def run_input_thread(self) -> None:
        """Wait for input and dispatch events; as Textual's, but for how long it waits."""
        selector = selectors.SelectSelector()
        fileno = self.fileno
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        read = os.read

        def process(events: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            terminal = [key for key, _ in events if key.fd == fileno]
            if len(terminal) < len(events):
                self._drain_wake()
            if terminal:
                data = decode(read(fileno, 1024 * 4), final=final)
                for event in parser.feed(data) if data else ():
                    self.process_message(event)
            for event in parser.tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                timeout = input_timeout(parser._timeout_time, get_time())
                process(selector.select(timeout))
            selector.unregister(fileno)
            process(selector.select(0.1), final=True)
        finally:
            selector.close()
            try:
                for _event in parser.feed(""):
                    pass
            except Exception:  # EOF or a parse error at the very end: as Textual's
                pass


def quiet_driver(driver: type[Driver]) -> type[Driver]:
    """The quiet driver in place of Textual's Linux driver; any other (headless, web,
    Windows, one named by TEXTUAL_DRIVER) as it is."""
    return QuietLinuxDriver if driver is LinuxDriver else driver
