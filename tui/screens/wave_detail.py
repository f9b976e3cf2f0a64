"""The wave detail: Enter on a wave. Every repository of the wave with where it builds, its
shadow pass rate, owner, tier and blockers in full, scrollable, with a filter."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, Static

from ...cutover.clock import t_label
from ...cutover.room import RoomView
from ...cutover.wave_detail import RepoLine, WaveDetail
from ...cutover.waves import RepoState, eligibility
from ...widgets.status import WAVE_STYLE
from ...widgets.table import Cell, KeyedTable
from .detail import DetailScreen

REPO_COLUMNS = (
    ("repo", "Repository"),
    ("state", "Builds on"),
    ("shadow", "Shadow"),
    ("tier", "Tier"),
    ("owner", "Owner"),
    ("blockers", "Blockers"),
)

#: Where a repository builds, coloured as the wave board colours the waves it makes.
REPO_STYLE = {
    RepoState.LEGACY: "dim",
    RepoState.SHADOW: "cyan",
    RepoState.CANARY: "yellow",
    RepoState.MAESTRO: "green",
}


def shadow_text(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def repo_row(line: RepoLine) -> tuple[Cell, ...]:
    blockers = "; ".join(line.blockers) if line.blockers else "none"
    return (
        line.repo,
        Text(line.state.value, style=REPO_STYLE[line.state]),
        shadow_text(line.shadow_pass),
        f"T{line.tier}",
        line.owner,
        Text(blockers, style="bold red" if line.blockers else "dim"),
    )


def headline(detail: WaveDetail, go_live: datetime, now: datetime) -> Text:
    wave = detail.wave
    text = Text(f"{wave.wave}  ", style="bold")
    text.append(wave.state.value, style=WAVE_STYLE[wave.state])
    if wave.since is not None:
        text.append(f" since {t_label(wave.since - go_live)}")
    text.append(f"  ·  {wave.on_maestro}/{wave.repos} on Maestro")
    text.append(f"  ·  shadow {shadow_text(wave.shadow_pass)}")
    text.append(f"  ·  next: {eligibility(wave, go_live, now)}")
    counts = detail.count_by_state()
    text.append("\n" + "  ".join(f"{state.value} {counts[state]}" for state in RepoState))
    blocked = sum(1 for line in detail.repos if line.blockers)
    text.append(f"  ·  {blocked} blocked", style="bold red" if blocked else "dim")
    return text


def selected_text(line: RepoLine | None) -> Text:
    if line is None:
        return Text("no repository matches the filter", style="dim")
    text = Text(line.repo, style="bold")
    text.append(f"  builds on {line.state.value} · Tier-{line.tier} · owner {line.owner}")
    text.append(f" · shadow {shadow_text(line.shadow_pass)}")
    if line.blockers:
        text.append("\nBlockers: ", style="bold red")
        text.append("; ".join(line.blockers))
    else:
        text.append("\nNo blocking issue.", style="dim")
    return text


class RepoTable(KeyedTable):
    """The wave's repositories; says when its cursor moves, for the line below it."""

    def move_cursor(self, *, row: int) -> None:
        super().move_cursor(row=row)
        self.post_message(self.Moved())

    class Moved(Message):
        """The cursor is on another repository."""


class WaveDetailScreen(DetailScreen[WaveDetail]):
    """One wave in full; `/` filters the repositories, Esc closes (or leaves the filter)."""

    BINDINGS = [
        Binding("escape", "close", "Close", id="close-wave-detail"),
        Binding("slash", "filter", "Filter", id="filter-repos", key_display="/"),
    ]

    DEFAULT_CSS = """
    WaveDetailScreen #wave-repos { height: 1fr; }
    WaveDetailScreen #wave-filter { height: 1; border: none; padding: 0 1; }
    WaveDetailScreen #wave-selected { height: auto; max-height: 6; }
    """

    def __init__(
        self,
        detail: WaveDetail,
        now: datetime,
        detail_of: Callable[[RoomView], WaveDetail | None],
        go_live: datetime,
    ) -> None:
        super().__init__(detail, now, detail_of)
        self.go_live = go_live
        self._shown: tuple[RepoLine, ...] = ()
        self._listed_detail: WaveDetail | None = None

    @property
    def wave(self) -> str:
        return self.detail.wave.wave

    def compose(self) -> ComposeResult:
        with Vertical(classes="detail-body"):
            yield Static(id="wave-headline", markup=False)
            yield Input(
                placeholder="filter: a name, owner, state, t0, blocked, a blocker's words",
                id="wave-filter",
            )
            yield RepoTable(REPO_COLUMNS, id="wave-repos", noun="repositories", count_hidden=True)
            yield Static(id="wave-selected", markup=False)
            yield Static(
                "↑↓ select · / filter · Esc closes (in the filter: back to the list)",
                classes="detail-hint",
                markup=False,
            )

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(RepoTable).focus()

    def show(self, detail: WaveDetail, now: datetime) -> None:
        same = detail is self._listed_detail
        super().show(detail, now)
        self.query_one("#wave-headline", Static).update(headline(detail, self.go_live, now))
        if not same:  # the same detail from a quiet refresh: the list stands as it is
            self._list()

    def _list(self) -> None:
        wanted = self.query_one(Input).value
        shown = self.detail.matching(wanted)
        self._shown, self._listed_detail = shown, self.detail
        self.query_one(RepoTable).sync({line.repo: repo_row(line) for line in shown})
        self._show_selected()

    def _show_selected(self) -> None:
        key = self.query_one(RepoTable).selected_key
        line = next((line for line in self._shown if line.repo == key), None)
        self.query_one("#wave-selected", Static).update(selected_text(line))

    @on(Input.Changed, "#wave-filter")
    def _filtered(self) -> None:
        self._list()

    @on(Input.Submitted, "#wave-filter")
    def _filter_done(self) -> None:
        self.query_one(RepoTable).focus()

    def on_repo_table_moved(self) -> None:
        self._show_selected()

    def action_filter(self) -> None:
        self.query_one(Input).focus()

    def action_close(self) -> None:
        filter_input = self.query_one(Input)
        if filter_input.has_focus:
            self.query_one(RepoTable).focus()
            return
        self.dismiss(None)
