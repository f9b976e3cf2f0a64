"""The dashboard, driven as an operator drives it, on the simulator with a held clock."""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Static

from maestro_control_room.cutover.triggers import TriggerState
from maestro_control_room.cutover.waves import WaveState
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.widgets.eventlog import EventLog
from maestro_control_room.widgets.events import EventStream
from maestro_control_room.widgets.header import FreezeBanner, HealthRow
from maestro_control_room.widgets.help import HelpOverlay
from maestro_control_room.widgets.kpi import KpiTile
from maestro_control_room.widgets.rollouts import RolloutBoard
from maestro_control_room.widgets.triggers import TriggerBoard
from maestro_control_room.widgets.waves import WaveBoard
from tests.conftest import AppFactory


async def step(app: ControlRoomApp, pilot: Pilot[None], seconds: float) -> None:
    """Advance the simulator by `seconds` of simulated time, in one-minute deliveries."""
    simulator = app.sources[0].simulator  # type: ignore[attr-defined]
    remaining = seconds
    while remaining > 0:
        chunk = min(60.0, remaining)
        app.ingest(simulator.advance(chunk))
        app.refresh_view()
        remaining -= chunk
    app.drain_events()
    await pilot.pause()


async def started(app: ControlRoomApp, pilot: Pilot[None]) -> None:
    """Wait until the simulator's first delivery is on screen."""
    await pilot.wait_for_scheduled_animations()
    while app.view is None or not app.view.rollouts:
        await pilot.pause()
        app.refresh_view()


async def actions_done(app: ControlRoomApp, pilot: Pilot[None]) -> None:
    """Wait for confirmed actions to finish (the sources' workers run on)."""
    await pilot.pause()
    running = [w for w in app.workers if w.group == "actions"]
    if running:  # an empty list would mean every worker, the sources' included
        await app.workers.wait_for_complete(running)
    await pilot.pause()


def text_of(widget: Static) -> str:
    return str(widget.render())


async def test_panels_show_live_values(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        tiles = list(app.query(KpiTile))
        assert [tile.signal for tile in tiles] == [
            "queue_wait_p95", "success_rate", "success_rate_7d", "build_duration_mean",
            "flake_rate", "executor_saturation", "cost_per_build",
        ]  # fmt: skip
        for tile in tiles:
            value = text_of(tile.query_one(".kpi-value", Static))
            assert value.split()[-1] in ("OK", "WARN", "BREACH"), (tile.signal, value)
        assert app.query_one(TriggerBoard).query_one("#trigger-table").row_count == 4
        assert app.query_one(WaveBoard).row_count == 4
        assert app.query_one(RolloutBoard).row_count == 3
        assert "sim ok" in text_of(app.query_one(HealthRow))


async def test_freeze_names_the_rollouts_then_shows_the_banner(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        assert app.view is not None
        to_pause = [r.key for r in app.view.rollouts if not r.paused and r.can_promote]
        assert to_pause, "the simulator starts with a rollout in progress"
        await pilot.press("f")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        plan = text_of(screen.query_one("#confirm-plan", Static))
        for key in to_pause:
            assert key in plan
        assert "frozen: false → true" in plan
        await pilot.press("enter")
        await actions_done(app, pilot)
        banner = app.query_one(FreezeBanner)
        assert banner.display
        assert "FROZEN by tester" in text_of(banner)
        assert app.view.freeze.frozen
        for key in to_pause:
            rollout = app.view.rollout(key)
            assert rollout is not None and rollout.paused


async def test_an_action_is_named_once_in_the_event_stream(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("f", "enter")
        await actions_done(app, pilot)
        app.drain_events()
        await pilot.pause()
        lines = [line.plain for line in app.query_one(EventStream).query_one(EventLog).lines]
        said = [line for line in lines if "action tester:" in line]
        assert said, lines
        # The outcome already names the action: "tester: Freeze cutover: done", said once.
        assert said[-1].endswith("tester: Freeze cutover: done"), said
        assert said[-1].count("Freeze cutover") == 1, said


async def test_promote_is_refused_while_frozen(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("f", "enter")
        await actions_done(app, pilot)
        board = app.query_one(WaveBoard)
        board.focus()
        board.move_cursor(row=2)  # Wave-3, planned
        await pilot.pause()
        assert board.selected_key == "Wave-3"
        await pilot.press("p")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen), "refused outright: nothing to confirm"
        (refusal,) = [n for n in app._notifications if n.title == "Frozen"]
        assert "frozen by tester" in refusal.message
        assert "unfreeze first" in refusal.message and "Unfreeze: u" in refusal.message
        assert app.view is not None
        wave = app.view.wave("Wave-3")
        assert wave is not None and wave.state is WaveState.PLANNED


async def test_promote_with_override_reason_goes_through(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        board = app.query_one(WaveBoard)
        board.focus()
        board.move_cursor(row=2)
        await pilot.press("p")
        screen = app.screen
        assert isinstance(screen, ConfirmScreen)
        # Wave-2 before it is still canary: the check fails until overridden.
        assert "✖" in text_of(screen.query_one("#confirm-checks", Static))
        screen.query_one("#confirm-reason").focus()
        await pilot.press(*"exec approved early start", "tab")
        await pilot.press(*"Wave-3", "enter")
        await actions_done(app, pilot)
        assert not isinstance(app.screen, ConfirmScreen)
        assert app.view is not None
        wave = app.view.wave("Wave-3")
        assert wave is not None and wave.state is WaveState.CANARY


async def test_read_only_refuses_every_action(make_app: AppFactory) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        assert "READ-ONLY" in text_of(app.query_one("#header", Static))
        for key in ("f", "u", "p", "x"):
            await pilot.press(key)
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen), key
        assert app.view is not None and not app.view.freeze.frozen


async def test_help_and_palette_list_every_action(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        overlay = app.query_one(HelpOverlay)
        assert overlay.is_open
        assert overlay.query_one("#help-keys").region.width > 40, "the key table is drawn"
        ids = {row.id for row in overlay.rows}
        assert ids >= {
            "freeze", "unfreeze", "promote", "abort", "next_board", "filter_events",
            "help", "quit", "command_palette",
        }  # fmt: skip
        await pilot.press("escape")
        assert not overlay.is_open
        titles = [command.title for command in app.palette_commands()]
        for title in ("Freeze the cutover", "Unfreeze the cutover"):
            assert title in titles
        assert "Promote wave Wave-3" in titles
        assert "Abort rollout maestro-system/maestro-api" in titles


async def test_keymap_from_config_remaps_freeze(make_app: AppFactory) -> None:
    app = make_app(ui__keymap={"freeze": "F"})
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("f")
        assert not isinstance(app.screen, ConfirmScreen)
        await pilot.press("F")
        assert isinstance(app.screen, ConfirmScreen)


async def test_brownout_trigger_goes_pending_then_firing(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        states: list[TriggerState] = []
        for _ in range(20):
            await step(app, pilot, 30)
            assert app.view is not None
            status = next(t for t in app.view.triggers if t.spec.id == "success-rate")
            if not states or states[-1] is not status.state:
                states.append(status.state)
            if status.state is TriggerState.FIRING:
                break
        assert states[:3] == [TriggerState.INACTIVE, TriggerState.PENDING, TriggerState.FIRING]
        playbook = text_of(app.query_one("#playbook", Static))
        assert "ROLLBACK PLAYBOOK" in playbook and "Freeze" in playbook


async def test_stale_readings_are_never_shown_as_current(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        simulator = app.sources[0].simulator  # type: ignore[attr-defined]
        simulator.advance(60)  # time passes, but nothing reaches the control room
        app.refresh_view()
        await pilot.pause()
        for tile in app.query(KpiTile):
            value = text_of(tile.query_one(".kpi-value", Static))
            assert value == "— STALE", (tile.signal, value)
        assert "stale" in text_of(app.query_one(HealthRow))
        assert app.view is not None
        threshold = [t for t in app.view.triggers if not t.spec.alertname]
        assert all(t.state is TriggerState.UNKNOWN for t in threshold)


async def test_compact_terminal_shows_every_panel(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await started(app, pilot)
        assert app.screen.has_class("-compact")
        for selector in ("#header", "#health", "#kpis", "#triggers", "#wave-board",
                         "#rollout-board", "#events"):  # fmt: skip
            widget = app.query_one(selector)
            region = widget.region
            assert region.width > 0 and region.height > 0, selector
            assert region.right <= 80 and region.bottom <= 24, selector


async def test_event_filter_narrows_the_stream(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await step(app, pilot, 240)  # into the brownout
        await pilot.press("slash", *"brownout")
        await pilot.pause()
        stream = app.query_one(EventStream)
        assert stream.needle == "brownout"
        lines = [line.plain for line in stream.query_one(EventLog).lines]
        assert lines and all("brownout" in line for line in lines)


async def test_tab_cycles_the_boards_and_escape_clears_the_filter(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        seen = []
        for _ in range(5):
            await pilot.press("tab")
            assert app.focused is not None
            seen.append(app.focused.id or type(app.focused).__name__)
        assert seen == ["rollout-board", "EventLog", "kpis", "trigger-table", "wave-board"]
        await pilot.press("slash", *"CRIT")
        stream = app.query_one(EventStream)
        assert stream.needle == "CRIT"
        await pilot.press("escape")
        assert stream.needle == ""
        assert not stream.has_class("-filtering")


async def test_a_key_typed_right_after_q_opens_nothing_while_the_room_quits(
    make_app: AppFactory,
) -> None:
    """`q` then `t` in one read of the terminal: the smoke screen must not start mounting
    into an app that is shutting down (its compose half done, a traceback at exit)."""
    from textual import events

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        app.post_message(events.Key("q", "q"))
        app.post_message(events.Key("t", "t"))
        await pilot.pause()
    assert app.return_code in (0, None)
