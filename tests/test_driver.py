"""The terminal driver: its input thread sleeps while no key comes, yet keys, a lone Escape
and quitting work as with Textual's own; in a real pseudo-terminal."""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

import pytest
from textual.drivers.headless_driver import HeadlessDriver
from textual.drivers.linux_driver import LinuxDriver

from bench.terminal import PtyProgram
from maestro_control_room.tui.driver import QuietLinuxDriver, input_timeout, quiet_driver
from tests.conftest import CONFIG

HELP_OPEN = "keymap id"


@pytest.mark.parametrize(
    ("deadline", "now", "expected"),
    [(None, 5.0, None), (5.1, 5.0, pytest.approx(0.1)), (4.0, 5.0, 0.0)],
)
def test_the_input_thread_waits_for_a_key_or_an_escape_sequences_end(
    deadline: float | None, now: float, expected: float | None
) -> None:
    assert input_timeout(deadline, now) == expected


def test_only_the_terminals_driver_is_replaced() -> None:
    assert quiet_driver(LinuxDriver) is QuietLinuxDriver
    assert quiet_driver(HeadlessDriver) is HeadlessDriver


#: pselect6, the call the input thread waits in (the loop waits in epoll, the writer on a lock).
PSELECT6 = {"x86_64": 270, "aarch64": 72}.get(platform.machine())


def _input_thread_switches(pid: int) -> int:
    """How often the input thread has gone to sleep and woken so far."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        if (task / "syscall").read_text().split()[0] == str(PSELECT6):
            status = (task / "status").read_text()
            line = next(x for x in status.splitlines() if x.startswith("voluntary_ctxt_switches"))
            return int(line.split()[1])
    raise AssertionError("no thread waits in pselect6")


@pytest.mark.skipif(PSELECT6 is None, reason="pselect6's number on this machine")
def test_keys_escape_and_quit_work_while_the_input_thread_sleeps() -> None:
    argv = [sys.executable, "-m", "maestro_control_room", "--config", str(CONFIG)]
    pty = PtyProgram(argv, columns=140, lines=45, cwd=str(CONFIG.parent))
    try:
        pty.wait_for(lambda screen: "Events ·" in screen, 60)
        before = _input_thread_switches(pty.pid)
        time.sleep(2.0)  # the span watched: Textual's thread wakes 20 times in it
        assert _input_thread_switches(pty.pid) - before <= 2
        pty.press(b"?")
        pty.wait_for(lambda screen: HELP_OPEN in screen, 10)
        pty.press(b"\x1b")  # a lone Escape: shown as such once the parser's wait runs out
        pty.wait_for(lambda screen: HELP_OPEN not in screen, 10)
        pty.press(b"q")
        pty.process.wait(10)
        assert pty.process.returncode == 0, pty.text()
    finally:
        pty.close()
