"""The rollback trigger board, and the playbook shown beside a firing trigger."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ..cutover.durations import format_duration
from ..cutover.kpis import format_value
from ..cutover.playbook import PlaybookRun, StepState
from ..cutover.triggers import PLAYBOOK_STEPS, TriggerSpec, TriggerState, TriggerStatus
from .status import TRIGGER_MARK
from .table import Cell, KeyedTable

TRIGGER_COLUMNS = (
    ("trigger", "Trigger"),
    ("state", "State"),
    ("value", "Value"),
    ("threshold", "Threshold"),
    ("for", "For"),
    ("since", "Since"),
)


def threshold_text(spec: TriggerSpec) -> str:
    if spec.alertname:
        return spec.alertname
    level = format_value(spec.threshold, spec.unit)
    wait = f" for {format_duration(spec.for_)}" if spec.for_ else ""
    return f"{spec.comparison.value} {level}{wait}"


def trigger_row(status: TriggerStatus, now: datetime, note: str = "") -> tuple[Cell, ...]:
    """One trigger's row; `note` says what has been done about it (acknowledged, silenced)."""
    spec = status.spec
    mark, style = TRIGGER_MARK[status.state]
    state = Text(mark, style=style)
    if note:
        state.append(f" · {note}")
    if spec.alertname:
        value = "—" if status.value is None else ("active" if status.value else "clear")
    else:
        value = format_value(status.value, spec.unit)
    if status.state is TriggerState.UNKNOWN and status.reason:
        # "input stale: stale for 40 s" → "stale": the KPI tile and health row say the rest.
        value = status.reason.removeprefix("input ").split(":", 1)[0]
    held = status.duration(now)
    # Seconds matter while a trigger is pending or firing; otherwise minutes will do, and
    # the row is not repainted every second, its first minute included.
    if held is None:
        held_text = "—"
    elif status.alarming:
        held_text = format_duration(held, parts=2)
    else:
        held_text = "<1m" if held < timedelta(minutes=1) else format_duration(held, parts=1)
    return (
        spec.title,
        state,
        value,
        threshold_text(spec),
        held_text,
        f"{status.since:%H:%M}" if status.since else "—",
    )


class TriggerBoard(Vertical):
    """Every rollback trigger: state, value against threshold, how long and since when."""

    DEFAULT_CSS = """
    TriggerBoard { height: auto; }
    TriggerBoard > #playbook { display: none; height: auto; padding: 0 1; color: $text; }
    TriggerBoard.-firing > #playbook { display: block; border-left: thick $error; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._playbook = ""
        #: The freeze and playbook keys the strip names; the app sets them from the keymap.
        self.freeze_key = "f"
        self.playbook_key = "b"

    def compose(self) -> ComposeResult:
        yield KeyedTable(TRIGGER_COLUMNS, id="trigger-table")
        yield Static("", id="playbook", markup=False)

    def show(
        self,
        statuses: tuple[TriggerStatus, ...],
        now: datetime,
        notes: Mapping[str, str] | None = None,
        run: PlaybookRun | None = None,
    ) -> None:
        table = self.query_one(KeyedTable)
        notes = notes or {}
        table.sync({s.spec.id: trigger_row(s, now, notes.get(s.spec.id, "")) for s in statuses})
        firing = [s.spec.title for s in statuses if s.state is TriggerState.FIRING]
        self.set_class(bool(firing), "-firing")
        compact = self.app.screen.has_class("-compact")
        text = playbook_text(firing, compact=compact, freeze_key=self.freeze_key)
        if text and run is not None and run.started:
            text = run_text(firing, run, compact=compact, playbook_key=self.playbook_key)
        if text != self._playbook:
            self._playbook = text
            self.query_one("#playbook", Static).update(text)


def run_text(firing: list[str], run: PlaybookRun, *, compact: bool, playbook_key: str) -> str:
    """The playbook once its run began: each step's state, so a step taken no longer reads
    as still to do; the playbook's own screen (`b`) has the rest."""
    head = f"ROLLBACK PLAYBOOK ({', '.join(firing)} firing) · {run.progress()} ({playbook_key})"
    marks = {StepState.TODO: "·", StepState.DONE: "✔", StepState.SKIPPED: "–"}
    rows = [(spec, record, marks[record.state]) for spec, record in run.rows()]
    if compact:  # one line: the marks first, so a narrow strip cuts the names, not them
        marks_line = " ".join(f"{spec.number}{mark}" for spec, _, mark in rows)
        return f"PLAYBOOK {marks_line} ({playbook_key}) · {', '.join(firing)} firing"
    lines = []
    for spec, record, mark in rows:
        who = f" {record.by}" + (f" {record.at:%H:%M}" if record.at else "") if record.by else ""
        lines.append(f" {mark} {spec.number}. {spec.title}{who}")
    return head + "\n" + "\n".join(lines)


def playbook_text(firing: list[str], *, compact: bool, freeze_key: str = "f") -> str:
    """The rollback playbook for the firing triggers; one line on a compact screen. The
    first step names the freeze key as it is mapped now."""
    if not firing:
        return ""
    head = f"ROLLBACK PLAYBOOK ({', '.join(firing)} firing)"
    steps = (f"{PLAYBOOK_STEPS[0]} ({freeze_key})", *PLAYBOOK_STEPS[1:])
    if compact:
        return head + ": " + " · ".join(f"{n} {step}" for n, step in enumerate(steps, 1))
    return head + "\n" + "\n".join(f" {n}. {step}" for n, step in enumerate(steps, 1))
