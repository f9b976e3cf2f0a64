"""The control room's key bindings, made from the action registry
(cutover/action_registry.py): a new key is added there, not here. Each binding has the
action's id (for `[ui.keymap]`) and its description."""

from __future__ import annotations

from textual.binding import Binding, BindingType

from ..cutover.action_registry import (
    BY_ID,
    CONTROL_ROOM,
    REGISTRY,
    REPLAY,
    RESERVED_KEYS,
    Action,
    Scope,
    is_a_key,
    keymap_problem,
)

__all__ = [
    "APP_BINDINGS",
    "CONTROL_ROOM_BINDINGS",
    "DASHBOARD_BINDINGS",
    "REPLAY_BINDINGS",
    "RESERVED_KEYS",
    "SCREEN_KEYS",
    "binding",
    "is_a_key",
    "keymap_problem",
    "replay_key_rows",
]


def binding(action: Action | str) -> Binding:
    """The Textual binding of an action (or of the action with that id)."""
    action = BY_ID[action] if isinstance(action, str) else action
    return Binding(
        action.key,
        action.action,
        action.description,
        show=action.shown,
        key_display=action.key_display,
        priority=action.priority,
        tooltip=action.tooltip,
        id=action.id,
    )


CONTROL_ROOM_BINDINGS: list[BindingType] = [binding(action) for action in CONTROL_ROOM]
#: On the dashboard screen: its own keys, and a replay's (off unless a recording plays).
DASHBOARD_BINDINGS: list[BindingType] = [
    binding(action) for action in REGISTRY if action.scope in (Scope.DASHBOARD, Scope.REPLAY)
]
#: On the App, whichever screen is open: quit, the palette, closing help, the dispatches.
APP_BINDINGS: list[BindingType] = [
    binding(action) for action in REGISTRY if action.scope in (Scope.APP, Scope.DISPATCH)
]
#: The keys of a replay, on top of the control room's (whose actions a replay refuses).
REPLAY_BINDINGS: list[BindingType] = [binding(action) for action in REPLAY]
#: The keymap's actions bound on a screen rather than the dashboard, with their default keys.
SCREEN_KEYS: dict[str, str] = {a.id: a.key for a in REGISTRY if a.scope is Scope.SCREEN}


def replay_key_rows() -> list[tuple[str, str, str]]:
    """Help's rows for a replay's own keys: (keys as shown, what they do, id)."""
    rows = []
    for action in REPLAY:
        shown = action.key_display or action.key
        if "," in action.key:
            shown += " " + action.key.split(",", 1)[1].replace("minus", "-").replace("plus", "+")
        rows.append((shown, action.tooltip, action.id))
    return rows
