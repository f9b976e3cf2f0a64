"""Exporting the logs of an incident: one `.tar.gz` with a sha256 manifest.

The playbook's fourth step. What goes in (the journal's entries of the period, the recording
if one runs, the handover, the event log, the gate report) is gathered by the control room
as of the moment of the export; this module writes it, never over another file, and names
the bundle's path in the outcome, which the journal keeps.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import tarfile
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path

from ..cutover.actions import ActionOutcome, ActionPlan, Change

#: The manifest's name inside the bundle: `sha256  name` per file, as `sha256sum -c` reads.
MANIFEST = "SHA256SUMS"

#: What the room gathers for an export: file name in the bundle to its bytes.
Collect = Callable[[ActionPlan], Mapping[str, bytes]]


def manifest(files: Mapping[str, bytes]) -> bytes:
    lines = [
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(files.items())
    ]
    return "".join(lines).encode()


def write_bundle(folder: Path, files: Mapping[str, bytes], at: datetime) -> Path:
    """`maestro-cutover-logs-<UTC time>.tar.gz` in `folder`, every file under one directory
    of the same name, with the manifest last. Made private (0600): journals name people."""
    stem = f"maestro-cutover-logs-{at.astimezone(timezone.utc):%Y%m%dT%H%M%SZ}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.tar.gz"
    counter = 1
    while path.exists():
        counter += 1
        path = folder / f"{stem}-{counter}.tar.gz"
    contents = {**files, MANIFEST: manifest(files)}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        for name, data in contents.items():
            info = tarfile.TarInfo(f"{stem}/{name}")
            info.size = len(data)
            info.mtime = int(at.timestamp())
            info.mode = 0o600
            bundle.addfile(info, io.BytesIO(data))
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(buffer.getvalue())
        out.flush()
        os.fsync(out.fileno())
    return path


class LogExporter:
    """Carries out the export-logs step: gathers, writes the bundle, names its path."""

    name = "export"

    def __init__(
        self,
        folder: Path,
        collect: Collect | None = None,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.folder = folder
        #: Set by the control room once it can gather what goes in.
        self.collect = collect
        self._now = now or (lambda: datetime.now(timezone.utc))

    async def apply(self, plan: ActionPlan) -> ActionOutcome:
        if self.collect is None:
            return ActionOutcome(False, "nothing gathers the logs here: no export")
        files = dict(self.collect(plan))
        path = await asyncio.to_thread(write_bundle, self.folder, files, self._now())
        names = ", ".join(sorted(files))
        return ActionOutcome(
            True,
            f"logs exported to {path} ({names}; sha256 in {MANIFEST})",
            (Change("logs", "export", "—", str(path)),),
        )
