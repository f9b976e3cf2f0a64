"""The built-in simulator of the Maestro platform: a model, not random numbers."""

from __future__ import annotations

from pathlib import Path

from .scenario import Scenario, ScenarioError, load_scenario
from .simulator import Simulator
from .source import SimEffector, SimSource, build_simulation

#: The example migration workbook that ships with the simulator.
EXAMPLE_WORKBOOK = Path(__file__).parent / "data" / "workbook.csv"

__all__ = [
    "EXAMPLE_WORKBOOK",
    "Scenario",
    "ScenarioError",
    "SimEffector",
    "SimSource",
    "Simulator",
    "build_simulation",
    "load_scenario",
]
