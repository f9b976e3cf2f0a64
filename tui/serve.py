"""`maestro-control-room serve`: the control room in a browser, through textual-serve.

Every browser session runs its own control room as a subprocess whose command line carries
`--read-only`: a browser can watch, never act. The view has no login of its own, so it
listens on loopback unless told otherwise, and is reached through an SSH tunnel.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from .configfile import ConfigError, find_config, load_config

PROG = "maestro-control-room serve"
#: The folder `maestro_control_room` is imported from (a checkout or site-packages): served
#: sessions run this very code.
CODE_ROOT = Path(__file__).parent.parent.parent


def is_loopback(host: str) -> bool:
    """`localhost`, 127.0.0.0/8 or ::1."""
    if host.lower().rstrip(".") == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def url_host(host: str) -> str:
    """The host as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def served_command(config: Path, *, operator: str | None = None, context: str | None = None) -> str:
    """The shell command each browser session runs: the control room, read-only, on the
    config this server was started with."""
    argv = [
        sys.executable,
        "-m",
        "maestro_control_room",
        "--read-only",
        "--config",
        str(config.resolve()),
    ]
    if operator:
        argv += ["--operator", operator]
    if context:
        argv += ["--context", context]
    return shlex.join(argv)


def _port(text: str) -> int:
    port = int(text)
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (1 to 65535)")
    return port


def add_parser(commands: Any) -> None:
    """`serve` under the main command's subcommands."""
    described = (
        "Serve the control room to a browser, always read-only. Listens on 127.0.0.1 by"
        " default: reach it through an SSH tunnel (ssh -L 8566:127.0.0.1:8566 HOST)."
    )
    serve = commands.add_parser(
        "serve", help="the control room in a browser, read-only", description=described
    )
    serve.add_argument("--host", help="the address to listen on (default: [serve] host)")
    serve.add_argument(
        "--port", type=_port, help="the port to listen on (default: [serve] port, 8566)"
    )
    serve.add_argument("--config", dest="serve_config", metavar="PATH", help="the config file")
    serve.add_argument(
        "--public-url", metavar="URL",
        help="the address the browser uses, when it is not http://HOST:PORT"
        " (a tunnel's other local port, a reverse proxy)",
    )  # fmt: skip
    serve.add_argument(
        "--allow-remote", action="store_true",
        help="listen on an address other than loopback; the view has no authentication",
    )  # fmt: skip


def run(args: argparse.Namespace, *, stderr: TextIO | None = None) -> int:
    """The `serve` command: check the config and the address, then serve until interrupted."""
    err = stderr or sys.stderr
    from .composition import room_parts

    try:
        path = find_config(args.serve_config or args.config)
        loaded = load_config(path)
        # What every session would fail on, said once here rather than in each browser.
        room_parts(loaded, args.context)
    except ConfigError as error:
        print(f"{PROG}: {error}", file=err)
        return 2
    section = loaded.config.serve
    host = args.host or section.host
    port = args.port or section.port
    if not is_loopback(host):
        if not args.allow_remote:
            print(
                f"{PROG}: {host} is not a loopback address. The browser view has no"
                " authentication: anyone who reaches the port sees the cutover. Reach it"
                " through an SSH tunnel instead (ssh -L"
                f" {port}:127.0.0.1:{port} HOST), or give --allow-remote to listen on"
                f" {host} regardless.",
                file=err,
            )
            return 2
        print(f"{PROG}: listening on {host} without authentication (--allow-remote)", file=err)
    from .serve_sessions import SessionServer

    # The sessions run this code, wherever the server was started from.
    os.environ["PYTHONPATH"] = os.pathsep.join(
        part for part in (str(CODE_ROOT), os.environ.get("PYTHONPATH", "")) if part
    )
    command = served_command(path, operator=args.operator, context=args.context)
    # Its sessions end with their page and with `serve` (tui/serve_sessions.py).
    server = SessionServer(
        command,
        host=host,
        port=port,
        title=f"{loaded.config.cutover.name} · read-only",
        public_url=args.public_url or section.public_url or f"http://{url_host(host)}:{port}",
    )
    try:
        server.serve()
    except OSError as error:
        print(f"{PROG}: cannot listen on {host}:{port}: {error.strerror or error}", file=err)
        return 2
    return 0
