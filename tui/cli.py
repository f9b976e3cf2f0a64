"""The `maestro-control-room` command."""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Sequence
from datetime import datetime, timezone
from functools import partial

from cutover.actions import Effector
from cutover.config import Config, room_settings
from sources.base import Clock, Source
from sources.sim import build_simulation
from sources.workbook import WorkbookError, load_workbook
from tui.app import ControlRoomApp
from tui.configfile import ConfigError, LoadedConfig, find_config, load_config

PROG = "maestro-control-room"

#: Sources whose clients this build has; any other enabled source is a config error.
AVAILABLE_SOURCES = frozenset({"sim"})


class WallClock:
    """The real time, for real sources."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog=PROG,
        description="A terminal control room for the cutover of CI/CD onto Maestro.",
    )
    cli.add_argument("--config", metavar="PATH", help="the config file (default: see README)")
    cli.add_argument("--read-only", action="store_true", help="watch only: every action is refused")
    cli.add_argument("--operator", metavar="NAME", help="who acts (default: the login name)")
    cli.add_argument(
        "--mouse", action="store_true", help="turn mouse tracking on (off by default for SSH)"
    )
    return cli


def operator_name(config: Config, given: str | None) -> str:
    return given or config.actions.operator or getpass.getuser()


def build_app(
    loaded: LoadedConfig, *, read_only: bool = False, operator: str | None = None
) -> ControlRoomApp:
    """The app for a validated config. Raises ConfigError for what the config asks but
    cannot be had (a workbook that cannot be read, a source this build lacks)."""
    config = loaded.config
    missing = [name for name in config.sources.enabled() if name not in AVAILABLE_SOURCES]
    if missing:
        raise ConfigError(
            f"{loaded.path}: sources.{missing[0]}.enabled: this build cannot read"
            f" {missing[0]} yet; set enabled = false or use [sources.sim]"
        )
    workbook_path = loaded.resolve(config.waves.workbook)
    try:
        workbook = load_workbook(workbook_path)
    except WorkbookError as error:
        raise ConfigError(f"{loaded.path}: waves.workbook: {error}") from error
    if not workbook.rows:
        problems = "; ".join(str(p) for p in workbook.problems) or "no rows"
        raise ConfigError(f"{loaded.path}: waves.workbook: {workbook_path}: {problems}")
    sources: list[Source] = []
    effector: Effector | None = None
    clock: Clock = WallClock()
    after_action = None
    if config.sources.sim.enabled:
        simulation, effector = build_simulation(config, loaded.path.parent, workbook)
        sources.append(simulation)
        clock = simulation
        # Show an action's effect at once, not at the next tick of the simulated clock.
        after_action = partial(simulation.simulator.advance, 0)
    notes = [f"workbook: {len(workbook.problems)} bad row(s), see ?"] if workbook.problems else []
    return ControlRoomApp(
        settings=room_settings(config, workbook),
        sources=sources,
        clock=clock,
        effector=effector,
        operator=operator_name(config, operator),
        ui=config.ui,
        actions=config.actions,
        read_only=read_only,
        after_action=after_action,
        notes=notes,
        workbook_problems=tuple(f"{workbook_path}: {p}" for p in workbook.problems),
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        loaded = load_config(find_config(args.config))
        app = build_app(loaded, read_only=args.read_only, operator=args.operator)
    except ConfigError as error:
        print(f"{PROG}: {error}", file=sys.stderr)
        return 2
    app.run(mouse=args.mouse or loaded.config.ui.mouse)
    return app.return_code or 0
