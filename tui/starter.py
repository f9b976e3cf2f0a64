"""`demo` and `init`: the packaged simulator configuration, run or written out.

The package carries the simulator's configuration (`config.toml`, the repository's default),
its workbook and its scenarios, so an installed copy runs the demo from any directory and
writes a starter configuration to edit.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from .configfile import ENV_VAR

#: The `maestro_control_room` package folder, in a checkout or in site-packages.
PACKAGE_DIR = Path(__file__).parent.parent
DEMO_CONFIG = PACKAGE_DIR / "config.toml"
DEMO_WORKBOOK = PACKAGE_DIR / "sources" / "sim" / "data" / "workbook.csv"
#: The workbook line of the packaged configuration, relative to the package.
_WORKBOOK_LINE = re.compile(r'^workbook = "sources/sim/data/workbook\.csv"$', re.M)


def add_parsers(commands: Any) -> None:
    commands.add_parser(
        "demo",
        help="run the control room on the built-in simulator (the packaged configuration)",
        description="Run the control room against the built-in simulator with the packaged"
        " configuration, from any directory. The global options (--read-only, --operator,"
        " --record) apply.",
    )
    init = commands.add_parser(
        "init",
        help="write the commented starter configuration (init [PATH])",
        description="Write the commented starter configuration: the simulator's, every"
        " section documented, ready to point at Prometheus, MQTT, Alertmanager and a"
        " cluster. An existing file is never overwritten.",
    )
    init.add_argument(
        "path", nargs="?", metavar="PATH",
        help="where to write it (default: $XDG_CONFIG_HOME/maestro-control-room/config.toml)",
    )  # fmt: skip


def default_config_path(environ: Mapping[str, str] | None = None) -> Path:
    """Where `init` writes and where the control room looks last for its configuration."""
    env = os.environ if environ is None else environ
    xdg = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return xdg / "maestro-control-room" / "config.toml"


def starter_text() -> str:
    """The packaged configuration with its workbook named by absolute path, since the
    written file no longer sits beside the package's workbook."""
    text = DEMO_CONFIG.read_text(encoding="utf-8")
    workbook = str(DEMO_WORKBOOK.resolve()).replace("\\", "/")
    header = (
        "# Written by `maestro-control-room init`. It runs the built-in simulator as it is;\n"
        "# [waves] workbook names the simulator's example workbook in the installed package:\n"
        "# point it at the cutover's own.\n\n"
    )
    return header + _WORKBOOK_LINE.sub(f'workbook = "{workbook}"', text, count=1)


def run_init(
    args: argparse.Namespace, prog: str, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    """The `init` command: 0 written, 1 already there, 2 cannot write."""
    out = out or sys.stdout
    err = err or sys.stderr
    path = Path(args.path).expanduser() if args.path else default_config_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a file where a folder should be, or no permission
        print(f"{prog} init: cannot write {path}: {error.strerror or error}", file=err)
        return 2
    try:
        # "x": never overwrite a file, nor follow a link, whatever is there.
        with path.open("x", encoding="utf-8") as handle:
            handle.write(starter_text())
    except FileExistsError:
        print(f"{prog} init: {path} exists; it is left as it is", file=err)
        return 1
    except OSError as error:
        print(f"{prog} init: cannot write {path}: {error.strerror or error}", file=err)
        return 2
    print(f"wrote {path}", file=out)
    found = "" if args.path is None else f" --config {path}"
    print(
        f"run it with `{prog}{found}`; ${ENV_VAR} or --config name another file",
        file=out,
    )
    return 0
