"""How a control room ends when it is told to from outside: SIGTERM, SIGHUP, or, served in
a browser, the server going away.

Each ends the app the way `q` does (its sources cancelled, so the MQTT presence says
goodbye; the recorder closed by the CLI; the journal written only by whole entries), with
an exit code that says why. Should the app not have ended within `GRACE` (a worker that
ignores cancellation, a terminal that no longer takes output), the process ends anyway:
a control room nobody can see must not keep running.

Exit codes (README, "Exit codes"): 0 quit, 2 a bad config or argument, 129 SIGHUP, 143
SIGTERM, 1 anything else.
"""

from __future__ import annotations

import os
import select
import signal
import sys
import threading
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from textual.app import App

#: Seconds a clean exit may take before the process ends without it.
GRACE = 10.0
#: Exit codes by the signal that ended the app: 128 + the signal's number, as a shell says.
EXIT_CODES = {signal.SIGTERM: 128 + signal.SIGTERM, signal.SIGHUP: 128 + signal.SIGHUP}
#: Exit code when the browser session's server went away.
SERVER_GONE = EXIT_CODES[signal.SIGHUP]


def end(app: App[Any], code: int, *, grace: float = GRACE) -> None:
    """Ask the app to exit with `code`; end the process after `grace` seconds regardless."""
    app.exit(return_code=code)
    timer = threading.Timer(grace, os._exit, args=(code,))
    timer.daemon = True
    timer.start()


def install_signal_handlers(app: App[Any], *, grace: float = GRACE) -> None:
    """SIGTERM and SIGHUP end the app cleanly. Called on the app's loop (at mount)."""
    import asyncio

    loop = asyncio.get_running_loop()
    for signum, code in EXIT_CODES.items():
        loop.add_signal_handler(signum, partial(end, app, code, grace=grace))


def watch_server(app: App[Any], *, grace: float = GRACE) -> threading.Thread | None:
    """Served in a browser, the app's stdin is the server's pipe: when the server goes
    away (stopped, killed) the pipe hangs up, and the app ends. None when stdin is no
    pipe (a terminal, or none)."""
    try:
        fd = sys.__stdin__.fileno() if sys.__stdin__ is not None else -1
    except (OSError, ValueError):
        return None
    if fd < 0 or not _is_pipe(fd):
        return None

    def watch() -> None:
        poller = select.poll()
        poller.register(fd, 0)  # no events asked: only a hang-up or an error is reported
        while True:
            events = [event for _, event in poller.poll()]
            if any(event & (select.POLLHUP | select.POLLERR | select.POLLNVAL) for event in events):
                break
        try:
            app.call_from_thread(lambda: end(app, SERVER_GONE, grace=grace))
        except RuntimeError:  # the app has already ended
            return

    thread = threading.Thread(target=watch, name="served-stdin-watch", daemon=True)
    thread.start()
    return thread


def _is_pipe(fd: int) -> bool:
    import stat

    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False
