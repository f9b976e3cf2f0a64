"""`maestro-control-room incidents`: the incidents the control room recorded, with MTTD,
MTTA and MTTR for the period asked and the whole cutover. Reads the incident log beside the
audit journal; asks no source."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from typing import Any, TextIO

from ..cutover.handover import parse_since, records_end
from ..cutover.incidents import Incident, describe, figures, fold, in_period
from ..sources.incident_log import IncidentLog, incident_log_path
from .configfile import ConfigError, find_config, load_config
from .handover import journal_file

PROG = "maestro-control-room incidents"


def add_parser(commands: Any) -> None:
    """`incidents` under the main command's subcommands."""
    incidents = commands.add_parser(
        "incidents",
        help="list the incidents recorded, with MTTD, MTTA and MTTR",
        description="List each firing of a rollback trigger the control room recorded (onset,"
        " fired, acknowledged, mitigated, resolved, and by whom), with the mean times to"
        " detect, acknowledge and resolve for the period and for the whole cutover.",
    )
    incidents.add_argument("--json", action="store_true", help="print JSON rather than text")
    incidents.add_argument(
        "--since", metavar="TIME",
        help="only incidents from then on: an RFC 3339 time, a point of the plan such as"
        " T+1d, or a duration back from now such as 12h (default: all)",
    )  # fmt: skip
    incidents.add_argument(
        "--config", dest="incidents_config", metavar="PATH", help="the config file"
    )


def incident_json(incident: Incident) -> dict[str, object]:
    def at(moment: datetime | None) -> str | None:
        return None if moment is None else moment.isoformat().replace("+00:00", "Z")

    def who(moment: Any) -> dict[str, object] | None:
        if moment is None:
            return None
        return {"at": at(moment.at), "by": moment.by, "how": moment.detail or None}

    def seconds(span: Any) -> float | None:
        return None if span is None else round(span.total_seconds(), 3)

    return {
        "id": incident.id,
        "trigger": incident.trigger,
        "title": incident.title,
        "onset": at(incident.onset),
        "fired": at(incident.fired),
        "acknowledged": who(incident.acknowledged),
        "mitigated": who(incident.mitigated),
        "resolved": at(incident.resolved),
        "playbook": [
            {"step": kind.removeprefix("playbook "), **(who(moment) or {})}
            for kind, moment in incident.others
            if kind.startswith("playbook ")
        ],
        "time_to_detect_seconds": seconds(incident.time_to_detect),
        "time_to_acknowledge_seconds": seconds(incident.time_to_acknowledge),
        "time_to_resolve_seconds": seconds(incident.time_to_resolve),
    }


def report(
    incidents: tuple[Incident, ...], since: datetime | None, now: datetime
) -> dict[str, object]:
    """The incidents of the period and the figures, as `--json` prints them."""
    period = in_period(incidents, since, now)
    return {
        "since": None if since is None else since.isoformat().replace("+00:00", "Z"),
        "incidents": [incident_json(i) for i in period],
        "period": figures(period).as_json(),
        "cutover": figures(incidents).as_json(),
    }


def text(incidents: tuple[Incident, ...], since: datetime | None, now: datetime) -> str:
    period = in_period(incidents, since, now)
    lines = [describe(i) for i in period] or ["No incident recorded in the period."]
    lines += ["", f"period:  {figures(period).line()}", f"cutover: {figures(incidents).line()}"]
    return "\n".join(lines)


def run(
    args: argparse.Namespace, *, stdout: TextIO | None = None, stderr: TextIO | None = None
) -> int:
    """The `incidents` command: 0, or 2 for a configuration error."""
    out, err = stdout or sys.stdout, stderr or sys.stderr
    now = datetime.now(timezone.utc)
    try:
        loaded = load_config(find_config(args.incidents_config or args.config))
        if args.since:
            parse_since(args.since, now, loaded.config.cutover.go_live)  # said before reading
    except (ConfigError, ValueError) as error:
        print(f"{PROG}: {error}", file=err)
        return 2
    incidents = fold(IncidentLog(incident_log_path(journal_file(loaded))).read())
    # Recorded on the room's clock, which with the simulator alone runs ahead of the wall;
    # a duration back counts from there, as the handover's does.
    until = records_end(now, (), incidents)
    go_live = loaded.config.cutover.go_live
    since = parse_since(args.since, until, go_live) if args.since else None
    if args.json:
        print(json.dumps(report(incidents, since, until), indent=2), file=out)
    else:
        print(text(incidents, since, until), file=out)
    return 0
