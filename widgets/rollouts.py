"""The rollouts board: Maestro's own Argo Rollouts, as the plugin shows them."""

from __future__ import annotations

from rich.text import Text

from cutover.rollouts import RolloutStatus
from widgets.status import PHASE_STYLE
from widgets.table import Cell, KeyedTable

ROLLOUT_COLUMNS = (
    ("rollout", "Rollout"),
    ("phase", "Phase"),
    ("step", "Step"),
    ("weight", "Weight"),
    ("analysis", "Analysis"),
    ("reason", "Pause / message"),
)


def rollout_row(rollout: RolloutStatus) -> tuple[Cell, ...]:
    return (
        rollout.key,
        Text(rollout.phase.value, style=PHASE_STYLE[rollout.phase]),
        f"{rollout.step}/{rollout.steps}",
        f"{rollout.weight}%",
        rollout.analysis or "—",
        rollout.pause_reason or rollout.message or "",
    )


class RolloutBoard(KeyedTable):
    """One row per rollout, keyed by namespace/name."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(ROLLOUT_COLUMNS, id=id)

    def show(self, rollouts: tuple[RolloutStatus, ...]) -> None:
        self.sync({rollout.key: rollout_row(rollout) for rollout in rollouts})
