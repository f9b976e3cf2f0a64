"""What went wrong talking to Alertmanager, shared by the alerts source and the silences
(each builds on it; neither imports the other's module)."""

from __future__ import annotations

import os

import httpx


class AlertmanagerError(RuntimeError):
    """Alertmanager could not be asked, or refused: the message is short and shown as is."""


def reason(error: Exception) -> str:
    if isinstance(error, httpx.TimeoutException):
        return "timed out"
    if isinstance(error, httpx.ConnectError):
        # Async httpx says "All connection attempts failed"; the OS error under it says why.
        cause: BaseException | None = error
        while cause is not None:
            if isinstance(cause, OSError) and cause.errno:
                return os.strerror(cause.errno).lower()
            cause = cause.__cause__ or cause.__context__
        return str(error)[:80] or "cannot connect"
    if isinstance(error, httpx.HTTPStatusError):
        body = " ".join(error.response.text.split())[:80]
        return f"HTTP {error.response.status_code}" + (f": {body}" if body else "")
    return str(error)[:80] or type(error).__name__
