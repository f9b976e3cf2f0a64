"""Garbage in reference cycles does not outlive a minute of the room's ticks.

With the young generation raised for bursts, cyclic garbage made in the steady state was
collected less than once an hour, and memory grew with it. The tick collects in full once a
minute.
"""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator

import pytest

from maestro_control_room.tui.cycles import CycleCollector
from tests.conftest import AppFactory
from tests.kube_harness import until


class Node:
    """One object in a cycle with itself: freed only by the collector."""

    def __init__(self) -> None:
        self.me = self


def garbage_in_a_cycle() -> weakref.ref[Node]:
    node = Node()
    return weakref.ref(node)


@pytest.fixture
def no_automatic_collection() -> Iterator[None]:
    """Only the collector under test collects: the interpreter's own would hide it."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


@pytest.mark.usefixtures("no_automatic_collection")
def test_a_cycle_is_collected_once_a_minute_has_passed_and_not_before() -> None:
    collector = CycleCollector(every=60.0)
    assert not collector.collect_when_due(1000.0)  # the first tick starts the minute
    cycle = garbage_in_a_cycle()
    assert not collector.collect_when_due(1059.5)
    assert cycle() is not None
    assert collector.collect_when_due(1060.0)
    assert cycle() is None
    later = garbage_in_a_cycle()
    assert not collector.collect_when_due(1100.0)  # a minute from the last, not the first
    assert later() is not None
    assert collector.collect_when_due(1120.0)
    assert later() is None
    assert collector.collections == 2


@pytest.mark.usefixtures("no_automatic_collection")
async def test_the_room_s_tick_collects_the_cycles_left_between_ticks(
    make_app: AppFactory,
) -> None:
    app = make_app(sim={"refresh": "0.1s"})
    async with app.run_test(size=(120, 36)):
        app.cycles.every = 0.3
        cycle = garbage_in_a_cycle()
        before = app.cycles.collections
        await until(lambda: app.cycles.collections > before, what="a tick's collection")
        assert cycle() is None
