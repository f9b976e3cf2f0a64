"""What help lists: every key that works, by where it works, read from the bindings of the
dashboard, its widgets and its screens, so that help cannot miss a key or name a dead one."""

from __future__ import annotations

from collections.abc import Sequence

from textual.binding import Binding
from textual.dom import DOMNode

from tui.screens.audit import AuditScreen
from tui.screens.confirm import ConfirmScreen
from tui.screens.diagnostics import DiagnosticsScreen
from tui.screens.gates import GateScreen
from tui.screens.kpi_chart import KpiChartScreen
from widgets.eventlog import EventLog
from widgets.events import EventStream
from widgets.help import HelpRow
from widgets.keys import keys_label
from widgets.kpi import KpiRow
from widgets.table import KeyedTable


def binding_rows(where: str, node: type[DOMNode], skip: Sequence[str] = ()) -> list[HelpRow]:
    """Help rows for every key `node` (a widget or screen class) answers, its own and the
    ones it inherits (a board's PgUp comes from Textual's scrolling), one row per action."""
    by_action: dict[str, list[Binding]] = {}
    for bindings in node._merge_bindings().key_to_bindings.values():
        for binding in bindings:
            if not any(word in binding.action for word in skip):
                by_action.setdefault(binding.action, []).append(binding)
    rows = []
    for found in by_action.values():
        keys = " ".join(dict.fromkeys(keys_label(b.key) for b in found))
        first = found[0]
        rows.append(HelpRow(where, keys, first.tooltip or first.description, first.id or ""))
    return rows


def help_rows(dashboard: Sequence[tuple[str, str, str]], filter_key: str) -> list[HelpRow]:
    """`dashboard`'s (keys, action, id) rows as mapped now, then every other place's keys;
    `filter_key` is the event filter's key, as mapped."""
    stream = "In the event stream"
    confirm = "In a confirmation"
    return [
        *(HelpRow("Dashboard", keys, action, id) for keys, action, id in dashboard),
        *binding_rows("On a board (triggers, waves, rollouts)", KeyedTable, ("left", "right")),
        *binding_rows("On the KPI tiles (Tab to them)", KpiRow),
        *binding_rows("In a KPI history chart", KpiChartScreen),
        *binding_rows(stream, EventLog),
        *binding_rows(stream, EventStream),
        HelpRow(stream, "Enter", f"Keep the filter typed after {filter_key}"),
        *binding_rows("On the Go/No-Go board", GateScreen),
        *binding_rows(confirm, ConfirmScreen),
        HelpRow(confirm, "Enter", "Confirm, once the name typed matches"),
        HelpRow(confirm, "Tab", "Move between the reason and the name"),
        *binding_rows("In the audit journal", AuditScreen),
        *binding_rows("In diagnostics", DiagnosticsScreen),
        HelpRow("In help", "type", "Narrow this list to the keys that match"),
    ]
