"""The rollouts board: Maestro's own Argo Rollouts, as the plugin shows them."""

from __future__ import annotations

from rich.text import Text

from ..cutover.rollouts import RolloutStatus
from .status import PHASE_STYLE
from .table import Cell, KeyedTable

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

    # A fifth of the terminal at most: with 50 waves or 200 rollouts the other boards and
    # the event stream keep their place, and the last line counts the rows out of view.
    DEFAULT_CSS = """
    RolloutBoard { max-height: 20vh; overflow-y: hidden; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(ROLLOUT_COLUMNS, id=id, noun="rollouts", count_hidden=True)
        self._made: dict[str, tuple[RolloutStatus, tuple[Cell, ...]]] = {}
        self._shown: tuple[RolloutStatus, ...] | None = None

    def show(self, rollouts: tuple[RolloutStatus, ...]) -> None:
        # The room keeps a rollout that did not change as the same object, and the same
        # tuple while none did: 200 rollouts cost nothing on a quiet second.
        if rollouts is self._shown:
            return
        made = self._made
        rows = {}
        for rollout in rollouts:
            cached = made.get(rollout.key)
            if cached is None or cached[0] is not rollout:
                cached = made[rollout.key] = (rollout, rollout_row(rollout))
            rows[rollout.key] = cached[1]
        self._shown = rollouts
        self.sync(rows)
