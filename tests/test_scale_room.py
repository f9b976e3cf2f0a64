"""The room at an organisation's size: 5,000 repos in 50 waves and 200 rollouts cost the
one-second tick nothing when they did not change, and the boards show how many rows are out
of view."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from textual.app import App, ComposeResult
from textual.containers import Vertical

from bench.workbook import generate_workbook
from maestro_control_room.cutover.config import Config, ThresholdsSection, kpi_specs, trigger_specs
from maestro_control_room.cutover.done import on_maestro_item
from maestro_control_room.cutover.events import PlatformEvent
from maestro_control_room.cutover.gates import CheckState
from maestro_control_room.cutover.rollouts import RolloutPhase, RolloutStatus
from maestro_control_room.cutover.room import ControlRoom, RoomSettings
from maestro_control_room.cutover.triggers import TriggerState, TriggerStatus
from maestro_control_room.cutover.updates import EventsUpdate, RolloutsUpdate, WaveMetricsUpdate
from maestro_control_room.cutover.waves import (
    RepoState,
    WaveRepos,
    WaveState,
    WaveStatus,
    parse_workbook,
    wave_board,
)
from maestro_control_room.widgets.eventlog import EventLog
from maestro_control_room.widgets.rollouts import RolloutBoard
from maestro_control_room.widgets.triggers import trigger_row
from maestro_control_room.widgets.waves import WaveBoard
from tests.conftest import AppFactory, config_document
from tests.kube_harness import until

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NOW = GO_LIVE + timedelta(hours=26)
BOOK = parse_workbook(generate_workbook(5000, 50, seed=1))


def room() -> ControlRoom:
    return ControlRoom(
        RoomSettings(
            name="Maestro cutover",
            go_live=GO_LIVE,
            kpis=kpi_specs(ThresholdsSection()),
            triggers=(),
            green_period=timedelta(hours=48),
            workbook=BOOK,
            max_age={},
        )
    )


def shadowed() -> dict[str, RepoState]:
    return {row.repo: RepoState.SHADOW for row in BOOK.rows}


def test_only_the_waves_of_repositories_that_moved_are_counted_again() -> None:
    repos = WaveRepos(BOOK)
    states = shadowed()
    assert repos.update(states) == frozenset(BOOK.waves)
    counted = dict(repos.states)
    assert repos.update(dict(states)) == frozenset()  # the same states: nothing counted
    moved = BOOK.repos("Wave-7")[0].repo
    states[moved] = RepoState.MAESTRO
    assert repos.update(states) == frozenset({"Wave-7"})
    assert repos.on_maestro["Wave-7"] == 1
    assert all(repos.states[w] is counted[w] for w in BOOK.waves if w != "Wave-7")
    # The same board as a walk over every repository would make.
    assert wave_board(BOOK, {}, states, {}, None, timedelta(hours=48), repos) == wave_board(
        BOOK, {}, states, {}, None, timedelta(hours=48)
    )


def test_a_second_with_nothing_new_hands_the_boards_the_same_rows() -> None:
    control = room()
    states = shadowed()
    control.apply(WaveMetricsUpdate("prometheus", states, {}, NOW))
    rollout = RolloutStatus("maestro-fleet-00", "runner-000", RolloutPhase.HEALTHY, 8, 8, 100)
    control.apply(RolloutsUpdate("kubernetes", (rollout,), NOW))
    first = control.evaluate(NOW)
    control.apply(WaveMetricsUpdate("prometheus", dict(states), {}, NOW))
    again = RolloutStatus("maestro-fleet-00", "runner-000", RolloutPhase.HEALTHY, 8, 8, 100)
    control.apply(RolloutsUpdate("kubernetes", (again,), NOW))
    second = control.evaluate(NOW + timedelta(seconds=1))
    assert second.waves is first.waves and second.rollouts is first.rollouts
    states[BOOK.repos("Wave-2")[0].repo] = RepoState.MAESTRO
    control.apply(WaveMetricsUpdate("prometheus", states, {}, NOW))
    third = control.evaluate(NOW + timedelta(seconds=2))
    assert third.waves is not first.waves
    assert [w.on_maestro for w in third.waves][:3] == [0, 1, 0]


def test_the_definition_of_done_counts_the_repositories_again_only_when_one_moved() -> None:
    control = room()
    first = control.evaluate(NOW).done
    assert first is not None and first.items[0].state is CheckState.UNKNOWN  # no states yet
    states = shadowed()
    control.apply(WaveMetricsUpdate("prometheus", states, {}, NOW))
    counted = control.evaluate(NOW).done
    assert counted is not None and counted.items[0].state is CheckState.FAIL
    control.apply(WaveMetricsUpdate("prometheus", dict(states), {}, NOW))
    again = control.evaluate(NOW + timedelta(seconds=1)).done
    assert again is not None and again.items[0] is counted.items[0]  # nothing walked
    tier_0 = next(row for row in BOOK.rows if row.tier == 0)
    states[tier_0.repo] = RepoState.MAESTRO
    control.apply(WaveMetricsUpdate("prometheus", states, {}, NOW))
    moved = control.evaluate(NOW + timedelta(seconds=2)).done
    assert moved is not None and moved.items[0] is not counted.items[0]
    # The same item as a walk over every repository makes.
    assert moved.items[0] == on_maestro_item(BOOK, states, ("0", "1"))
    wanted = sum(1 for row in BOOK.rows if row.tier in (0, 1))
    assert moved.items[0].value == f"Tier-0/1 1/{wanted} (0%)"


class Boards(App[None]):
    """The two boards in auto-height panels, as the main screen holds them."""

    CSS = "Vertical { height: auto; }"

    def compose(self) -> ComposeResult:
        with Vertical(id="wave-panel"):
            yield WaveBoard(id="waves")
        with Vertical(id="rollout-panel"):
            yield RolloutBoard(id="rollouts")


def rollouts(count: int) -> tuple[RolloutStatus, ...]:
    return tuple(
        RolloutStatus(
            f"maestro-fleet-{i % 18:02d}", f"runner-{i:03d}", RolloutPhase.HEALTHY, 8, 8, 100
        )
        for i in range(count)
    )


async def test_a_long_board_keeps_its_header_and_counts_the_rows_out_of_view() -> None:
    app = Boards()
    async with app.run_test(size=(120, 36)) as pilot:
        waves = app.query_one(WaveBoard)
        statuses = {w: WaveStatus(w, WaveState.PLANNED) for w in BOOK.waves}
        board = wave_board(BOOK, statuses, shadowed(), {}, None, timedelta(hours=48))
        waves.show(board, GO_LIVE, NOW)
        app.query_one(RolloutBoard).show(rollouts(200))
        await pilot.pause()
        # A fifth of 36 lines: the header, five waves, and the count, so that the event
        # stream below keeps lines of its own; the panels around the boards are as high as
        # the boards, not as all their rows.
        assert waves.size.height == 7
        assert app.query_one("#wave-panel").size.height == 7
        assert app.query_one("#rollout-panel").size.height == 7
        lines = [waves.render_line(y).text for y in range(7)]
        # The first row leads with the focus marker when the board is focused.
        assert lines[0].split()[:2] == ["Wave", "State"]
        assert lines[1].split()[0].lstrip("▶") == "Wave-1"
        assert lines[-1].strip() == "45 of 50 waves out of view · ↓ 45"
        waves.focus()
        await pilot.press("end")
        await pilot.pause()
        lines = [waves.render_line(y).text for y in range(7)]
        assert lines[0].split()[:2] == ["Wave", "State"]  # still in place
        assert lines[-2].split()[0].lstrip("▶") == "Wave-50" and waves.selected_key == "Wave-50"
        assert lines[-1].strip() == "45 of 50 waves out of view · ↑ 45"
        await pilot.press("up", "up", "up", "up", "up", "up", "up")
        await pilot.pause()
        assert waves.render_line(1).text.split()[0].lstrip("▶") == "Wave-43"
        assert waves.render_line(6).text.strip() == "45 of 50 waves out of view · ↑ 42 · ↓ 3"
        board_of_rollouts = app.query_one(RolloutBoard)
        assert board_of_rollouts.render_line(6).text.strip() == (
            "195 of 200 rollouts out of view · ↓ 195"
        )


async def test_with_both_boards_full_the_event_stream_keeps_lines_of_its_own(
    make_app: AppFactory, tmp_path: Path
) -> None:
    """5,000 repos in 50 waves and 200 rollouts at 120x36: the boards leave the stream
    lines to show, and an event delivered is on screen."""
    workbook = tmp_path / "workbook.csv"
    workbook.write_text(generate_workbook(5000, 50, seed=1))
    app = make_app(sim={"rollouts": 200}, waves={"workbook": str(workbook)})
    async with app.run_test(size=(120, 36)) as pilot:
        board = app.query_one(RolloutBoard)
        await until(
            lambda: "rollouts out of view" in board.render_line(board.size.height - 1).text,
            what="the rollout board full",
        )
        drill = PlatformEvent("chaos.drill", "warning", "runner pool drained", app.clock.now())
        app.ingest([EventsUpdate("mqtt", (drill,))])
        await pilot.pause()
        log = app.query_one(EventLog)
        assert log.size.height >= 3
        shown = [log.render_line(y).text for y in range(log.size.height)]
        assert any("runner pool drained" in line for line in shown), shown


async def test_a_board_that_fits_shows_no_count() -> None:
    app = Boards()
    async with app.run_test(size=(120, 36)) as pilot:
        app.query_one(RolloutBoard).show(rollouts(3))
        await pilot.pause()
        board = app.query_one(RolloutBoard)
        assert board.size.height == 4 and not board.overflows
        assert "out of view" not in board.render_line(3).text


@pytest.mark.parametrize(
    ("state", "held", "shown"),
    [
        (TriggerState.INACTIVE, 0, "<1m"),
        (TriggerState.INACTIVE, 59, "<1m"),
        (TriggerState.INACTIVE, 61, "1m"),
        (TriggerState.RESOLVED, 3700, "1h"),
        (TriggerState.PENDING, 35, "35s"),
        (TriggerState.FIRING, 125, "2m 5s"),
    ],
)
def test_a_quiet_trigger_row_changes_once_a_minute_an_alarming_one_every_second(
    state: TriggerState, held: int, shown: str
) -> None:
    (spec, *_) = trigger_specs(Config.model_validate(config_document()))
    status = TriggerStatus(spec, state, 0.99, NOW - timedelta(seconds=held))
    assert trigger_row(status, NOW)[4] == shown
