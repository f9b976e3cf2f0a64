"""The browser sessions of `serve`, each ended with its page and all ended with `serve`.

textual-serve asks a session's control room to quit when its page goes and then waits for
it without limit; a session still starting, or one that no longer reads its input, outlived
its page, and on `serve`'s own exit nothing ended the sessions at all. Here each session runs
in a process group of its own (the shell textual-serve starts and the control room under it)
and is ended in steps: asked to quit, then SIGTERM, then SIGKILL, each after `GRACE`
seconds. The sessions themselves also end when `serve` goes (tui/lifecycle.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from asyncio.subprocess import Process
from typing import Any

from aiohttp import web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

log = logging.getLogger(__name__)

#: Seconds each step of ending a session may take before the next.
GRACE = 5.0


async def end_group(process: Process, grace: float = GRACE) -> None:
    """End a session's process group: SIGTERM, then SIGKILL after `grace` seconds."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if process.returncode is not None:
            break
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signum)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(process.wait(), grace)
    # The group outlives its leader when the control room under the shell lingers.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


class SessionService(AppService):
    """One page's control room, in a process group of its own, ended within bounds."""

    grace = GRACE

    async def _open_app_process(self, width: int = 80, height: int = 24) -> Process:
        environment = self._build_environment(width=width, height=height)
        self._process = process = await asyncio.create_subprocess_shell(
            self.command,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=environment,
            start_new_session=True,
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def stop(self) -> None:
        """Ask the control room to quit; end its group if it has not within `grace`."""
        with contextlib.suppress(TimeoutError, ConnectionError):
            await asyncio.wait_for(super().stop(), self.grace)
        if self._process is not None:
            await end_group(self._process, self.grace)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


class SessionServer(Server):
    """textual-serve's server, whose sessions end with their page and with it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sessions: set[SessionService] = set()

    async def on_shutdown(self, app: web.Application) -> None:
        await asyncio.gather(
            *(session.stop() for session in list(self.sessions)), return_exceptions=True
        )

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """As textual-serve's, with a session that is always ended (see SessionService)."""
        websocket = web.WebSocketResponse(heartbeat=15)
        width = to_int(request.query.get("width", "80"), 80)
        height = to_int(request.query.get("height", "24"), 24)
        session: SessionService | None = None
        try:
            await websocket.prepare(request)
            session = SessionService(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,  # type: ignore[arg-type]  # as textual-serve passes it
                download_manager=self.download_manager,
                debug=self.debug,
            )
            self.sessions.add(session)
            await session.start(width, height)
            await self._process_messages(websocket, session)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await websocket.close()
            raise
        except Exception as error:
            log.exception(error)
        finally:
            if session is not None:
                # Shielded: a cancelled handler (the server stopping) still ends its session.
                await asyncio.shield(session.stop())
                self.sessions.discard(session)
        return websocket
