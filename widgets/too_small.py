"""What the screen says below the smallest size its layout holds at."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

#: The smallest terminal every panel and every status word fits in.
MIN_WIDTH, MIN_HEIGHT = 80, 24


def too_small_text(width: int, height: int, quit_key: str = "q") -> Text:
    text = Text(justify="center")
    text.append("The control room needs at least ", style="bold")
    text.append(f"{MIN_WIDTH}×{MIN_HEIGHT}", style="bold reverse")
    text.append("\n")
    text.append(f"This terminal is {width}×{height}: ")
    wants = []
    if width < MIN_WIDTH:
        wants.append(f"{MIN_WIDTH - width} more columns")
    if height < MIN_HEIGHT:
        wants.append(f"{MIN_HEIGHT - height} more rows")
    text.append(" and ".join(wants) + ".\n")
    text.append(f"Enlarge the window or make the font smaller; {quit_key} quits.", style="dim")
    return text


class TooSmall(Static):
    """Covers the dashboard while the terminal is smaller than `MIN_WIDTH`×`MIN_HEIGHT`;
    shown by the screen's `-too-narrow` / `-too-short` classes."""

    DEFAULT_CSS = """
    TooSmall {
        layer: overlay; dock: top; display: none;
        width: 100%; height: 100%; content-align: center middle;
        background: $background; color: $text;
    }
    """

    def __init__(self, *, quit_key: str = "q", id: str | None = None) -> None:
        super().__init__(id=id)
        self.quit_key = quit_key

    def render(self) -> Text:
        width, height = self.app.size
        return too_small_text(width, height, self.quit_key)

    def on_resize(self) -> None:
        self.refresh()
