"""Focus reads without colour, and an action key acts on the focused board only."""

from __future__ import annotations

from textual.pilot import Pilot

from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.widgets.eventlog import EventLog
from maestro_control_room.widgets.rollouts import RolloutBoard
from maestro_control_room.widgets.table import FOCUS_MARKER, KeyedTable
from maestro_control_room.widgets.waves import WaveBoard
from tests.conftest import AppFactory
from tests.screen_text import screen_text
from tests.test_app import started


def cursor_line(board: KeyedTable) -> str:
    strip = board.render_line(board.cursor_row + 1 - board.scroll_offset.y)
    return strip.text


async def test_the_focused_board_marks_its_cursor_row_and_only_it(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        waves, rollouts = app.query_one(WaveBoard), app.query_one(RolloutBoard)
        assert waves.has_focus
        assert cursor_line(waves).startswith(FOCUS_MARKER)
        assert not cursor_line(rollouts).startswith(FOCUS_MARKER)
        await pilot.press("tab")
        assert rollouts.has_focus
        assert cursor_line(rollouts).startswith(FOCUS_MARKER)
        assert not cursor_line(waves).startswith(FOCUS_MARKER)
        assert screen_text(app).count(FOCUS_MARKER) == 1


def panels_marked(app: ControlRoomApp) -> list[str]:
    """The panels whose title reads as holding the focus."""
    return [str(panel.id) for panel in app.query(".panel.-has-focus, #events.-has-focus")]


async def test_one_panel_title_marks_the_focus_through_tab_and_help(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        waves, rollouts = app.query_one(WaveBoard), app.query_one(RolloutBoard)
        holding = [node for node in waves.ancestors if node.has_class("panel")]
        assert panels_marked(app) == [str(holding[0].id)]
        await pilot.press("tab")
        assert rollouts.has_focus
        marked = panels_marked(app)
        assert len(marked) == 1 and marked != [str(holding[0].id)]
        await pilot.press("question_mark")  # help's filter takes the keyboard: no panel has it
        await pilot.pause()
        assert panels_marked(app) == []
        await pilot.press("question_mark")
        await pilot.pause()
        assert rollouts.has_focus and panels_marked(app) == marked


async def test_an_unfocused_cursor_row_is_not_styled_as_the_header(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        rollouts = app.query_one(RolloutBoard)
        assert not rollouts.has_focus
        header = rollouts.get_component_rich_style("board--header")
        blurred = rollouts.get_component_rich_style("board--cursor-blurred")
        assert blurred != header
        # Told apart without colour too: the header is bold, the blurred cursor underlined.
        assert (blurred.bold, blurred.underline) != (header.bold, header.underline)


async def test_the_event_log_shows_that_it_has_focus(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        log = app.query_one(EventLog)
        before = screen_text(app).splitlines()[log.region.y]
        log.focus()
        await pilot.pause()
        after = screen_text(app).splitlines()[log.region.y]
        assert before[:1] in ("", " ") and after[:1] == "▌"


async def _promote_on(pilot: Pilot[None], tabs: int) -> None:
    await pilot.press("tab")  # waves → rollouts: a rollout is selected
    for _ in range(tabs):
        await pilot.press("tab")
    await pilot.press("p")
    await pilot.pause()


async def test_promote_with_the_events_focused_promotes_nothing(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await _promote_on(pilot, tabs=1)  # rollouts → events
        assert isinstance(app.focused, EventLog)
        assert not isinstance(app.screen, ConfirmScreen), "a rollout selected earlier"
        notes = [n.message for n in app._notifications]
        assert any("the event stream has none" in n for n in notes), notes
        assert any("Tab moves to the Waves or Rollouts board" in n for n in notes), notes


async def test_abort_with_the_triggers_focused_says_nothing_is_selected(
    make_app: AppFactory,
) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await pilot.press("tab", "tab", "tab", "tab")  # → rollouts → events → KPIs → triggers
        await pilot.press("x")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        assert any("the trigger board has none" in n.message for n in app._notifications)


async def test_promote_acts_on_the_focused_rollout(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await _promote_on(pilot, tabs=0)
        assert isinstance(app.screen, ConfirmScreen)
        assert app.screen.plan.target == app.query_one(RolloutBoard).selected_key
