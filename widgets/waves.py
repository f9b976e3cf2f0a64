"""The wave board: each wave's state, repos on Maestro, shadow pass %, blockers, eligibility."""

from __future__ import annotations

from datetime import datetime

from rich.text import Text

from ..cutover.clock import t_label
from ..cutover.waves import WaveProgress
from .status import WAVE_STYLE, bar
from .table import Cell, KeyedTable

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

    # A fifth of the terminal at most: with 50 waves or 200 rollouts the other boards and
    # the event stream keep their place, and the last line counts the rows out of view.
    DEFAULT_CSS = """
    WaveBoard { max-height: 20vh; overflow-y: hidden; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(WAVE_COLUMNS, id=id, noun="waves", count_hidden=True)
        self._made: dict[str, tuple[WaveProgress, bool, tuple[Cell, ...]]] = {}
        self._shown: tuple[WaveProgress, ...] = ()

    def show(self, waves: tuple[WaveProgress, ...], go_live: datetime, now: datetime) -> None:
        # The room hands the same board until something on it changed; a row is made
        # again only for its wave, or when its eligible time passes.
        made, rows, changed = self._made, {}, waves is not self._shown
        for wave in waves:
            due = wave.eligible_at is not None and wave.eligible_at <= now
            cached = made.get(wave.wave)
            if cached is None or cached[0] is not wave or cached[1] is not due:
                cached = made[wave.wave] = (wave, due, wave_row(wave, go_live, now))
                changed = True
            rows[wave.wave] = cached[2]
        self._shown = waves
        if changed:
            self.sync(rows)
