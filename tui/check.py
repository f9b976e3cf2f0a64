"""`maestro-control-room check`: the Go/No-Go verdict without a screen, for cron, CI and
Argo analysis. Exit 0 GO, 1 NO-GO, 2 UNKNOWN (or a configuration error)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import datetime
from typing import Any, TextIO

from ..cutover.done import done_report
from ..cutover.gate_report import report, table
from ..cutover.gates import ANSWERED_BY, PROBED_KINDS, CheckKind
from ..cutover.room import ControlRoom
from ..cutover.updates import HealthState
from .configfile import ConfigError, LoadedConfig, find_config, load_config
from .headless import every_source_answered, gather_view

PROG = "maestro-control-room check"
#: How long the command waits for every source's first answer.
DEFAULT_TIMEOUT = 20.0


def add_parser(commands: Any) -> None:
    """`check` under the main command's subcommands."""
    check = commands.add_parser(
        "check",
        help="evaluate the Go/No-Go gates and rollback triggers once; exit 0/1/2",
        description="Evaluate the Go/No-Go gates and the rollback triggers once and exit:"
        " 0 GO, 1 NO-GO, 2 UNKNOWN (a source unreachable or a check unknown).",
    )
    check.add_argument("--config", dest="check_config", metavar="PATH", help="the config file")
    check.add_argument("--json", action="store_true", help="print JSON rather than a table")
    check.add_argument("--gate", metavar="ID", help="evaluate one gate only (no triggers)")
    check.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"how long to wait for every source's first answer (default {DEFAULT_TIMEOUT:g})",
    )  # fmt: skip


def answered(room: ControlRoom) -> bool:
    """Every source has answered, and every check that a configured source can answer has
    what it needs: the verdict is not taken on a half-filled room."""
    return every_source_answered(room) and not waiting_for(room)


def waiting_for(room: ControlRoom) -> list[str]:
    """The checks still without an answer that some configured source can give."""
    sources = set(room.health)
    results = bool(room.verification.sources)
    have = {
        CheckKind.SMOKE: results,
        CheckKind.DEPLOY_EVIDENCE: results,
        CheckKind.SIGNOFF: bool(room.signoffs_source),
        CheckKind.ALERT_ABSENT: room.alerts_at is not None,
        CheckKind.ALERT_PRESENT: room.alerts_at is not None,
    }
    missing = []
    for gate in room.settings.gates:
        for check in gate.checks:
            if check.kind in PROBED_KINDS:
                has = check.key in room.gate_readings
            else:
                has = have.get(check.kind, True)
            if not has and sources & ANSWERED_BY.get(check.kind, frozenset()):
                missing.append(check.key)
    return missing


async def evaluate(loaded: LoadedConfig, args: argparse.Namespace) -> dict[str, object]:
    _, view = await gather_view(loaded, args.timeout, answered, context=args.context)
    board = view.gates
    if board is None:
        raise ConfigError(f"{loaded.path}: no gates to check")
    triggers = view.triggers
    if args.gate:
        known = [gate.spec.id for gate in board.gates]
        if args.gate not in known:
            raise ConfigError(
                f"{loaded.path}: no gate {args.gate!r}; the gates are {', '.join(known)}"
            )
        board = board.only(args.gate)
        triggers = ()
    unreachable = [h.source for h in view.health if h.state is not HealthState.CONNECTED]
    document = report(board, triggers, view.now, unreachable)
    if view.done is not None:
        # Beside the verdict, not part of it: the Definition of Done is for after go-live.
        document["definition_of_done"] = done_report(view.done)
    document["incidents"] = incident_figures(loaded, view.now)
    return document


def incident_figures(loaded: LoadedConfig, now: datetime) -> dict[str, object]:
    """MTTD, MTTA and MTTR of the shift (the handover's period back from now) and of the
    whole cutover, from the incident log the control room keeps."""
    from ..cutover.handover import records_end
    from ..cutover.incidents import figures, fold, in_period
    from ..sources.incident_log import IncidentLog, incident_log_path
    from .handover import journal_file

    incidents = fold(IncidentLog(incident_log_path(journal_file(loaded))).read())
    # On the room's clock, as the handover's period: a fresh simulator stands before them.
    end = records_end(now, (), incidents)
    shift = in_period(incidents, end - loaded.config.handover.period, end)
    return {"shift": figures(shift).as_json(), "cutover": figures(incidents).as_json()}


def run(
    args: argparse.Namespace, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """The `check` command: gather one view from the sources, print the verdict, exit with it."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    try:
        loaded = load_config(find_config(args.check_config or args.config))
        document = asyncio.run(evaluate(loaded, args))
    except ConfigError as error:
        print(f"{PROG}: {error}", file=err)
        return 2
    print(json.dumps(document, indent=2) if args.json else table(document), file=out)
    code = document["exit_code"]
    assert isinstance(code, int)
    return code
