"""The simulator alone, in-process, at an organisation's size: `python -m bench.simscale
REPOS WAVES ROLLOUTS` prints one JSON object of figures.

Run in its own process so that its RSS is the simulator's: the time to what the first frame
needs (the model cold, its state as of the start), the whole warm-up, the CPU of a second of
simulated time at one simulated second a second, and the RSS at the end.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import datetime, timedelta, timezone

from bench.workbook import generate_workbook
from maestro_control_room.cutover.waves import parse_workbook
from maestro_control_room.sources.sim import Simulator

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
#: Simulated seconds advanced, one at a time, for the steady figure.
STEADY_SECONDS = 60


def measure(repos: int, waves: int, rollouts: int) -> dict[str, float]:
    workbook = parse_workbook(generate_workbook(repos, waves))
    began = time.perf_counter()
    sim = Simulator(
        workbook,
        seed=7,
        start=GO_LIVE + timedelta(hours=26),
        go_live=GO_LIVE,
        warm=False,
        fleet_size=rollouts,
    )
    sim.warming_updates()
    first = time.perf_counter() - began
    sim.warm_up()
    sim.initial()
    ready = time.perf_counter() - began
    cpu = time.process_time()
    for _ in range(STEADY_SECONDS):
        sim.advance(1.0)
    spent = time.process_time() - cpu
    return {
        "first_frame_s": first,
        "ready_s": ready,
        # A simulated second each wall second: the share of a core the model takes.
        "cpu_percent": 100 * spent / STEADY_SECONDS,
        "rss_end_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1000,
    }


if __name__ == "__main__":
    repos, waves, rollouts = (int(arg) for arg in sys.argv[1:4])
    print(json.dumps(measure(repos, waves, rollouts)))
