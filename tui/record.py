"""`--record FILE`: the session recorder, attached to a built control room."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from ..cutover.recording import Header, config_document
from ..sources.recorder import DEFAULT_MAX_BYTES, RecorderError, SessionRecorder
from .app import ControlRoomApp
from .configfile import ConfigError, LoadedConfig


def _program() -> str:
    try:
        return f"maestro-control-room {metadata.version('maestro-control-room')}"
    except metadata.PackageNotFoundError:
        return "maestro-control-room"


def recording_header(app: ControlRoomApp, loaded: LoadedConfig, wall: float) -> Header:
    """What a replay needs besides the records: the config in force and the workbook's text,
    so that it can run on another machine without the original files."""
    config = loaded.config
    workbook = loaded.resolve(config.waves.workbook)
    try:
        workbook_csv = workbook.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"--record: cannot read the workbook {workbook}: {error}") from error
    try:
        config_toml = loaded.path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        config_toml = ""  # the validated config below is what a replay uses
    identity = app.audit_operator.as_json() if app.audit_operator is not None else {}
    return Header(
        session=uuid.uuid4().hex,
        started=datetime.fromtimestamp(wall, timezone.utc),
        now=app.clock.now(),
        wall=wall,
        operator=app.operator,
        identity=identity,
        sources=tuple(source.name for source in app.sources),
        config=config_document(config),
        config_toml=config_toml,
        config_path=str(loaded.path.resolve()),
        workbook_csv=workbook_csv,
        workbook_path=str(workbook.resolve()),
        program=_program(),
    )


def start_recording(
    app: ControlRoomApp,
    loaded: LoadedConfig,
    path: Path,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    wall: Callable[[], float] = time.time,
) -> SessionRecorder:
    """Record `app`'s session to `path` from now on: every batch it ingests, every evaluation
    of its room and every entry its audit journal writes. ConfigError when it cannot start."""
    header = recording_header(app, loaded, wall())

    def report(message: str) -> None:
        # From the writer thread, or from the app's own thread at close; after exit, nowhere.
        with contextlib.suppress(RuntimeError):
            try:
                app.call_from_thread(app.notify, message, title="Recording", severity="error")
            except RuntimeError:
                app.notify(message, title="Recording", severity="error")

    try:
        recorder = SessionRecorder(
            path, header, app.clock, max_bytes=max_bytes, wall=wall, on_error=report
        )
    except RecorderError as error:
        raise ConfigError(f"--record: {error}") from error
    app.session.listen(recorder)
    app.recorder = recorder  # the playbook's logs bundle takes the recording
    if app.journal is not None:
        app.journal.observe(recorder.audited)
    return recorder
