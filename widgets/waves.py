"""The wave board: each wave's state, repos on Maestro, shadow pass %, blockers, eligibility."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from cutover.clock import t_label
from cutover.waves import WaveProgress
from widgets.status import WAVE_STYLE, bar
from widgets.table import Cell, KeyedTable

WAVE_COLUMNS = (
    ("wave", "Wave"),
    ("state", "State"),
    ("progress", "On Maestro"),
    ("shadow", "Shadow"),
    ("eligible", "Next eligible"),
    ("blockers", "Blockers"),
)


def wave_row(wave: WaveProgress, go_live: datetime, now: datetime) -> tuple[Cell, ...]:
    shadow = "—" if wave.shadow_pass is None else f"{wave.shadow_pass * 100:.1f}%"
    if wave.eligible_at is None:
        eligible = wave.waiting_for or "—"
    elif wave.eligible_at <= now:
        eligible = "now"
    else:
        eligible = t_label(wave.eligible_at - go_live)
    return (
        wave.wave,
        Text(wave.state.value, style=WAVE_STYLE[wave.state]),
        f"{bar(wave.fraction, 8)} {wave.on_maestro}/{wave.repos}",
        shadow,
        eligible,
        ", ".join(wave.blockers) if wave.blockers else "none",
    )


class WaveBoard(KeyedTable):
    """One row per wave of the migration workbook."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(WAVE_COLUMNS, id=id)

    def show(self, waves: tuple[WaveProgress, ...], go_live: datetime, now: datetime) -> None:
        self.sync({wave.wave: wave_row(wave, go_live, now) for wave in waves})
