"""One action registry: the bindings, the keymap's check, the key line, help and the palette
are all read from it, so none can name an action another does not know."""

from __future__ import annotations

import pytest
from textual.binding import Binding
from textual.command import CommandPalette

from maestro_control_room.cutover.action_registry import (
    KEYMAP_ACTIONS,
    REGISTRY,
    Action,
    Scope,
    keymap_problem,
)
from maestro_control_room.cutover.config import UiSection
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.bindings import CONTROL_ROOM_BINDINGS, REPLAY_BINDINGS
from maestro_control_room.tui.screens.dashboard import Dashboard
from maestro_control_room.tui.screens.gates import GateScreen
from tests.conftest import AppFactory
from tests.test_app import started


def test_every_binding_is_an_action_of_the_registry_and_every_action_is_bound() -> None:
    bound = [b for b in [*CONTROL_ROOM_BINDINGS, *REPLAY_BINDINGS] if isinstance(b, Binding)]
    screen = [b for b in GateScreen.BINDINGS if isinstance(b, Binding) and b.id == "sign_off"]
    ids = [binding.id for binding in [*bound, *screen]]
    assert sorted(ids) == sorted(action.id for action in REGISTRY)  # type: ignore[type-var]


@pytest.mark.parametrize("action", [a for a in REGISTRY if a.scope is not Scope.SCREEN])
def test_every_action_has_its_method_where_its_key_is_bound(action: Action) -> None:
    name = action.action.split("(")[0]
    owner = Dashboard if action.scope in (Scope.DASHBOARD, Scope.REPLAY) else ControlRoomApp
    assert callable(getattr(owner, f"action_{name}", None)), name


def test_the_keymap_knows_every_remappable_action_and_no_other() -> None:
    assert set(KEYMAP_ACTIONS) == {a.id for a in REGISTRY if a.scope is not Scope.REPLAY} - {
        "close_help"
    }
    assert UiSection(keymap={"sign_off": "X", "detail": "D"}).keymap["sign_off"] == "X"
    with pytest.raises(ValueError, match="unknown action"):
        UiSection(keymap={"replay_pause": "p"})
    assert "is also the key of" in keymap_problem({"freeze": "u"})
    assert "kept by the control room" in keymap_problem({"freeze": "escape"})
    assert keymap_problem({"freeze": "F", "unfreeze": "U"}) == ""


async def test_the_palette_provider_finds_the_rooms_commands(make_app: AppFactory) -> None:
    app = make_app(ui__keymap={"gates": "G"})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        assert isinstance(app.screen, CommandPalette)
        await pilot.press(*"go/no-go")
        palette = app.screen

        def shown() -> list[str]:
            options = palette.query_one("CommandList")
            return [str(options.get_option_at_index(i).prompt)  # type: ignore[attr-defined]
                    for i in range(options.option_count)]  # type: ignore[attr-defined]  # fmt: skip

        for _ in range(100):
            await pilot.pause(0.05)
            if any("Go/No-Go gates" in line for line in shown()):
                break
        assert any("Go/No-Go gates" in line and "G" in line for line in shown()), shown()
        await pilot.press("escape")
