"""Help lists every key as a person types it, and narrows to what is typed; the palette
finds an action by any word of it; key letters in text follow the keymap."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.fuzzy import Matcher
from textual.widgets import Static

from maestro_control_room.widgets.header import HealthRow
from maestro_control_room.widgets.help import HelpOverlay, HelpRow
from maestro_control_room.widgets.keys import KEY_WORDS, KeyHints, keys_label
from tests.conftest import AppFactory
from tests.test_app import started


@pytest.mark.parametrize(
    ("keys", "typed"),
    [("question_mark", "?"), ("slash", "/"), ("escape", "Esc"), ("up,k", "↑ k"),
     ("pageup", "PgUp"), ("ctrl+p", "Ctrl+P"), ("shift+left", "⇧←"), ("enter", "Enter")],
)  # fmt: skip
def test_keys_are_written_as_typed(keys: str, typed: str) -> None:
    assert keys_label(keys) == typed


async def test_help_lists_every_key_that_works(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        overlay = app.query_one(HelpOverlay)
        assert overlay.is_open
        labels = {row.keys for row in overlay.rows}
        for key in ("/", "?", "Esc", "↑ k", "↓ j", "Enter", "PgUp", "PgDn", "Tab", "s", "Ctrl+P"):
            assert key in labels, key
        for textual_name in ("slash", "question_mark", "escape"):
            assert textual_name not in labels
        where = {row.where for row in overlay.rows if row.keys == "s"}
        assert where == {"On the Go/No-Go board"}


def searches_for(row: HelpRow) -> list[str]:
    """What a person would type to find `row`: each key's name, and a word of its action."""
    typed = [KEY_WORDS.get(key, key).split()[0] for key in row.keys.split()]
    return [*typed, row.action.split()[0][:4]]


async def test_every_key_is_found_by_typing_part_of_its_name(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        await pilot.press("question_mark")
        overlay = app.query_one(HelpOverlay)
        for row in overlay.rows:
            for needle in searches_for(row):
                assert row.matches(needle), (row, needle)
        # Typed into the filter: it has the keyboard while help is open.
        await pilot.press(*"page")
        assert overlay.needle == "page"
        assert {"PgUp", "PgDn"} <= {row.keys for row in overlay.shown}
        assert all("Pg" in row.keys for row in overlay.shown)
        await pilot.press("backspace", "backspace", "backspace", "backspace", *"escape")
        assert {"Esc"} <= {row.keys for row in overlay.shown}
        assert all("Esc" in row.keys.split() for row in overlay.shown)
        await pilot.press("escape")
        assert not overlay.is_open
        assert overlay.needle == ""
        assert app.focused is not None and app.focused.id == "wave-board"


@pytest.mark.parametrize("word", ["audit", "journal", "diag", "freeze", "handover", "gate"])
async def test_the_palette_finds_an_action_by_any_word(make_app: AppFactory, word: str) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        titles = [command.title for command in app.palette_commands()]
        assert any(Matcher(word).match(title) > 0 for title in titles), word


async def test_the_palette_screenshot_saves_the_screen(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        textuals = [c for c in app.get_system_commands(app.screen) if "Screenshot" in c.title]
        assert not textuals, "Textual's own, which fails without a downloads folder, is gone"
        commands = [c for c in app.palette_commands() if "Screenshot" in c.title]
        assert len(commands) == 1
        commands[0].callback()
        await pilot.pause()
        saved = [n.message for n in app._notifications if n.title == "Screen saved"]
        assert saved, [n.message for n in app._notifications]
        assert Path(saved[0]).read_text().startswith("<svg")


async def test_key_letters_in_text_follow_a_remap(make_app: AppFactory) -> None:
    app = make_app(ui__keymap={"freeze": "F", "gates": "G"})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        assert "(G)" in str(app.query_one(HealthRow).render())
        helps = {c.title: c.help for c in app.palette_commands()}
        assert helps["Freeze the cutover"].endswith("(F)")
        assert helps["Go/No-Go gates: the gate matrix and sign-offs"] == "G"
        await pilot.press("question_mark")
        rows = {row.id: row.keys for row in app.query_one(HelpOverlay).rows}
        assert rows["freeze"] == "F" and rows["gates"] == "G"


async def test_the_read_only_key_line_offers_only_what_works(make_app: AppFactory) -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        line = str(app.query_one(KeyHints).render())
        for word in ("Freeze", "Unfreeze", "Promote", "Abort"):
            assert word not in line, line
        for word in ("Filter", "Gates", "Audit", "Help", "Quit"):
            assert word in line, line
        await pilot.press("question_mark")
        rows = {row.id: row.action for row in app.query_one(HelpOverlay).rows}
        assert rows["freeze"].endswith("(refused: read-only)")


@pytest.mark.parametrize("width", [80, 100, 120, 160])
async def test_the_key_line_names_the_help_key_once(make_app: AppFactory, width: int) -> None:
    app = make_app()
    async with app.run_test(size=(width, 36)) as pilot:
        await started(app, pilot)
        line = str(app.query_one(KeyHints).render())
        assert line.count("? ") == 1, line


async def test_the_operator_key_line_offers_the_actions(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        line = str(app.query_one(KeyHints).render())
        assert "f Freeze" in line and "p Promote" in line and "x Abort" in line


async def test_the_playbook_names_the_freeze_key_as_mapped(make_app: AppFactory) -> None:
    app = make_app(ui__keymap={"freeze": "F"})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        simulator = app.sources[0].simulator  # type: ignore[attr-defined]
        for _ in range(6):  # the critical CVE fires four minutes in
            app.ingest(simulator.advance(60))
            app.refresh_view()
        await pilot.pause()
        playbook = str(app.query_one("#playbook", Static).render())
        assert "pause rollouts (F)" in playbook, playbook


async def test_question_mark_closes_help_unless_a_word_is_typed(make_app: AppFactory) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await started(app, pilot)
        overlay = app.query_one(HelpOverlay)
        await pilot.press("question_mark")
        assert overlay.is_open
        await pilot.press("q", "question_mark")  # `q` is typed, not quit; `?` then too
        assert overlay.is_open and overlay.needle == "q?"
        await pilot.press("backspace", "backspace", "question_mark")
        assert not overlay.is_open
