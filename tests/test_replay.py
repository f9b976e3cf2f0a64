"""Record a session, replay it: the same panel values at the same times, read-only, with
keys that pause, seek and change speed.

One live session on the simulator (its clock held still and stepped a minute at a time,
with a freeze along the way) is recorded once for the module; each test replays it.
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.css.query import NoMatches
from textual.pilot import Pilot
from textual.widgets import Static

from maestro_control_room.cutover.actions import plan_unfreeze
from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.pipeline import ReadOnly
from maestro_control_room.cutover.playback import SeekTarget, parse_when
from maestro_control_room.cutover.recording import config_from_document
from maestro_control_room.sources.replay import Recording, open_recording
from maestro_control_room.tui.app import ACTIONS, ControlRoomApp
from maestro_control_room.tui.build import build_app
from maestro_control_room.tui.cli import main
from maestro_control_room.tui.configfile import LoadedConfig
from maestro_control_room.tui.record import start_recording
from maestro_control_room.tui.replay import ReplayFeed, replay_app
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.widgets.eventlog import EventLog
from maestro_control_room.widgets.events import EventStream
from maestro_control_room.widgets.header import FreezeBanner, HealthRow
from maestro_control_room.widgets.kpi import KpiTile
from maestro_control_room.widgets.rollouts import RolloutBoard
from maestro_control_room.widgets.table import KeyedTable
from maestro_control_room.widgets.timeline import Timeline
from maestro_control_room.widgets.waves import WaveBoard
from tests.conftest import CONFIG, ROOT, config_document
from tests.test_app import actions_done, started, step

SIZE = (160, 48)
MINUTES = 24
FREEZE_AT = 4
START_WALL = 1_800_000_000.0

Panels = dict[str, Any]


def feed(app: ControlRoomApp) -> ReplayFeed:
    """The recording feeding a replay's session."""
    assert app.replay is not None
    return app.replay


def text(widget: Static) -> str:
    return str(widget.render())


def rows(table: KeyedTable) -> list[tuple[str, ...]]:
    return [tuple(str(cell) for cell in table._rows[key]) for key in table._order]


def panels(app: ControlRoomApp) -> Panels:
    """Everything the dashboard shows an operator, as text (the header's mode aside)."""
    assert app.view is not None
    banner = app.query_one(FreezeBanner)
    return {
        "clock": app.view.clock.label,
        "phase": app.view.clock.phase_detail,
        "kpis": [
            (
                text(tile.query_one(".kpi-value", Static)),
                text(tile.query_one(".kpi-limit", Static)),
                text(tile.query_one(".kpi-spark", Static)),
                reading.history,
            )
            for tile, reading in zip(app.query(KpiTile), app.view.kpis, strict=True)
        ],
        "triggers": rows(app.query_one("#trigger-table", KeyedTable)),
        "playbook": text(app.query_one("#playbook", Static)),
        "waves": rows(app.query_one(WaveBoard)),
        "rollouts": rows(app.query_one(RolloutBoard)),
        "health": text(app.query_one(HealthRow)),
        "banner": text(banner) if banner.has_class("-frozen") else "(hidden)",
        "events": text(app.query_one("#event-title", Static)),
    }


async def live_session(directory: Path) -> dict[datetime, Panels]:
    """Run the control room on the simulator with --record, stepping the clock a minute at
    a time; what it showed at each clock time."""
    config = Config.model_validate(
        config_document(
            sources__sim={"time_scale": 0}, audit={"path": str(directory / "audit.jsonl")}
        )
    )
    loaded = LoadedConfig(config, CONFIG)
    app = build_app(loaded, operator="alice")
    wall = [START_WALL]
    recorder = start_recording(app, loaded, directory / "shift.jsonl.gz", wall=lambda: wall[0])
    shown: dict[datetime, Panels] = {}
    async with app.run_test(size=SIZE) as pilot:
        await started(app, pilot)
        # Once more at the same instant, laid out: the first sparklines are drawn before the
        # tiles know their width.
        app.refresh_view()
        await pilot.pause()
        assert app.view is not None
        shown[app.view.now] = panels(app)
        for minute in range(1, MINUTES + 1):
            wall[0] += 60
            await step(app, pilot, 60)
            if minute == FREEZE_AT:
                await pilot.press("f", "enter")
                await actions_done(app, pilot)
                assert app.view.freeze.frozen
            shown[app.view.now] = panels(app)
    recorder.close()
    assert not recorder.error
    assert (directory / "audit.jsonl").exists()
    return shown


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[datetime, Panels]]:
    directory = tmp_path_factory.mktemp("recorded")
    shown = asyncio.run(live_session(directory))
    return directory / "shift.jsonl.gz", shown


@pytest.fixture
def recording(session: tuple[Path, dict[datetime, Panels]]) -> Recording:
    return open_recording(session[0])


async def until(pilot: Pilot[None], condition: Callable[[], bool]) -> None:
    """Let the app run until `condition` holds (the test's timeout bounds it)."""
    while not condition():
        await pilot.pause(0.01)
    await pilot.pause()


async def landed(app: ControlRoomApp, pilot: Pilot[None]) -> None:
    await until(pilot, lambda: not feed(app).seeking and app.view is not None)


def test_the_recording_holds_the_whole_session(recording: Recording) -> None:
    header = recording.header
    assert header.operator == "alice" and header.sources == ("sim",)
    assert recording.problems == []
    assert recording.duration == MINUTES * 60
    kinds = {recording.kind(index) for index in range(recording.count)}
    assert kinds == {"batch", "tick", "audit"}
    assert [mark.text.split(" by ")[0] for mark in recording.marks] == [
        "intent freeze cutover",
        "result freeze cutover",
    ]
    assert all(mark.offset == FREEZE_AT * 60 for mark in recording.marks)


@pytest.mark.parametrize("checkpoints", [False, True])
async def test_seeking_shows_the_same_panels_at_the_same_clock_times(
    session: tuple[Path, dict[datetime, Panels]],
    recording: Recording,
    monkeypatch: pytest.MonkeyPatch,
    checkpoints: bool,
) -> None:
    shown = session[1]
    if checkpoints:  # seeking back starts again from a copy of the room, not from the start
        monkeypatch.setattr("maestro_control_room.tui.replay.CHECKPOINT_EVERY", 5)
    app = replay_app(recording, paused=True)
    async with app.run_test(size=SIZE) as pilot:
        times = sorted(shown)
        # Forward through the session, then back to earlier times (the room rebuilt).
        for moment in [*times, times[2], times[FREEZE_AT + 1], times[0]]:
            feed(app).seek_clock(moment)
            await landed(app, pilot)
            assert app.view is not None and app.view.now == moment
            assert panels(app) == shown[moment], moment
        assert (len(feed(app)._checkpoints) >= 5) if checkpoints else not feed(app)._checkpoints


async def test_playing_shows_the_same_panels_as_it_goes(
    session: tuple[Path, dict[datetime, Panels]], recording: Recording
) -> None:
    shown = session[1]
    seen: dict[datetime, Panels] = {}

    class Watched(ControlRoomApp):
        CSS_PATH = str(ROOT / "tui" / "app.tcss")  # relative paths are from this file

        def refresh_view(self) -> None:
            super().refresh_view()
            view = self.view
            # Taken once everything recorded at this clock time is in, as the live panels
            # were; a frame may also show a time before its last records arrived.
            if view is None or not self.dashboard.ready:
                return
            if feed(self).applied == bisect_right(recording.clocks, view.now.timestamp()):
                try:
                    seen[view.now] = panels(self)
                except NoMatches:
                    return  # during the exit, the dashboard's widgets going one by one

    # 24 recorded minutes in about 3 s: each minute's records come in a frame of their own,
    # unless the machine is too busy to keep up (then a frame takes in two).
    app = replay_app(recording, speed=512, app=Watched)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: feed(app).ended)
        assert feed(app).playhead.paused
        assert "end of recording" in app.query_one(Timeline).text
        assert "End of the recording" in [n.message for n in app._notifications][-1]
        assert panels(app) == shown[max(shown)]
    compared = [moment for moment in seen if moment in shown]
    assert len(compared) >= MINUTES // 3
    for moment in compared:
        assert seen[moment] == shown[moment], moment


async def test_a_replay_refuses_every_action_and_journals_nothing(
    recording: Recording, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    app = replay_app(recording, paused=True, start=SeekTarget(offset=recording.duration))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: feed(app).applied == recording.count and not feed(app).seeking)
        assert "REPLAY · READ-ONLY" in text(app.query_one("#header", Static))
        assert app.journal is None and app.pipeline.read_only
        for board in (WaveBoard, RolloutBoard):
            app.query_one(board).focus()
            for key in ("f", "u", "p", "x"):
                await pilot.press(key)
                assert not isinstance(app.screen, ConfirmScreen), key
        commands = [c for c in app.palette_commands() if c.title.split()[0] in
                    ("Freeze", "Unfreeze", "Promote", "Abort", "Roll")]  # fmt: skip
        assert len(commands) >= 4
        for command in commands:
            command.callback()
            await pilot.pause()
            assert not isinstance(app.screen, ConfirmScreen), command.title
        assert app.view is not None
        with pytest.raises(ReadOnly):
            await app.pipeline.execute(plan_unfreeze(app.view, "mallory"), app.view)
        refusals = [n.message for n in app._notifications if n.title == "Read-only"]
        assert len(refusals) == 2 * 4 + len(commands)
    assert list(tmp_path.iterdir()) == [], "no journal anywhere"
    assert {"freeze", "unfreeze", "promote", "abort", "acknowledge", "silence"} == ACTIONS


async def test_keys_pause_seek_and_change_speed(recording: Recording) -> None:
    app = replay_app(recording, speed=1)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one(Timeline)
        await until(pilot, lambda: "playing" in timeline.text)
        await pilot.press("space")
        assert feed(app).playhead.paused
        await until(pilot, lambda: "paused" in timeline.text)
        start = feed(app).position
        await pilot.press("right")
        await landed(app, pilot)
        assert feed(app).position == pytest.approx(start + 60)
        await pilot.press("shift+right")
        await landed(app, pilot)
        assert feed(app).position == pytest.approx(start + 660)
        assert app.view is not None
        assert app.view.now == recording.header.now + timedelta(minutes=11)
        at_eleven = app.view.now
        await pilot.press("left", "left")
        await landed(app, pilot)
        assert feed(app).position == pytest.approx(start + 540)
        assert app.view.now < at_eleven
        await pilot.press("shift+left", "shift+left")
        await landed(app, pilot)
        assert feed(app).position == 0
        await pilot.press("right_square_bracket", "right_square_bracket")
        assert feed(app).playhead.speed == 4
        await pilot.press("left_square_bracket", "minus", "minus")
        assert feed(app).playhead.speed == 0.5
        await pilot.press("plus")
        assert feed(app).playhead.speed == 1
        await until(pilot, lambda: " 1x " in timeline.text and "paused" in timeline.text)
        # The event filter takes the keys it types, a space included.
        await pilot.press("slash", "a", "space", "b")
        assert app.query_one("#event-filter").value == "a b"  # type: ignore[attr-defined]
        assert feed(app).playhead.paused
        await pilot.press("escape")
        await pilot.press("space")
        assert not feed(app).playhead.paused
        rows = {row[2] for row in app.dashboard.key_rows()}
        assert {"replay_pause", "replay_back", "replay_forward", "replay_faster"} <= rows


async def test_recorded_actions_show_on_the_timeline_and_in_the_stream(
    recording: Recording,
) -> None:
    app = replay_app(recording, speed=1024)
    async with app.run_test(size=SIZE) as pilot:
        timeline = app.query_one(Timeline)
        await until(pilot, lambda: "◆" in timeline.text)
        await until(pilot, lambda: feed(app).ended)
        notes = [n for n in app._notifications if n.title == "Recorded action"]
        assert [n.message.split(" by ")[0] for n in notes] == [
            "intent freeze cutover",
            "result freeze cutover",
        ]
        log = app.query_one(EventStream).query_one(EventLog)
        lines = [line.plain for line in log.lines]
        assert any("action intent freeze cutover by alice" in line for line in lines)
        assert any("action result freeze cutover by alice" in line for line in lines)
        # Seeking back before the freeze and forward past it: the actions come back in order.
        feed(app).seek(FREEZE_AT * 60 - 1)
        await landed(app, pilot)
        assert not any("action" in line.plain for line in log.lines)
        feed(app).seek(FREEZE_AT * 60)
        await landed(app, pilot)
        assert sum("action " in line.plain for line in log.lines) == 2


@pytest.mark.parametrize(
    ("when", "minutes"),
    [("+10m", 10), ("T+1d2h5m", 5), ("2026-12-02T11:07:30+00:00", 7), ("T+1d", 0)],
)
async def test_a_replay_can_start_from_a_time(
    recording: Recording, when: str, minutes: int
) -> None:
    go_live = config_from_document(recording.header.config).cutover.go_live
    assert recording.header.now == go_live + timedelta(days=1, hours=2)  # the sim's start
    app = replay_app(recording, paused=True, start=parse_when(when, go_live))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: feed(app).applied > 0 and not feed(app).seeking)
        assert app.view is not None
        assert app.view.now == recording.header.now + timedelta(minutes=minutes)
        assert feed(app).position == minutes * 60


async def test_a_recording_cut_short_replays_up_to_the_damage(
    session: tuple[Path, dict[datetime, Panels]], tmp_path: Path
) -> None:
    copy = tmp_path / "killed.jsonl.gz"
    data = session[0].read_bytes()
    copy.write_bytes(data[: len(data) - 2000])
    recording = open_recording(copy)
    assert recording.problems and "gzip end" in str(recording.problems[0])
    assert recording.count > 0
    app = replay_app(recording, speed=4096)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: feed(app).ended)
        assert feed(app).applied == recording.count
        warnings = [n.message for n in app._notifications if n.title == "Recording"]
        assert warnings and "gzip end" in warnings[0]
        await pilot.press("question_mark")
        assert any("gzip end" in note for note in app.dashboard._help_notes())


def test_the_replay_command_refuses_what_it_cannot_play(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], recording: Recording
) -> None:
    assert main(["replay", str(tmp_path / "none.gz")]) == 2
    assert "no such recording" in capsys.readouterr().err
    assert main(["replay", str(recording.path), "--from", "soon"]) == 2
    assert "is not a time" in capsys.readouterr().err
    assert main(["replay", str(recording.path), "--speed", "0"]) == 2
    assert "--speed" in capsys.readouterr().err


def test_record_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "shift.jsonl.gz"
    existing.write_bytes(b"a previous shift")
    code = main(["--config", str(CONFIG), "--record", str(existing)])
    assert code == 2
    assert "already there" in capsys.readouterr().err
    assert existing.read_bytes() == b"a previous shift"
