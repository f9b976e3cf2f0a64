"""Every action of the control room, named once.

The key bindings (tui/bindings.py), the keymap's validation (`[ui.keymap]` in
cutover/config.py), the key line, help and the command palette are all read from `REGISTRY`,
so an action cannot be bound but missing from help, or remappable but unknown to the palette.

A new action is one `Action` here, and an `action_<id>` method where it works (the App, the
dashboard, or the screen that binds it, for `Scope.SCREEN`). Its key is written into text by
asking the live keymap (`ControlRoomApp.key_for(id)`), never as a letter, so a remap reads
right everywhere. Pure data: no Textual here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum


class Scope(str, Enum):
    """Where an action's key works."""

    #: On the dashboard only: off while another screen (or the confirmation) is open.
    DASHBOARD = "dashboard"
    #: On the dashboard and on the smoke screen (the dispatches).
    DISPATCH = "dispatch"
    #: Everywhere (quit, the palette, closing help).
    APP = "app"
    #: Bound by one screen, which the action belongs to (the gate screen's sign-off).
    SCREEN = "screen"
    #: A replay's own keys: off unless a recording feeds the room; not remappable.
    REPLAY = "replay"


@dataclass(frozen=True)
class Action:
    """One action: its id (the keymap's name and the `action_<id>` method), its default
    key(s) in Textual's names, the key line's word, help's line, and the palette's title."""

    id: str
    key: str
    description: str
    tooltip: str
    scope: Scope = Scope.DASHBOARD
    #: The palette's title; '' keeps it out of the palette.
    palette: str = ""
    #: The palette's second line; '' shows the action's key there.
    palette_help: str = ""
    #: Changes the cutover: refused read-only, and then left off the key line.
    acts: bool = False
    #: On the key line at the bottom.
    shown: bool = True
    priority: bool = False
    key_display: str | None = None
    #: Textual's action string, when it is not the id (`replay_seek(-60)`).
    call: str = ""
    #: `[ui.keymap]` may move it (Escape closing help stays Escape).
    remappable: bool = True

    @property
    def action(self) -> str:
        return self.call or self.id


REGISTRY: tuple[Action, ...] = (
    Action("freeze", "f", "Freeze", "Freeze: stop promotions, pause rollouts", acts=True,
           palette="Freeze the cutover", palette_help="Stop promotions, pause rollouts"),
    Action("unfreeze", "u", "Unfreeze", "Unfreeze: resume only what the freeze paused",
           acts=True, palette="Unfreeze the cutover",
           palette_help="Resume what the freeze paused"),
    Action("promote", "p", "Promote", "Promote the selected wave or rollout", acts=True,
           palette="Promote the selected wave or rollout"),
    Action("abort", "x", "Abort", "Abort the selected rollout, or roll back the selected wave",
           acts=True, palette="Abort the selected rollout / roll back the selected wave"),
    # A priority binding, so `tab` cycles the boards rather than every focusable widget;
    # on a confirmation screen the action is disabled and `tab` moves between its fields.
    Action("next_board", "tab", "Next board", "Move between the boards", shown=False,
           priority=True, palette="Next board"),
    Action("filter_events", "slash", "Filter", "Filter the event stream", key_display="/",
           palette="Filter events: search the event stream"),
    Action("all_events", "v", "All events",
           "List every build event, or only failures and platform events", shown=False,
           palette="Show every build event, or only failures"),
    Action("gates", "g", "Gates", "Go/No-Go: the gate matrix and sign-offs",
           palette="Go/No-Go gates: the gate matrix and sign-offs"),
    Action("detail", "enter", "Detail",
           "The selected row in full: a trigger, a wave's repos, a rollout's steps",
           shown=False, palette="Detail: the selected trigger, wave or rollout in full"),
    Action("acknowledge", "A", "Acknowledge",
           "Acknowledge the selected firing trigger: it keeps firing, the bell stops",
           acts=True, shown=False, palette="Acknowledge the selected firing trigger"),
    Action("silence", "S", "Silence",
           "Silence the selected alert trigger's alert in Alertmanager, or expire it",
           acts=True, shown=False,
           palette="Silence the selected alert trigger, or expire its silence"),
    Action("playbook", "b", "Playbook",
           "The rollback playbook: its seven steps as a run, taken one by one", shown=False,
           palette="Rollback playbook: the seven steps as a run"),
    Action("audit", "a", "Audit", "The audit journal and its chain",
           palette="Audit journal: who did what, and its hash chain"),
    Action("help", "question_mark", "Help", "Show every key", key_display="?",
           palette="Help: every key"),
    Action("diagnostics", "d", "Diagnostics",
           "Diagnostics: message counters and rejected payloads", shown=False,
           palette="Diagnostics: message counters and rejected payloads"),
    Action("handover", "h", "Handover", "Write the shift handover to a file", shown=False,
           palette="Write the shift handover"),
    Action("smoke", "t", "Smoke",
           "The smoke suite, the drills and the deploys (Enter: a test's runs)", shown=False,
           palette="Smoke suite, drills and deploys"),
    Action("done", "o", "Done", "The Definition of Done in full, with every KPI's green streak",
           shown=False,
           palette="Definition of Done: Tier-0/1, rollback, SLO streaks, sign-offs"),
    Action("run_smoke", "r", "Run smoke",
           "Dispatch the smoke suite's workflow (confirmed, journalled)", shown=False,
           scope=Scope.DISPATCH,
           palette="Run the smoke suite: workflow_dispatch of the smoke workflow"),
    Action("cd_dry_run", "n", "CD dry run",
           "Dispatch the CD workflow's dry run, no_op=true (confirmed, journalled)",
           shown=False, scope=Scope.DISPATCH,
           palette="CD dry run: workflow_dispatch of cd.yml with no_op=true"),
    Action("quit", "q", "Quit", "Quit the control room", scope=Scope.APP),
    Action("close_help", "escape", "Close help", "Close help", shown=False, scope=Scope.APP,
           remappable=False),
    Action("command_palette", "ctrl+p", "Palette", "Command palette: every action by name",
           priority=True, shown=False, scope=Scope.APP),
    Action("sign_off", "s", "Sign / withdraw",
           "Sign off the selected role, or withdraw its sign-off", scope=Scope.SCREEN),
    # A replay's keys: priority bindings, so the arrows seek rather than move a board's
    # cursor; off while the event filter has the keyboard.
    Action("replay_pause", "space", "Pause", "Pause or resume the replay",
           scope=Scope.REPLAY, priority=True, key_display="space"),
    Action("replay_back", "left", "Back 1m", "Seek back one minute of the recording",
           scope=Scope.REPLAY, priority=True, key_display="←", call="replay_seek(-60)"),
    Action("replay_forward", "right", "Forward 1m", "Seek forward one minute of the recording",
           scope=Scope.REPLAY, priority=True, key_display="→", call="replay_seek(60)"),
    Action("replay_back_far", "shift+left", "Back 10m", "Seek back ten minutes of the recording",
           scope=Scope.REPLAY, priority=True, key_display="⇧←", shown=False,
           call="replay_seek(-600)"),
    Action("replay_forward_far", "shift+right", "Forward 10m",
           "Seek forward ten minutes of the recording", scope=Scope.REPLAY, priority=True,
           key_display="⇧→", shown=False, call="replay_seek(600)"),
    Action("replay_slower", "left_square_bracket,minus", "Slower",
           "Replay slower (half the speed)", scope=Scope.REPLAY, priority=True,
           key_display="["),
    Action("replay_faster", "right_square_bracket,plus", "Faster",
           "Replay faster (twice the speed)", scope=Scope.REPLAY, priority=True,
           key_display="]"),
)  # fmt: skip

BY_ID: Mapping[str, Action] = {action.id: action for action in REGISTRY}

#: Every key the keymap's check looks at: every action but a replay's.
BOUND: tuple[str, ...] = tuple(a.id for a in REGISTRY if a.scope is not Scope.REPLAY)
#: What `[ui.keymap]` may remap.
KEYMAP_ACTIONS: tuple[str, ...] = tuple(a for a in BOUND if BY_ID[a].remappable)
#: The actions that change the cutover: refused read-only.
ACTING: frozenset[str] = frozenset(a.id for a in REGISTRY if a.acts)
#: The control room's own keys, bound on the App (not a screen's, not a replay's).
CONTROL_ROOM: tuple[Action, ...] = tuple(
    a for a in REGISTRY if a.scope in (Scope.DASHBOARD, Scope.DISPATCH, Scope.APP)
)
#: A replay's keys, on top of the control room's (whose actions a replay refuses).
REPLAY: tuple[Action, ...] = tuple(a for a in REGISTRY if a.scope is Scope.REPLAY)


def keys_of(action_id: str, keymap: Mapping[str, str]) -> str:
    """An action's keys now, in Textual's names (`question_mark`); '' for no such action."""
    if action_id in keymap:
        return keymap[action_id]
    action = BY_ID.get(action_id)
    return action.key if action is not None else ""


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
    keys = {action: _keys(keys_of(action, keymap)) for action in BOUND}
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
    # Textual's own table of key names, read only when a keymap remaps a key.
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
