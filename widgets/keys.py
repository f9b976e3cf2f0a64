"""The key line at the bottom: each dashboard key and what it does, as mapped now.

A single line drawn once, instead of Textual's Footer, which recomposes its key widgets
whenever focus moves (every `tab`, every help) and made those keys slow to answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import Static


def key_label(keys: str) -> str:
    """`question_mark` → `?`, `ctrl+p` → `^p`; the first of several keys."""
    first = keys.split(",")[0].strip()
    names = {"question_mark": "?", "slash": "/", "escape": "esc", "tab": "tab"}
    if first.startswith("ctrl+"):
        return "^" + first.removeprefix("ctrl+")
    return names.get(first, first)


class KeyHints(Static):
    """One line of `key description` pairs."""

    DEFAULT_CSS = """
    KeyHints {
        height: 1; background: $panel; color: $text; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """

    def show(self, keys: Sequence[tuple[str, str]]) -> None:
        line = Text(" ")
        for key, description in keys:
            line.append(key_label(key), style="bold")
            line.append(f" {description}  ", style="dim")
        self.update(line)
