"""What the detail screens share: a modal over the dashboard that shows one row in full and
is shown again from every view while it is open."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Generic, TypeVar

from textual.binding import Binding
from textual.screen import ModalScreen

from ...cutover.room import RoomView

D = TypeVar("D")


def at(moment: datetime | None) -> str:
    """A moment on the room's clock, to the second; — when not known."""
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S}"


class DetailScreen(ModalScreen[None], Generic[D]):
    """One row in full. `detail_of` makes the detail from a view (None once the row is
    gone); the app hands every view to `show_view` while the screen is open."""

    BINDINGS = [Binding("escape", "close", "Close", id="close-detail")]

    DEFAULT_CSS = """
    DetailScreen { align: center middle; }
    DetailScreen > .detail-body {
        width: 100%; height: 100%; border: thick $primary; background: $surface;
        padding: 0 1;
    }
    DetailScreen .detail-title { text-style: bold; background: $boost; }
    DetailScreen .detail-hint { color: $text-muted; }
    """

    def __init__(self, detail: D, now: datetime, detail_of: Callable[[RoomView], D | None]):
        super().__init__()
        self.detail = detail
        self.now = now
        self.detail_of = detail_of

    def on_mount(self) -> None:
        self.show(self.detail, self.now)

    def show_view(self, view: RoomView) -> None:
        """Show the row again as of `view`; a row no longer on its board keeps its last."""
        detail = self.detail_of(view)
        if detail is None:
            return
        if not self.is_mounted:  # pushed, not yet composed: on_mount shows the latest
            self.detail, self.now = detail, view.now
            return
        self.show(detail, view.now)

    def show(self, detail: D, now: datetime) -> None:
        self.detail, self.now = detail, now

    def action_close(self) -> None:
        self.dismiss(None)
