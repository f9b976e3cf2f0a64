"""Shared fixtures: the control room built from the repository's config.toml, with the
simulator's clock held still so tests step it by hand."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from maestro_control_room.cutover.config import Config
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.build import build_app
from maestro_control_room.tui.configfile import LoadedConfig

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "config.toml"

# No test writes to the real home: the default audit journal lives under XDG_STATE_HOME.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="maestro-tests-state-")


def config_document(**sections: dict[str, Any]) -> dict[str, Any]:
    """config.toml as a dict, with some sections' keys replaced."""
    document = tomllib.loads(CONFIG.read_text())
    for dotted, values in sections.items():
        node = document
        for part in dotted.split("__"):
            node = node.setdefault(part, {})
        node.update(values)
    return document


AppFactory = Callable[..., ControlRoomApp]


@pytest.fixture
def make_app(tmp_path: Path) -> AppFactory:
    """Build the app on the simulator with its clock held still (time_scale 0), its audit
    journal in the test's own folder."""

    def factory(
        *, read_only: bool = False, sim: dict[str, Any] | None = None, **sections: Any
    ) -> ControlRoomApp:
        overrides = {
            "sources__sim": {"time_scale": 0, **(sim or {})},
            "audit": {"path": str(tmp_path / "audit.jsonl")},
            **sections,
        }
        config = Config.model_validate(config_document(**overrides))
        return build_app(LoadedConfig(config, CONFIG), read_only=read_only, operator="tester")

    return factory
