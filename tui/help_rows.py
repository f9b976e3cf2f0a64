"""What help lists: every key that works, by where it works, read from the bindings of the
dashboard, its widgets and its screens, so that help cannot miss a key or name a dead one."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from textual.binding import Binding
from textual.dom import DOMNode

from ..widgets.eventlog import EventLog
from ..widgets.events import EventStream
from ..widgets.help import HelpRow
from ..widgets.keys import keys_label
from ..widgets.kpi import KpiRow
from ..widgets.table import KeyedTable
from .screens.audit import AuditScreen
from .screens.confirm import ConfirmScreen
from .screens.diagnostics import DiagnosticsScreen
from .screens.gates import GateScreen
from .screens.kpi_chart import KpiChartScreen


def binding_rows(
    where: str,
    node: type[DOMNode],
    skip: Sequence[str] = (),
    keymap: Mapping[str, str] | None = None,
) -> list[HelpRow]:
    """Help rows for every key `node` (a widget or screen class) answers, its own and the
    ones it inherits (a board's PgUp comes from Textual's scrolling), one row per action;
    a key the keymap moves (the gate screen's sign-off) as it is mapped."""
    keymap = keymap or {}
    by_action: dict[str, list[Binding]] = {}
    for bindings in node._merge_bindings().key_to_bindings.values():
        for binding in bindings:
            if not any(word in binding.action for word in skip):
                by_action.setdefault(binding.action, []).append(binding)
    rows = []
    for found in by_action.values():
        keys = " ".join(dict.fromkeys(keys_label(keymap.get(b.id or "", b.key)) for b in found))
        first = found[0]
        rows.append(HelpRow(where, keys, first.tooltip or first.description, first.id or ""))
    return rows


def help_rows(
    dashboard: Sequence[tuple[str, str, str]],
    key_for: Callable[[str], str],
    keymap: Mapping[str, str],
) -> list[HelpRow]:
    """`dashboard`'s (keys, action, id) rows as mapped now, then every other place's keys;
    `key_for` names a binding's key as mapped (`ControlRoomApp.key_for`), `keymap` is the
    remap itself."""
    stream = "In the event stream"
    confirm = "In a confirmation"
    return [
        *(HelpRow("Dashboard", keys, action, id) for keys, action, id in dashboard),
        *binding_rows("On a board (triggers, waves, rollouts)", KeyedTable, ("left", "right")),
        *binding_rows(f"On the KPI tiles ({key_for('next_board')} to them)", KpiRow),
        *binding_rows("In a KPI history chart", KpiChartScreen),
        *binding_rows(stream, EventLog),
        *binding_rows(stream, EventStream),
        HelpRow(stream, "Enter", f"Keep the filter typed after {key_for('filter_events')}"),
        *binding_rows("On the Go/No-Go board", GateScreen, keymap=keymap),
        *binding_rows(confirm, ConfirmScreen),
        HelpRow(confirm, "Enter", "Confirm, once the name typed matches"),
        HelpRow(confirm, "Tab", "Move between the reason and the name"),
        *binding_rows("In the audit journal", AuditScreen),
        *binding_rows("In diagnostics", DiagnosticsScreen),
        HelpRow("In help", "type", "Narrow this list to the keys that match"),
    ]
