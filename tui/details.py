"""Enter on a wave, a rollout or a gate check: the detail screen for the row, made from what
the room holds, and shown again from every view while it is open."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..cutover.check_detail import CheckDetail, check_detail
from ..cutover.rollout_detail import RolloutDetail, rollout_detail
from ..cutover.room import ControlRoom, RoomView
from ..cutover.wave_detail import WaveDetail, wave_detail
from ..cutover.waves import WaveProgress, Workbook
from .handover import journal_entries
from .screens.check_detail import CheckDetailScreen
from .screens.rollout_detail import RolloutDetailScreen
from .screens.wave_detail import WaveDetailScreen


class JournalReader:
    """The audit journal's entries, read again only when the file changed: the rollout
    detail asks at every refresh while it is open."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._seen: tuple[int, int] | None = None
        self._entries: tuple[dict[str, Any], ...] = ()
        self.note = "none is configured" if path is None else ""

    def entries(self) -> tuple[dict[str, Any], ...]:
        if self.path is None:
            return ()
        try:
            stat = self.path.stat()
            seen = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            seen = (-1, -1)
        if seen != self._seen:
            self._seen = seen
            entries, note = journal_entries(self.path)
            # Its state alone ("chain intact, 4 entries"): the audit screen names the file.
            self.note = note.removeprefix(f"{self.path}: ")
            self._entries = tuple(entries)
        return self._entries


def wave_screen(wave: str, view: RoomView, workbook: Workbook) -> WaveDetailScreen | None:
    made: dict[str, tuple[WaveProgress, WaveDetail]] = {}

    def detail_of(view: RoomView) -> WaveDetail | None:
        found = view.wave(wave)
        if found is None:
            return None
        # The room hands the same wave until it changed: hundreds of repositories are
        # sorted again only then, not at every refresh.
        cached = made.get(wave)
        if cached is None or cached[0] is not found:
            cached = made[wave] = (found, wave_detail(found, workbook))
        return cached[1]

    detail = detail_of(view)
    if detail is None:
        return None
    return WaveDetailScreen(detail, view.now, detail_of, view.clock.go_live)


def rollout_screen(key: str, view: RoomView, journal: JournalReader) -> RolloutDetailScreen | None:
    def detail_of(view: RoomView) -> RolloutDetail | None:
        found = view.rollout(key)
        return None if found is None else rollout_detail(found, journal.entries())

    detail = detail_of(view)
    if detail is None:
        return None
    note = f"audit journal: {journal.note}"
    return RolloutDetailScreen(detail, view.now, detail_of, journal=note)


def check_screen(key: str, view: RoomView, room: ControlRoom) -> CheckDetailScreen | None:
    """The detail of gate check `key` (`A/success-7d`); None for a gate's own row."""

    def detail_of(view: RoomView) -> CheckDetail | None:
        board = view.gates
        if board is None:
            return None
        for gate in board.gates:
            for result in gate.checks:
                if result.spec.key == key:
                    return check_detail(
                        result,
                        f"{gate.spec.id}  {gate.spec.title}",
                        reading=room.gate_readings.get(key),
                        health=view.health,
                        alerts=(room.alerts_source, room.alerts_at),
                        now=view.now,
                    )
        return None

    detail = detail_of(view)
    if detail is None:
        return None
    return CheckDetailScreen(detail, view.now, detail_of)
