"""`check`'s output: the Go/No-Go board and the rollback triggers, as a table or as JSON.

The JSON is a stable interface for cron jobs, CI and Argo analysis: keys are fixed, lists
keep the matrix's order, and `format` says which version of it this is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from .gates import GoNoGo, Verdict, with_triggers
from .kpis import format_value
from .triggers import TriggerStatus

FORMAT = "maestro-control-room/check/v1"


def overall(board: GoNoGo, triggers: Sequence[TriggerStatus]) -> Verdict:
    return with_triggers(board, (t.state.value for t in triggers))


def trigger_value(status: TriggerStatus) -> str:
    if status.spec.alertname:
        return "—" if status.value is None else ("active" if status.value else "clear")
    return format_value(status.value, status.spec.unit)


def report(
    board: GoNoGo, triggers: Sequence[TriggerStatus], at: datetime, unreachable: Sequence[str]
) -> dict[str, Any]:
    """The whole evaluation as a JSON-able document."""
    verdict = overall(board, triggers)
    return {
        "format": FORMAT,
        "at": at.isoformat(),
        "verdict": verdict.value,
        "exit_code": verdict.exit_code,
        "unreachable_sources": list(unreachable),
        "gates": [
            {
                "id": gate.spec.id,
                "title": gate.spec.title,
                "state": gate.state.value,
                "checks": [
                    {
                        "id": check.spec.id,
                        "title": check.spec.title,
                        "kind": check.spec.kind.value,
                        "required": check.spec.required,
                        "state": check.state.value,
                        "value": check.value,
                        "criterion": check.spec.criterion,
                        "reason": check.reason,
                        "source": check.source,
                    }
                    for check in gate.checks
                ],
            }
            for gate in board.gates
        ],
        "signoffs": {
            role: {"by": s.by, "at": s.at.isoformat() if s.at else None, "note": s.note}
            for role, s in sorted(board.signoffs.by_role.items())
        },
        "triggers": [
            {
                "id": t.spec.id,
                "title": t.spec.title,
                "state": t.state.value,
                "value": trigger_value(t),
                "reason": t.reason,
            }
            for t in triggers
        ],
        "blockers": list(board.blocker_lines())
        + [f"trigger {t.spec.title}: {t.state.value}" for t in triggers if t.alarming],
    }


def table(document: dict[str, Any]) -> str:
    """The report as plain text: the verdict first, then each gate and trigger."""
    lines = [f"Go/No-Go: {document['verdict']}  (at {document['at']})"]
    if document["unreachable_sources"]:
        lines.append("unreachable: " + ", ".join(document["unreachable_sources"]))
    rows: list[tuple[str, ...]] = []
    for gate in document["gates"]:
        rows.append((f"{gate['id']} {gate['title']}", gate["state"].upper(), "", ""))
        for check in gate["checks"]:
            optional = "" if check["required"] else " (optional)"
            rows.append(
                ("  " + check["title"] + optional, check["state"], check["value"],
                 check["reason"] or check["criterion"])
            )  # fmt: skip
    if document["triggers"]:
        rows.append(("Rollback triggers", "", "", ""))
        for trigger in document["triggers"]:
            rows.append(("  " + trigger["title"], trigger["state"], trigger["value"],
                         trigger["reason"]))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)]
        lines.append("  ".join([*cells, row[3]]).rstrip())
    if document["blockers"]:
        lines.append("Blocking:")
        lines += [f"  - {blocker}" for blocker in document["blockers"]]
    done = document.get("definition_of_done")
    if isinstance(done, dict):
        lines.append(str(done["line"]))
    return "\n".join(lines)
