"""The simulator steps on the room's beat: one step a tick, taken before the tick reads the
room, in the same wake-up; on its own timer when its period is not the tick's."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from bench.workbook import generate_workbook
from maestro_control_room.cutover.updates import Update
from maestro_control_room.cutover.waves import parse_workbook
from maestro_control_room.sources.base import Beat, Paced
from maestro_control_room.sources.sim import SimSource, Simulator

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
START = GO_LIVE + timedelta(hours=26)
WORKBOOK = parse_workbook(generate_workbook(60, 4, seed=3))


def simulator() -> Simulator:
    return Simulator(WORKBOOK, seed=7, start=START, go_live=GO_LIVE)


class Deliveries:
    def __init__(self) -> None:
        self.batches: list[Sequence[Update]] = []
        self._arrived = asyncio.Event()

    def __call__(self, updates: Sequence[Update]) -> None:
        self.batches.append(updates)
        self._arrived.set()

    async def next(self) -> None:
        await asyncio.wait_for(self._arrived.wait(), 10)
        self._arrived.clear()


async def test_on_the_beat_the_simulator_steps_once_a_tick_before_the_tick_reads() -> None:
    sim = simulator()
    source = SimSource(sim, timedelta(milliseconds=20), time_scale=50)
    assert isinstance(source, Paced)
    beat = Beat()
    source.step_with(beat, timedelta(milliseconds=20))
    deliveries = Deliveries()
    task = asyncio.create_task(source.run(deliveries))
    try:
        await deliveries.next()  # everything as of the start
        assert len(deliveries.batches) == 1
        # Ten of its own periods pass without a tick: no step.
        await asyncio.sleep(0.2)
        assert len(deliveries.batches) == 1 and sim.now == START
        for second in (1, 2, 3):
            assert beat.beat()  # the simulator was waiting on it
            await asyncio.sleep(0)  # what the tick does before it reads the room
            # The step is in, as the tick goes on to read the room.
            assert len(deliveries.batches) == 1 + second
            assert sim.now == START + timedelta(seconds=second)  # 20 ms × 50
    finally:
        task.cancel()
    # Cancelled while waiting: the next beat finds no one.
    await asyncio.gather(task, return_exceptions=True)
    assert not beat.beat()


async def test_with_a_period_of_its_own_the_simulator_keeps_its_timer() -> None:
    sim = simulator()
    source = SimSource(sim, timedelta(milliseconds=20), time_scale=50)
    beat = Beat()
    source.step_with(beat, timedelta(seconds=1))  # the room ticks once a second
    deliveries = Deliveries()
    task = asyncio.create_task(source.run(deliveries))
    try:
        await deliveries.next()
        await deliveries.next()  # a step, and no tick came
        assert sim.now > START
        assert not beat.beat()
    finally:
        task.cancel()
