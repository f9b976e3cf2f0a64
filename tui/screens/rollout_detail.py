"""The rollout detail: Enter on a rollout. Its canary steps with weights and pauses (the
current one marked), its analysis runs, the revision and image, and this cutover's actions on
it from the audit journal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...cutover.rollout_detail import RolloutDetail, StepLine
from ...cutover.room import RoomView
from ...widgets.status import PHASE_STYLE
from .detail import DetailScreen, at

#: How each place on the canary is marked.
PLACE_MARK = {"done": ("✓", "green"), "current": ("▶", "bold yellow"), "to do": (" ", "")}
#: An analysis run's phase, coloured.
RUN_STYLE = {"Successful": "green", "Running": "yellow", "Failed": "bold red",
             "Error": "bold red", "Inconclusive": "magenta"}  # fmt: skip


def headline(detail: RolloutDetail) -> Text:
    status = detail.status
    text = Text(f"{status.key}  ", style="bold")
    text.append(status.phase.value, style=PHASE_STYLE[status.phase])
    text.append(f"  step {status.step}/{status.steps}  weight {status.weight}%")
    if status.aborted:
        text.append("  ABORTED", style="bold red")
    text.append(f"\nrevision {status.revision or '—'}  image {status.image or '—'}")
    why = status.pause_reason or status.message
    if why:
        text.append(f"\n{why}", style="italic")
    return text


def _step_line(line: StepLine, detail: RolloutDetail) -> Text:
    mark, style = PLACE_MARK[line.place]
    text = Text(f"  {mark} ", style=style)
    text.append(f"{line.index:>2}  {line.what:<26} weight {line.weight:>3}%", style=style)
    if line.place == "current":
        text.append(f"  ← current{_why_here(line, detail)}", style="bold")
    return text


def _why_here(line: StepLine, detail: RolloutDetail) -> str:
    """Why the rollout stands on its current step: aborted there, its pause, its analysis."""
    status = detail.status
    if status.aborted:
        why = "aborted here"
    elif line.step.kind == "analysis":
        why = f"analysis {status.analysis}" if status.analysis else ""
    else:
        why = status.pause_reason
    return f" ({why})" if why else ""


def steps_text(detail: RolloutDetail) -> Text:
    if not detail.steps:
        return Text("  the canary's steps are not known (a blue-green or step-less rollout)")
    text = Text()
    for n, line in enumerate(detail.steps):
        if n:
            text.append("\n")
        text.append_text(_step_line(line, detail))
    if detail.status.done:
        text.append("\n  every step done: fully promoted", style="green")
    return text


def runs_text(detail: RolloutDetail) -> Text:
    if not detail.runs:
        return Text("  no analysis run yet", style="dim")
    text = Text()
    for n, run in enumerate(detail.runs):
        if n:
            text.append("\n")
        step = "—" if run.step is None else str(run.step)
        text.append(f"  {at(run.started)}  step {step:>2}  ")
        text.append(f"{run.phase:<12}", style=RUN_STYLE.get(run.phase, ""))
        text.append(f"  {run.name}")
        if run.message:
            text.append(f"\n      {run.message}", style="italic")
    return text


def actions_text(detail: RolloutDetail, journal: str) -> Text:
    text = Text(f"  {journal}\n", style="dim") if journal else Text()
    if not detail.actions:
        text.append("  no action of this cutover on it is journalled", style="dim")
        return text
    for n, action in enumerate(detail.actions):
        if n:
            text.append("\n")
        text.append(f"  {at(action.at)}  {action.action:<16} by {action.by}  {action.outcome}")
    return text


class RolloutDetailScreen(DetailScreen[RolloutDetail]):
    """One rollout in full; the app shows it again at every refresh while it is open."""

    def __init__(
        self,
        detail: RolloutDetail,
        now: datetime,
        detail_of: Callable[[RoomView], RolloutDetail | None],
        journal: str = "",
    ) -> None:
        """`journal` is a line on the journal the actions come from (its path and chain)."""
        super().__init__(detail, now, detail_of)
        self.journal = journal

    @property
    def rollout(self) -> str:
        return self.detail.status.key

    def compose(self) -> ComposeResult:
        with VerticalScroll(classes="detail-body"):
            yield Static(id="rollout-headline", markup=False)
            yield Static("Canary steps", classes="detail-title", markup=False)
            yield Static(id="rollout-steps", markup=False)
            yield Static("Analysis runs", classes="detail-title", markup=False)
            yield Static(id="rollout-runs", markup=False)
            yield Static("This cutover's actions on it (audit journal)", classes="detail-title",
                         markup=False)  # fmt: skip
            yield Static(id="rollout-actions", markup=False)
            yield Static("Esc closes", classes="detail-hint", markup=False)

    def show(self, detail: RolloutDetail, now: datetime) -> None:
        super().show(detail, now)
        self.query_one("#rollout-headline", Static).update(headline(detail))
        self.query_one("#rollout-steps", Static).update(steps_text(detail))
        self.query_one("#rollout-runs", Static).update(runs_text(detail))
        self.query_one("#rollout-actions", Static).update(actions_text(detail, self.journal))
