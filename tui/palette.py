"""The command palette's provider: every action of the registry that has a palette title,
then what the room holds now (each wave, rollout, trigger, sign-off and KPI chart), each
named with its key as mapped. Textual's own system commands stay in their provider."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from .app import ControlRoomApp


@dataclass(frozen=True)
class PaletteCommand:
    """One line of the palette: its title, a second line, and what it does."""

    title: str
    help: str
    callback: Callable[[], object]


class ControlRoomCommands(Provider):
    """The control room's commands, found by any word of their titles."""

    def _commands(self) -> Sequence[PaletteCommand]:
        app = cast("ControlRoomApp", self.app)
        return app.palette_commands()

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.callback, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(command.title),
                    command.callback,
                    text=command.title,
                    help=command.help,
                )
