"""The migration workbook, wave states and when the next wave becomes eligible."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maestro_control_room.cutover.waves import (
    WORKBOOK_COLUMNS,
    GreenPeriod,
    RepoState,
    WaveProgress,
    WaveState,
    WaveStatus,
    Workbook,
    parse_workbook,
    wave_board,
)

#: The header exactly as the plan's Migration Workbook names its columns.
HEADER = (
    "Team/Repo,Tier,Owner,Pipeline Size,Critical Deps,Scanners,Avg Build (min),"
    "Shadow Pass %,Blocking Issues,Cutover Wave"
)
#: The plan's example row, with its U+2011 non-breaking hyphens and a percent sign.
PLAN_ROW = (
    '<svc\u2011api>,0,<name>,12 jobs,"vault://prod, ghcr.io",SAST+DAST,14.2,98%,'
    "flaky test pack,Wave\u20111"
)

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GREEN_PERIOD = timedelta(hours=48)


def row(
    repo: str = "svc-api",
    tier: str = "0",
    avg_build: str = "14.2",
    shadow: str = "98%",
    blockers: str = "",
    wave: str = "Wave-1",
) -> str:
    return f"{repo},{tier},alice,12 jobs,ghcr.io,SAST,{avg_build},{shadow},{blockers},{wave}"


def workbook(*rows: str) -> str:
    return "\n".join((HEADER, *rows)) + "\n"


# -- parse_workbook ---------------------------------------------------------------------


def test_plan_example_row_is_read_with_wave_and_percent_normalised() -> None:
    book = parse_workbook(workbook(PLAN_ROW))
    assert book.problems == ()
    (only,) = book.rows
    assert only.wave == "Wave-1"
    assert only.shadow_pass == pytest.approx(0.98)
    assert only.tier == 0
    assert only.avg_build_min == pytest.approx(14.2)
    assert only.blockers == ("flaky test pack",)
    assert only.line == 2


def test_quoted_field_with_commas_stays_one_field() -> None:
    book = parse_workbook(workbook(PLAN_ROW))
    assert book.rows[0].critical_deps == "vault://prod, ghcr.io"


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        pytest.param(row(repo="svc-bad") + ",extra", "expected 10 fields, found 11", id="count"),
        pytest.param(row(repo="svc-bad", tier="zero"), "Tier must be a whole number", id="tier"),
        pytest.param(row(repo="svc-bad", avg_build="slow"), "Avg Build (min)", id="avg-build"),
        pytest.param(row(repo="svc-bad", shadow="120%"), "between 0 and 100", id="over-100"),
        pytest.param(row(repo=""), "Team/Repo is empty", id="empty-repo"),
    ],
)
def test_bad_row_is_reported_with_its_line_and_good_rows_kept(bad: str, words: str) -> None:
    book = parse_workbook(workbook(row(repo="svc-a"), bad, row(repo="svc-b")))
    assert [p.line for p in book.problems] == [3]
    assert words in book.problems[0].message
    assert [(r.repo, r.line) for r in book.rows] == [("svc-a", 2), ("svc-b", 4)]


def test_duplicated_repo_is_reported_on_the_second_line_naming_the_first() -> None:
    book = parse_workbook(workbook(row(repo="svc-a"), row(repo="svc-b"), row(repo="svc-a")))
    (problem,) = book.problems
    assert problem.line == 4
    assert "already listed on line 2" in problem.message
    assert [r.repo for r in book.rows] == ["svc-a", "svc-b"]


def test_problem_reads_as_line_and_message() -> None:
    book = parse_workbook(workbook(row(tier="x")))
    assert str(book.problems[0]).startswith("line 2: svc-api: Tier")


def test_blank_and_comment_lines_are_skipped_but_counted() -> None:
    book = parse_workbook(workbook("# wave one", "", row(tier="x")))
    assert [p.line for p in book.problems] == [4]


def test_missing_header_columns_are_named() -> None:
    header = HEADER.replace(",Shadow Pass %", "").replace(",Tier", "")
    book = parse_workbook(header + "\n" + "svc,alice\n")
    (problem,) = book.problems
    assert problem.line == 1
    assert "Tier" in problem.message
    assert "Shadow Pass %" in problem.message
    assert book.rows == ()


def test_empty_workbook_is_reported() -> None:
    book = parse_workbook("")
    assert [str(p) for p in book.problems] == ["line 1: the workbook is empty: no header row"]


def test_workbook_with_carriage_return_line_endings_is_read() -> None:
    text = "\r".join((HEADER, row(repo="svc-a"), row(repo="svc-b"))) + "\r"
    book = parse_workbook(text)
    assert book.problems == ()
    assert [(r.repo, r.line) for r in book.rows] == [("svc-a", 2), ("svc-b", 3)]


def test_oversized_field_is_reported_not_raised() -> None:
    book = parse_workbook(workbook(row(repo="svc-a"), row(repo="svc-b", blockers="x" * 200_000)))
    assert [r.repo for r in book.rows] == ["svc-a"]
    assert [p.line for p in book.problems] == [3]


def test_waves_are_listed_in_numeric_order() -> None:
    book = parse_workbook(
        workbook(row("a", wave="Wave-10"), row("b", wave="wave 2"), row("c", wave="Wave\u20111"))
    )
    assert book.waves == ("Wave-1", "Wave-2", "Wave-10")


@given(st.text())
def test_parse_workbook_never_raises_on_arbitrary_text(text: str) -> None:
    assert isinstance(parse_workbook(text), Workbook)


@given(st.text())
def test_parse_workbook_never_raises_on_arbitrary_rows(text: str) -> None:
    assert isinstance(parse_workbook(HEADER + "\n" + text), Workbook)


_SAFE = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789 ,.\"'-/", max_size=12)
_BAD_KINDS = ("count", "tier", "avg-build", "shadow", "empty-repo")


@st.composite
def workbook_rows(draw: st.DrawFn) -> tuple[str, list[int], list[tuple[str, int]]]:
    """A workbook of good and bad rows, with the lines of the bad and the good ones."""
    kinds = draw(st.lists(st.sampled_from(("good", *_BAD_KINDS)), max_size=12))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(WORKBOOK_COLUMNS)
    bad_lines: list[int] = []
    good: list[tuple[str, int]] = []
    for index, kind in enumerate(kinds):
        line = index + 2
        repo = f"svc-{index}"
        cells = [
            repo,
            str(draw(st.integers(0, 3))),
            draw(_SAFE),
            draw(_SAFE),
            draw(_SAFE),
            draw(_SAFE),
            str(draw(st.floats(0.1, 500, allow_nan=False))),
            f"{draw(st.integers(0, 100))}%",
            draw(_SAFE),
            f"Wave-{draw(st.integers(1, 5))}",
        ]
        if kind == "count":
            cells.append("extra")
        elif kind == "tier":
            cells[1] = "tier one"
        elif kind == "avg-build":
            cells[6] = "n/a min"
        elif kind == "shadow":
            cells[7] = f"{draw(st.integers(101, 1000))}%"
        elif kind == "empty-repo":
            cells[0] = ""
        writer.writerow(cells)
        if kind == "good":
            good.append((repo, line))
        else:
            bad_lines.append(line)
    return out.getvalue(), bad_lines, good


@given(workbook_rows())
def test_parse_workbook_reports_each_bad_row_by_line_and_keeps_the_good(
    case: tuple[str, list[int], list[tuple[str, int]]],
) -> None:
    text, bad_lines, good = case
    book = parse_workbook(text)
    assert [p.line for p in book.problems] == bad_lines
    assert [(r.repo, r.line) for r in book.rows] == good


# -- the wave board ---------------------------------------------------------------------

BOOK = parse_workbook(
    workbook(
        row("svc-api", wave="Wave-1", blockers="flaky test pack; slow cache"),
        row("svc-web", wave="Wave-1", shadow="96%"),
        row("svc-batch", wave="Wave-2", blockers="vault role"),
        row("svc-report", wave="Wave-3"),
    )
)


def board(
    statuses: dict[str, WaveStatus],
    green_since: datetime | None = None,
    repo_states: dict[str, RepoState] | None = None,
    shadow_pass: dict[str, float] | None = None,
) -> tuple[WaveProgress, ...]:
    return wave_board(
        BOOK, statuses, repo_states or {}, shadow_pass or {}, green_since, GREEN_PERIOD
    )


def wave_1(state: WaveState, since: datetime = GO_LIVE) -> dict[str, WaveStatus]:
    return {"Wave-1": WaveStatus("Wave-1", state, since)}


def test_planned_wave_after_an_active_green_wave_becomes_eligible_after_the_green_period() -> None:
    green_since = GO_LIVE + timedelta(hours=6)
    waves = board(wave_1(WaveState.ACTIVE, since=GO_LIVE), green_since)
    assert waves[1].wave == "Wave-2"
    assert waves[1].eligible_at == green_since + GREEN_PERIOD


def test_eligibility_counts_from_the_previous_wave_going_active_when_that_is_later() -> None:
    active_since = GO_LIVE + timedelta(days=1)
    waves = board(wave_1(WaveState.ACTIVE, since=active_since), green_since=GO_LIVE)
    assert waves[1].eligible_at == active_since + GREEN_PERIOD


def test_next_wave_is_not_eligible_while_the_platform_is_not_green() -> None:
    assert board(wave_1(WaveState.ACTIVE), green_since=None)[1].eligible_at is None


def test_wave_after_a_wave_still_in_canary_is_not_eligible() -> None:
    assert board(wave_1(WaveState.CANARY), green_since=GO_LIVE)[1].eligible_at is None


def test_only_the_next_wave_is_eligible() -> None:
    waves = board(wave_1(WaveState.ACTIVE), green_since=GO_LIVE)
    assert waves[2].wave == "Wave-3"
    assert waves[2].eligible_at is None


def test_progress_counts_repos_building_on_maestro() -> None:
    states = {"svc-api": RepoState.MAESTRO, "svc-web": RepoState.CANARY}
    first = board({}, repo_states=states)[0]
    assert (first.on_maestro, first.repos) == (1, 2)
    assert first.fraction == pytest.approx(0.5)
    assert first.repo_states == states


def test_repo_without_a_reported_state_is_on_legacy() -> None:
    assert board({})[2].repo_states == {"svc-report": RepoState.LEGACY}


def test_blockers_of_a_wave_are_listed() -> None:
    waves = board({})
    assert waves[0].blockers == ("flaky test pack", "slow cache")
    assert waves[1].blockers == ("vault role",)
    assert waves[2].blockers == ()


def test_measured_shadow_pass_wins_over_the_workbook_average() -> None:
    waves = board({}, shadow_pass={"Wave-2": 0.9})
    assert waves[0].shadow_pass == pytest.approx(0.97)  # 98 % and 96 % in the workbook
    assert waves[1].shadow_pass == pytest.approx(0.9)


def test_wave_without_a_recorded_state_is_planned() -> None:
    assert [w.state for w in board({})] == [WaveState.PLANNED] * 3


def test_wave_recorded_but_absent_from_the_workbook_is_still_shown() -> None:
    waves = board({"Wave-4": WaveStatus("Wave-4", WaveState.CANARY, GO_LIVE)})
    assert [w.wave for w in waves] == ["Wave-1", "Wave-2", "Wave-3", "Wave-4"]
    assert waves[3].repos == 0


def test_green_period_starts_when_green_and_resets_when_not() -> None:
    period = GreenPeriod()
    period.observe(True, GO_LIVE)
    period.observe(True, GO_LIVE + timedelta(hours=5))
    assert period.green_for(GO_LIVE + timedelta(hours=6)) == timedelta(hours=6)
    period.observe(False, GO_LIVE + timedelta(hours=7))
    assert period.green_for(GO_LIVE + timedelta(hours=8)) == timedelta(0)
    period.observe(True, GO_LIVE + timedelta(hours=9))
    assert period.since == GO_LIVE + timedelta(hours=9)
