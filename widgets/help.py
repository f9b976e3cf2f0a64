"""Help: every key and what it does, as currently mapped, drawn over the dashboard, with a
filter that narrows it to what is typed.

An overlay on the dashboard rather than a screen of its own: switching screens re-lays out
and repaints the whole dashboard when help closes, which made `?` slow to answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Static

from .keys import key_label, key_words


@dataclass(frozen=True)
class HelpRow:
    """One key in help: where it works, the keys as typed, what it does, its keymap id."""

    where: str
    keys: str
    action: str
    id: str = ""

    def matches(self, needle: str) -> bool:
        """Every word of `needle` is in the keys, their names, the action or the place."""
        haystack = f"{key_words(self.keys)} {self.action} {self.id} {self.where}".lower()
        return all(word in haystack for word in needle.lower().split())


def help_table(rows: Sequence[HelpRow]) -> Table | Text:
    if not rows:
        return Text("no key matches; Backspace to widen, Esc closes", style="italic")
    table = Table(box=None, padding=(0, 2), show_edge=False, expand=False)
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("action")
    table.add_column("keymap id", style="dim", no_wrap=True)
    where = ""
    for row in rows:
        if row.where != where:
            where = row.where
            # In the action column: the key column stays as narrow as its keys.
            table.add_row("", Text(where, style="bold underline"), "")
        table.add_row(row.keys, row.action, row.id)
    return table


class HelpFilter(Input):
    """Help's filter. The help key (`?`, or as mapped) into an empty filter closes help, as
    it opened it; after a word it is typed like any other character."""

    class Close(Message):
        """The help key with nothing typed: close help."""

    def __init__(self, close_key: str, *, placeholder: str, id: str) -> None:
        super().__init__(placeholder=placeholder, id=id)
        self.close_key = close_key

    async def _on_key(self, event: events.Key) -> None:
        # Ahead of Input's own handler, which would type the key (it is a character).
        if event.key == self.close_key and not self.value:
            event.stop()
            event.prevent_default()
            self.post_message(self.Close())


class HelpOverlay(VerticalScroll, can_focus=False):
    """Lists each key by where it works: its keys, its description and its keymap id.

    Its filter has the keyboard while it is open (type to narrow); Esc closes it through the
    app's own key and gives the keyboard back to the board that had it."""

    DEFAULT_CSS = """
    HelpOverlay {
        layer: overlay; dock: top; visibility: hidden;
        width: 100%; max-width: 100; height: auto; max-height: 100%;
        margin: 1 2 0 2; padding: 0 1;
        border: round $primary; background: $surface;
    }
    HelpOverlay.-open { visibility: visible; }
    HelpOverlay > #help-filter { height: 1; border: none; padding: 0 1; margin-bottom: 1; }
    HelpOverlay > .help-note { color: $text-muted; }
    """

    def __init__(self, *, help_key: str = "question_mark", id: str | None = None) -> None:
        """`help_key` is the help key as mapped (Textual's name): it closes help too."""
        super().__init__(id=id)
        self.help_key = help_key.split(",")[0].strip()
        self.rows: tuple[HelpRow, ...] = ()
        self.notes: tuple[str, ...] = ()
        self.needle = ""
        self._before: Widget | None = None

    def compose(self) -> ComposeResult:
        yield HelpFilter(
            self.help_key, placeholder="type to narrow: a key, its name or a word", id="help-filter"
        )
        yield Static("", id="help-keys", markup=False)
        yield Static("", id="help-notes", classes="help-note", markup=False)

    @property
    def is_open(self) -> bool:
        return self.has_class("-open")

    @property
    def shown(self) -> tuple[HelpRow, ...]:
        """The rows the filter lets through."""
        return tuple(row for row in self.rows if row.matches(self.needle))

    def open(self, rows: Sequence[HelpRow], notes: Sequence[str]) -> None:
        """Show the keys as they are mapped now, with notes on the mode and the config.

        Hidden, not removed from the layout, when closed: showing it again then needs no
        relayout, and its content is rendered again only when it changed."""
        if (tuple(rows), tuple(notes)) != (self.rows, self.notes):
            self.rows, self.notes = tuple(rows), tuple(notes)
            self._fill()
        self.add_class("-open")
        self._before = self.screen.focused
        self.query_one("#help-filter", Input).focus()

    @on(HelpFilter.Close)
    def _question_mark(self) -> None:
        self.close()

    @on(Input.Changed, "#help-filter")
    def _narrow(self, event: Input.Changed) -> None:
        self.needle = event.value.strip()
        self._fill()

    def _fill(self) -> None:
        self.query_one("#help-keys", Static).update(help_table(self.shown))
        closes = f"Esc (or {key_label(self.help_key)} with nothing typed) closes"
        footer = [*self.notes, f"{closes} · remap keys in [ui.keymap]"]
        self.query_one("#help-notes", Static).update("\n".join(footer))

    def close(self) -> None:
        self.remove_class("-open")
        field = self.query_one("#help-filter", Input)
        if field.value:
            field.value = ""
        if self._before is not None and self._before.is_attached:
            self._before.focus()
        elif field.has_focus:
            self.screen.set_focus(None)
        self._before = None
