"""The playhead and the times an operator can ask a replay for."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from maestro_control_room.cutover.playback import (
    SPEEDS,
    Playhead,
    SeekTarget,
    clock_label,
    parse_when,
)
from maestro_control_room.widgets.timeline import timeline_bar

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)


def test_the_playhead_moves_at_its_speed_and_stops_at_the_end() -> None:
    head = Playhead(duration=600, speed=2)
    head.seek(0, t=100)
    assert head.position(110) == 20
    assert head.wait_for(100, t=110) == 40
    assert head.position(10_000) == 600 and head.at_end(10_000)


def test_pause_holds_the_position_and_resume_carries_on() -> None:
    head = Playhead(duration=600)
    head.seek(0, t=0)
    head.pause(t=30)
    assert head.paused and head.position(500) == 30
    head.resume(t=500)
    assert head.position(510) == 40
    head.toggle(t=510)
    assert head.paused and head.position(900) == 40


def test_a_change_of_speed_keeps_the_position() -> None:
    head = Playhead(duration=10_000)
    head.seek(100, t=0)
    head.faster(t=10)  # at 110
    assert head.speed == 2 and head.position(10) == 110
    assert head.position(20) == 130
    head.slower(t=20)
    head.slower(t=20)
    assert head.speed == 0.5 and head.position(22) == 131


def test_speeds_step_along_the_ladder_and_stop_at_its_ends() -> None:
    head = Playhead(duration=1, speed=3)  # off the ladder, as --speed may give
    head.faster(0)
    assert head.speed == 4
    for _ in range(len(SPEEDS) + 2):
        head.faster(0)
    assert head.speed == SPEEDS[-1]
    for _ in range(len(SPEEDS) + 2):
        head.slower(0)
    assert head.speed == SPEEDS[0]
    with pytest.raises(ValueError, match="more than 0"):
        Playhead(duration=1, speed=0)


def test_seeking_stays_within_the_recording() -> None:
    head = Playhead(duration=60)
    assert head.seek(-5, t=0) == 0
    assert head.seek(61, t=0) == 60


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("+10m", SeekTarget(offset=600)),
        ("+1h30m", SeekTarget(offset=5400)),
        ("T+1d2h", SeekTarget(clock=GO_LIVE + timedelta(days=1, hours=2))),
        ("T-3d", SeekTarget(clock=GO_LIVE - timedelta(days=3))),
        ("2026-12-02T11:00:00Z", SeekTarget(clock=datetime(2026, 12, 2, 11, tzinfo=timezone.utc))),
        (
            "2026-12-02T12:00:00+01:00",
            SeekTarget(clock=datetime(2026, 12, 2, 11, tzinfo=timezone.utc)),
        ),
    ],
)
def test_times_a_replay_can_start_from(text: str, target: SeekTarget) -> None:
    assert parse_when(text, GO_LIVE) == target


@pytest.mark.parametrize("text", ["10m", "+ten", "T+", "2026-12-02T11:00:00", "yesterday"])
def test_a_time_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_when(text, GO_LIVE)


def test_labels_and_the_bar() -> None:
    assert clock_label(timedelta(seconds=3725)) == "01:02:05"
    assert clock_label(timedelta(days=2, seconds=5)) == "2d 00:00:05"
    bar = timeline_bar(50, 100, [(10, "audit"), (90, "peer")], 11).plain
    assert bar == "━◆━━━●───◇─"
    assert timeline_bar(0, 0, [], 5).plain == "●────"
