"""The cutover clock: phases of the plan's timeline, the next milestone and T-labels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from maestro_control_room.cutover.clock import read_clock, t_label

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("offset", "phase"),
    [
        pytest.param(timedelta(days=-15), "Preparation", id="T-15d"),
        pytest.param(timedelta(days=-10), "Gates", id="T-10d"),
        pytest.param(timedelta(days=-7), "Canary", id="T-7d-exactly"),
        pytest.param(timedelta(days=-7, seconds=-1), "Gates", id="T-7d-less-a-second"),
        pytest.param(timedelta(days=-1), "Freeze", id="T-1d"),
        pytest.param(timedelta(hours=2), "Go-live", id="T+2h"),
        pytest.param(timedelta(days=3), "Hypercare", id="T+3d"),
        pytest.param(timedelta(days=15), "Retro", id="T+15d"),
    ],
)
def test_phase_follows_the_plan_timeline(offset: timedelta, phase: str) -> None:
    assert read_clock(GO_LIVE + offset, GO_LIVE).phase == phase


def test_hypercare_shows_its_day() -> None:
    reading = read_clock(GO_LIVE + timedelta(days=3), GO_LIVE)
    assert reading.phase_detail == "Hypercare day 3 of 14"


def test_phase_detail_outside_hypercare_is_the_phase() -> None:
    assert read_clock(GO_LIVE - timedelta(days=1), GO_LIVE).phase_detail == "Freeze"


@pytest.mark.parametrize(
    ("offset", "next_label", "until"),
    [
        pytest.param(timedelta(days=-15), "T-14d", timedelta(days=1), id="preparation"),
        pytest.param(timedelta(days=-10), "T-7d", timedelta(days=3), id="gates"),
        pytest.param(timedelta(days=-7), "T-2d", timedelta(days=5), id="canary"),
        pytest.param(timedelta(hours=2), "T+1d", timedelta(hours=22), id="go-live"),
    ],
)
def test_next_milestone_and_time_until_it(
    offset: timedelta, next_label: str, until: timedelta
) -> None:
    reading = read_clock(GO_LIVE + offset, GO_LIVE)
    assert reading.next is not None
    assert reading.next.label.startswith(next_label + " ")
    assert reading.until_next == until


def test_after_the_last_milestone_nothing_is_next() -> None:
    reading = read_clock(GO_LIVE + timedelta(days=15), GO_LIVE)
    assert reading.next is None
    assert reading.until_next is None


@pytest.mark.parametrize(
    ("delta", "label"),
    [
        (-timedelta(days=6, hours=4, minutes=12), "T-6d 04:12"),
        (-timedelta(days=6, hours=4, minutes=12, seconds=59), "T-6d 04:12"),
        (timedelta(days=1, hours=2), "T+1d 02:00"),
        (timedelta(0), "T+0d 00:00"),
        (timedelta(days=14, minutes=5), "T+14d 00:05"),
    ],
)
def test_t_label(delta: timedelta, label: str) -> None:
    assert t_label(delta) == label


def test_reading_label_is_relative_to_go_live() -> None:
    now = GO_LIVE - timedelta(days=6, hours=4, minutes=12)
    assert read_clock(now, GO_LIVE).label == "T-6d 04:12"


@pytest.mark.parametrize(
    ("now", "go_live"),
    [
        pytest.param(datetime(2026, 12, 1, 9, 0), GO_LIVE, id="naive-now"),
        pytest.param(GO_LIVE, datetime(2026, 12, 1, 9, 0), id="naive-go-live"),
    ],
)
def test_naive_datetimes_are_refused(now: datetime, go_live: datetime) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        read_clock(now, go_live)
