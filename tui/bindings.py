"""The control room's keys. Each has an id (for `[ui.keymap]`) and a description."""

from __future__ import annotations

from collections.abc import Mapping

from textual.binding import Binding, BindingType

CONTROL_ROOM_BINDINGS: list[BindingType] = [
    Binding("f", "freeze", "Freeze", id="freeze",
            tooltip="Freeze: stop promotions, pause rollouts"),
    Binding("u", "unfreeze", "Unfreeze", id="unfreeze",
            tooltip="Unfreeze: resume only what the freeze paused"),
    Binding("p", "promote", "Promote", id="promote",
            tooltip="Promote the selected wave or rollout"),
    Binding("x", "abort", "Abort", id="abort",
            tooltip="Abort the selected rollout, or roll back the selected wave"),
    # A priority binding, so `tab` cycles the boards rather than every focusable widget;
    # on a confirmation screen the action is disabled and `tab` moves between its fields.
    Binding("tab", "next_board", "Next board", id="next_board", show=False, priority=True,
            tooltip="Move between the boards"),
    Binding("slash", "filter_events", "Filter", id="filter_events", key_display="/",
            tooltip="Filter the event stream"),
    Binding("v", "all_events", "All events", id="all_events", show=False,
            tooltip="List every build event, or only failures and platform events"),
    Binding("g", "gates", "Gates", id="gates",
            tooltip="Go/No-Go: the gate matrix and sign-offs"),
    Binding("enter", "detail", "Detail", id="detail", show=False,
            tooltip="The selected row in full: a trigger, a wave's repos, a rollout's steps"),
    Binding("A", "acknowledge", "Acknowledge", id="acknowledge", show=False,
            tooltip="Acknowledge the selected firing trigger: it keeps firing, the bell stops"),
    Binding("S", "silence", "Silence", id="silence", show=False,
            tooltip="Silence the selected alert trigger's alert in Alertmanager, or expire it"),
    Binding("a", "audit", "Audit", id="audit", tooltip="The audit journal and its chain"),
    Binding("question_mark", "help", "Help", id="help", key_display="?",
            tooltip="Show every key"),
    Binding("d", "diagnostics", "Diagnostics", id="diagnostics", show=False,
            tooltip="Diagnostics: message counters and rejected payloads"),
    Binding("h", "handover", "Handover", id="handover", show=False,
            tooltip="Write the shift handover to a file"),
    Binding("t", "smoke", "Smoke", id="smoke", show=False,
            tooltip="The smoke suite, the drills and the deploys (Enter: a test's runs)"),
    Binding("o", "done", "Done", id="done", show=False,
            tooltip="The Definition of Done in full, with every KPI's green streak"),
    Binding("r", "run_smoke", "Run smoke", id="run_smoke", show=False,
            tooltip="Dispatch the smoke suite's workflow (confirmed, journalled)"),
    Binding("n", "cd_dry_run", "CD dry run", id="cd_dry_run", show=False,
            tooltip="Dispatch the CD workflow's dry run, no_op=true (confirmed, journalled)"),
    Binding("q", "quit", "Quit", id="quit", tooltip="Quit the control room"),
    Binding("escape", "close_help", "Close help", id="close_help", show=False,
            tooltip="Close help"),
    Binding("ctrl+p", "command_palette", "Palette", id="command_palette", priority=True,
            show=False, tooltip="Command palette: every action by name"),
]  # fmt: skip

#: The keys of a replay, on top of the control room's (whose actions a replay refuses).
#: Priority bindings, so the arrows seek rather than move a board's cursor; off while the
#: event filter has the keyboard.
REPLAY_BINDINGS: list[BindingType] = [
    Binding("space", "replay_pause", "Pause", id="replay_pause", key_display="space",
            priority=True, tooltip="Pause or resume the replay"),
    Binding("left", "replay_seek(-60)", "Back 1m", id="replay_back", key_display="←",
            priority=True, tooltip="Seek back one minute of the recording"),
    Binding("right", "replay_seek(60)", "Forward 1m", id="replay_forward", key_display="→",
            priority=True, tooltip="Seek forward one minute of the recording"),
    Binding("shift+left", "replay_seek(-600)", "Back 10m", id="replay_back_far",
            key_display="⇧←", priority=True, show=False,
            tooltip="Seek back ten minutes of the recording"),
    Binding("shift+right", "replay_seek(600)", "Forward 10m", id="replay_forward_far",
            key_display="⇧→", priority=True, show=False,
            tooltip="Seek forward ten minutes of the recording"),
    Binding("left_square_bracket,minus", "replay_slower", "Slower", id="replay_slower",
            key_display="[", priority=True, tooltip="Replay slower (half the speed)"),
    Binding("right_square_bracket,plus", "replay_faster", "Faster", id="replay_faster",
            key_display="]", priority=True, tooltip="Replay faster (twice the speed)"),
]  # fmt: skip


#: The keymap's actions bound on a screen rather than the dashboard, with their default keys.
SCREEN_KEYS: dict[str, str] = {"sign_off": "s"}

#: Keys the control room keeps for itself, whatever the keymap says: the confirmation's
#: Enter, Escape (close, cancel, clear the filter), a board's cursor keys, Textual's quit.
RESERVED_KEYS: dict[str, str] = {
    "enter": "confirms an action",
    "escape": "closes a screen, cancels a confirmation and clears the filter",
    "up": "moves a board's cursor",
    "down": "moves a board's cursor",
    "k": "moves a board's cursor",
    "j": "moves a board's cursor",
    "home": "moves a board's cursor",
    "end": "moves a board's cursor",
    "ctrl+c": "is the terminal's interrupt",
    "ctrl+q": "quits (Textual)",
}


def keymap_problem(keymap: Mapping[str, str]) -> str:
    """Why `[ui.keymap]` cannot be used (`ui.keymap.KEY: ...`), or ''. Every key does one
    thing: two actions on one key, or a key the app keeps, would leave an action unreachable
    or a key doing what the operator did not mean (`freeze = "q"`)."""
    keys: dict[str, tuple[str, ...]] = {}
    for binding in CONTROL_ROOM_BINDINGS:
        assert isinstance(binding, Binding)
        action = binding.id or binding.action
        keys[action] = _keys(keymap.get(action, binding.key))
    # The gate screen's sign-off key, remappable too (see cutover.config.KEYMAP_ACTIONS).
    for action, default in SCREEN_KEYS.items():
        keys[action] = _keys(keymap.get(action, default))
    owner: dict[str, str] = {}
    for action, bound in keys.items():
        where = f"ui.keymap.{action}" if action in keymap else f"{action} (by default)"
        if not bound:
            return f"ui.keymap.{action}: expected a key such as 'f' or 'ctrl+f', got nothing"
        for key in bound:
            if action in keymap and not is_a_key(key):
                return (
                    f"{where}: {key!r} is not a key; expected a key such as 'f', 'f5', 'space'"
                    " or 'ctrl+f'"
                )
            if key in RESERVED_KEYS and action in keymap:
                return (
                    f"{where}: {key!r} is kept by the control room ({key} "
                    f"{RESERVED_KEYS[key]}); expected another key"
                )
            if key in owner:
                first, second = sorted((owner[key], action), key=lambda a: a not in keymap)
                return (
                    f"ui.keymap.{first}: {key!r} is also the key of {second}; expected each"
                    f" key to do one thing: remap {second} too, or choose another key"
                )
            owner[key] = action
    return ""


#: The modifiers a terminal can send with a key, as Textual names them.
MODIFIERS = frozenset({"ctrl", "shift", "alt", "meta", "super", "hyper"})


def is_a_key(key: str) -> bool:
    """Whether Textual can ever deliver `key`: a character, a named key (`f5`, `escape`), a
    character's name (`question_mark`), after modifiers; `zz` would bind nothing."""
    from textual.keys import REPLACED_KEYS, Keys, key_to_character

    *modifiers, name = key.split("+")
    if not name or any(modifier not in MODIFIERS for modifier in modifiers):
        return False
    named = {k.value for k in Keys if "+" not in k.value}
    if len(name) == 1 or name in named or name in REPLACED_KEYS:  # REPLACED_KEYS: "slash"
        return True
    return key_to_character(name) is not None


def _keys(spec: str) -> tuple[str, ...]:
    return tuple(key.strip() for key in spec.split(",") if key.strip())
