"""The smoke suite, the drills, the deploys and the Definition of Done: the main screen's two
lines, and the boards of the smoke screen."""

from __future__ import annotations

from datetime import timedelta

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from ..cutover.done import DefinitionOfDone
from ..cutover.durations import format_duration
from ..cutover.gates import CheckState
from ..cutover.smoke import (
    DeployRun,
    DrillRow,
    RunState,
    SmokeRow,
    SmokeRun,
    VerificationView,
    short_ref,
)
from .status import CHECK_MARK
from .table import Cell, KeyedTable

STATE_STYLE: dict[RunState, str] = {
    RunState.PASSED: "green",
    RunState.FAILED: "bold red",
    RunState.STALE: "yellow",
    RunState.NEVER: "yellow",
}

RESULT_STYLE = {
    "passed": "green",
    "success": "green",
    "failed": "bold red",
    "failure": "bold red",
    "cancelled": "yellow",
    "in_progress": "cyan",
}


def _state(state: RunState) -> Text:
    return Text(state.value, style=STATE_STYLE[state])


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}s"


def _evidence(value: bool | None, word: str) -> Text:
    if value is None:
        return Text("—", style="dim")
    return Text(word if value else f"no {word}", style="green" if value else "bold red")


class VerificationRow(Vertical):
    """Two lines: the smoke suite at a glance, and the Definition of Done; each cut with an
    ellipsis where the terminal is narrow (the full views are on t and o)."""

    DEFAULT_CSS = """
    VerificationRow { height: 2; padding: 0 1; }
    VerificationRow > Static { height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        #: Each line's text and style as shown.
        self._shown: tuple[tuple[str, str], ...] = (("", ""), ("", ""))

    def compose(self) -> ComposeResult:
        yield Static(id="smoke-line", markup=False)
        yield Static(id="done-line", markup=False)

    def show(self, view: VerificationView | None, done: DefinitionOfDone | None) -> None:
        smoke = view.line if view is not None else "Smoke: no results"
        line = done.line if done is not None else "DoD: unknown"
        counts = view.counts if view is not None else {}
        bad = counts.get(RunState.FAILED, 0)
        stale = counts.get(RunState.STALE, 0) + counts.get(RunState.NEVER, 0)
        style = "bold red" if bad else ("yellow" if stale else "green")
        state = done.state if done is not None else CheckState.UNKNOWN
        done_style = CHECK_MARK[state][1] if state is not CheckState.FAIL else ""
        shown = ((smoke, style), (line, done_style))
        # Each line repainted only when it changed: the two change at different times.
        for index, (before, now) in enumerate(zip(self._shown, shown, strict=True)):
            if before != now:
                static = self.query_one("#done-line" if index else "#smoke-line", Static)
                static.update(Text(*now), layout=False)
        self._shown = shown


SMOKE_COLUMNS = (
    ("test", "Test"),
    ("state", "Last result"),
    ("when", "When"),
    ("took", "Took"),
    ("pool", "Pool"),
    ("run", "Run"),
    ("streak", "Streak"),
)


def smoke_row(row: SmokeRow) -> tuple[Cell, ...]:
    last = row.last
    title = row.test.title + (" (negative)" if row.test.negative else "")
    return (
        title,
        _state(row.state),
        row.when_text,
        _seconds(last.duration_s if last else None),
        last.pool if last and last.pool else "—",
        (last.run_id or last.url or "—") if last else "—",
        row.streak_text,
    )


class SmokeBoard(KeyedTable):
    """Each test of the suite; Enter opens its recent runs."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(SMOKE_COLUMNS, id=id)

    def show(self, view: VerificationView) -> None:
        self.sync({row.test.id: smoke_row(row) for row in view.tests})


DRILL_COLUMNS = (
    ("drill", "Drill"),
    ("state", "Last result"),
    ("when", "When"),
    ("evidence", "Evidence"),
    ("message", "Note"),
)


def drill_row(row: DrillRow) -> tuple[Cell, ...]:
    last = row.last
    when = "—" if row.age is None else f"{format_duration(max(row.age, timedelta(0)))} ago"
    return (
        row.title,
        _state(row.state),
        when,
        last.evidence if last and last.evidence else "—",
        last.message if last else "",
    )


class DrillBoard(KeyedTable):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(DRILL_COLUMNS, id=id)

    def show(self, view: VerificationView) -> None:
        self.sync({row.drill: drill_row(row) for row in view.drills})


DEPLOY_COLUMNS = (
    ("when", "When"),
    ("workflow", "Workflow"),
    ("env", "Env"),
    ("ref", "Tag / digest"),
    ("who", "Who"),
    ("result", "Result"),
    ("witness", "Witness"),
    ("cosign", "Cosign"),
    ("sbom", "SBOM"),
)


def deploy_row(deploy: DeployRun) -> tuple[Cell, ...]:
    workflow = deploy.workflow + (" (no_op)" if deploy.no_op else "")
    return (
        f"{deploy.at:%m-%d %H:%M}",
        workflow,
        Text(deploy.env, style="bold" if deploy.env == "prod" else ""),
        short_ref(deploy.ref),
        deploy.actor,
        Text(deploy.result, style=RESULT_STYLE.get(deploy.result, "")),
        _evidence(deploy.witness, "witness"),
        _evidence(deploy.cosign_verified, "verified"),
        _evidence(deploy.sbom, "spdx"),
    )


class DeployBoard(KeyedTable):
    """The CD workflows' runs, newest first. Shown, never started from here."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(DEPLOY_COLUMNS, id=id)

    def show(self, view: VerificationView) -> None:
        newest = reversed(view.deploys[-50:])
        self.sync({f"{d.workflow}#{d.run_id}": deploy_row(d) for d in newest})


RUN_COLUMNS = (
    ("when", "Finished"),
    ("result", "Result"),
    ("took", "Took"),
    ("pool", "Pool"),
    ("run", "Run"),
    ("source", "From"),
)


def run_row(run: SmokeRun) -> tuple[Cell, ...]:
    return (
        f"{run.at:%Y-%m-%d %H:%M:%S}",
        Text(run.result, style=RESULT_STYLE.get(run.result, "")),
        _seconds(run.duration_s),
        run.pool or "—",
        run.url or run.run_id or "—",
        run.source,
    )


class RunBoard(KeyedTable):
    """One test's recent runs, newest first."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(RUN_COLUMNS, id=id)

    def show(self, runs: tuple[SmokeRun, ...]) -> None:
        self.sync({f"{r.at.isoformat()}/{r.result}": run_row(r) for r in reversed(runs)})


def done_rows(done: DefinitionOfDone) -> dict[str, tuple[Cell, ...]]:
    """The Definition of Done in full: each item, then every KPI's green streak."""
    rows: dict[str, tuple[Cell, ...]] = {}
    for item in done.items:
        mark, style = CHECK_MARK[item.state]
        rows[item.id] = (item.title, Text(mark, style=style), item.value, item.detail)
    period = done.slo_period
    for streak in done.streaks:
        length = streak.length(done.now)
        reaches = streak.reaches(period)
        if reaches is None:
            when = f"breached at {streak.last_breach:%H:%M:%S}" if streak.last_breach else "—"
        elif reaches <= done.now:
            when = f"{format_duration(period)} reached"
        else:
            when = f"reaches {format_duration(period)} in {format_duration(reaches - done.now)}"
        breach = f"; last breach {streak.last_breach:%m-%d %H:%M}" if streak.last_breach else ""
        rows[f"kpi:{streak.signal}"] = (
            f"   {streak.title} green streak",
            Text(streak.verdict.value),
            format_duration(length),
            when + breach,
        )
    return rows


DONE_COLUMNS = (("item", "Definition of Done"), ("state", "State"), ("value", "Value"),
                ("detail", "Detail"))  # fmt: skip


class DoneBoard(KeyedTable):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(DONE_COLUMNS, id=id)

    def show(self, done: DefinitionOfDone) -> None:
        self.sync(done_rows(done))
