"""Keys as a person types them, and the key line at the bottom: each dashboard key and what
it does, as mapped now.

The key line is a single line drawn once, instead of Textual's Footer, which recomposes its
key widgets whenever focus moves (every `tab`, every help) and made those keys slow to answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

#: Textual's key names → what is written on the key.
KEY_NAMES = {
    "question_mark": "?",
    "slash": "/",
    "escape": "Esc",
    "tab": "Tab",
    "enter": "Enter",
    "up": "↑",
    "down": "↓",
    "left": "←",
    "right": "→",
    "pageup": "PgUp",
    "pagedown": "PgDn",
    "home": "Home",
    "end": "End",
    "space": "Space",
    "minus": "-",
    "plus": "+",
    "left_square_bracket": "[",
    "right_square_bracket": "]",
    "backspace": "Backspace",
    "delete": "Del",
}
MODIFIERS = {"ctrl": "Ctrl+", "shift": "⇧", "alt": "Alt+"}
#: The words a person may type to find a key in help.
KEY_WORDS = {
    "↑": "up arrow",
    "↓": "down arrow",
    "←": "left arrow",
    "→": "right arrow",
    "PgUp": "page up pageup",
    "PgDn": "page down pagedown",
    "Esc": "escape",
    "Enter": "return",
    "/": "slash",
    "?": "question mark",
    "Space": "spacebar",
}


def one_key(key: str) -> str:
    """`question_mark` → `?`, `ctrl+p` → `Ctrl+P`, `shift+left` → `⇧←`."""
    *modifiers, name = key.strip().split("+")
    shown = KEY_NAMES.get(name, name)
    if modifiers and len(shown) == 1:
        shown = shown.upper()
    return "".join(MODIFIERS.get(m, m + "+") for m in modifiers) + shown


def key_label(keys: str) -> str:
    """The first of a binding's keys, as typed."""
    return one_key(keys.split(",")[0])


def keys_label(keys: str) -> str:
    """Every key of a binding, as typed: `up,k` → `↑ k`."""
    return " ".join(one_key(key) for key in keys.split(",") if key.strip())


def key_words(label: str) -> str:
    """The label and the words for its keys, for a search to find."""
    return " ".join([label, *(KEY_WORDS.get(part, "") for part in label.split())])


class KeyHints(Static):
    """One line of `key description` pairs; those that do not fit are left off, whole."""

    DEFAULT_CSS = """
    KeyHints {
        height: 1; background: $panel; color: $text; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self._keys: tuple[tuple[str, str], ...] = ()
        self._more = "?"

    def show(self, keys: Sequence[tuple[str, str]], more: str = "?") -> None:
        """`keys` as (keys, description); `more` is the key for help, which lists the rest."""
        self._keys = tuple(keys)
        self._more = key_label(more)
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        width = self.size.width or 200
        line = Text(" ")
        pairs = [(key_label(key), description) for key, description in self._keys]
        help_shown = False
        for index, (key, description) in enumerate(pairs):
            part = f"{key} {description}  "
            # Keep room for the help key: it lists whatever is left off.
            rest = 0 if index == len(pairs) - 1 or help_shown else cell_len(f"{self._more} more")
            if line.cell_len + cell_len(part) + rest > width:
                if not help_shown:  # once the help key is on the line, it says it already
                    line.append(f"{self._more} ", style="bold")
                    line.append("more", style="dim")
                break
            help_shown = help_shown or key == self._more
            line.append(key, style="bold")
            line.append(f" {description}  ", style="dim")
        self.update(line)
