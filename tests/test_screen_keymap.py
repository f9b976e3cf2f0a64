"""Every key letter written into the screen's text follows a `[ui.keymap]` remap: the event
stream's title, the notes, the playbook, the smoke and gate screens' hints, help, the
too-small screen and the refusals."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static

from maestro_control_room.widgets.header import HealthRow
from maestro_control_room.widgets.help import HelpOverlay
from maestro_control_room.widgets.keys import KeyHints
from maestro_control_room.widgets.too_small import TooSmall
from maestro_control_room.widgets.waves import WaveBoard
from tests.conftest import CONFIG, AppFactory
from tests.test_app import actions_done, started

REMAP = {
    "all_events": "V",
    "freeze": "F",
    "unfreeze": "U",
    "gates": "G",
    "smoke": "T",
    "run_smoke": "R",
    "cd_dry_run": "N",
    "sign_off": "X",
    "help": "H",
    "quit": "Q",
    "next_board": "w",
}


def text(widget: Static) -> str:
    return str(widget.render())


def workbook_with_a_bad_row(tmp_path: Path) -> str:
    source = CONFIG.parent / "sources/sim/data/workbook.csv"
    path = tmp_path / "workbook.csv"
    path.write_text(source.read_text() + "not,a,row\n")
    return str(path)


async def test_every_key_named_in_text_is_the_remapped_one(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(ui__keymap=REMAP, waves={"workbook": workbook_with_a_bad_row(tmp_path)})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        title = text(app.query_one("#event-title", Static))
        assert "(V: all)" in title and "(v: all)" not in title, title
        health = text(app.query_one(HealthRow))
        assert "(G)" in health and "bad row(s), see H" in health, health

        await pilot.press("A")  # nothing selected: the refusal names the key to the triggers
        await pilot.pause()
        said = [n.message for n in app._notifications]
        assert any("(w to the triggers)" in message for message in said), said

        simulator = app.sources[0].simulator  # type: ignore[attr-defined]
        for _ in range(6):  # the critical CVE fires four minutes in
            app.ingest(simulator.advance(60))
            app.refresh_view()
        await pilot.pause()
        playbook = text(app.query_one("#playbook", Static))
        assert "pause rollouts (F)" in playbook, playbook

        await pilot.press("T")
        hint = text(app.screen.query_one("#smoke-hint", Static))
        assert "R run the suite" in hint and "N CD dry run" in hint, hint
        await pilot.press("escape", "G")
        hint = text(app.screen.query_one("#gate-hint", Static))
        assert "X sign off" in hint, hint
        await pilot.press("escape", "H")
        overlay = app.query_one(HelpOverlay)
        assert overlay.is_open
        footer = text(overlay.query_one("#help-notes", Static))
        assert "(or H with nothing typed)" in footer, footer
        places = {row.where for row in overlay.rows}
        assert "On the KPI tiles (w to them)" in places, places
        signs = [row.keys for row in overlay.rows if row.id == "sign_off"]
        assert signs == ["X"], signs
        await pilot.press("H")  # the help key, with nothing typed, closes help again
        assert not overlay.is_open

        await pilot.resize_terminal(60, 20)
        await pilot.pause()
        assert "Q quits" in str(app.query_one(TooSmall).render())


async def test_a_remapped_freeze_reads_right_in_every_place_derived_from_the_registry(
    make_app: AppFactory,
) -> None:
    """One remap, read back from the key line, help, the palette, the firing toast, the
    playbook, the frozen refusal and the smoke screen's hint."""
    app = make_app(ui__keymap={"freeze": "F", "unfreeze": "U", "next_board": "w"})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        keys = text(app.query_one(KeyHints))
        assert "F Freeze" in keys and "U Unfreeze" in keys and "f Freeze" not in keys, keys
        rows = {row.id: row.keys for row in app.dashboard.help_rows()}
        assert (rows["freeze"], rows["unfreeze"], rows["next_board"]) == ("F", "U", "w")
        helps = {command.title: command.help for command in app.palette_commands()}
        assert helps["Freeze the cutover"].endswith("(F)"), helps
        assert helps["Next board"] == "w"

        simulator = app.sources[0].simulator  # type: ignore[attr-defined]
        for _ in range(6):  # the critical CVE fires four minutes in
            app.ingest(simulator.advance(60))
            app.refresh_view()
        await pilot.pause()
        toasts = [n.message for n in app._notifications if n.title == "Rollback trigger firing"]
        assert toasts and all("Playbook: freeze (F)" in toast for toast in toasts), toasts
        assert "pause rollouts (F)" in text(app.query_one("#playbook", Static))

        await pilot.press("F", "enter")
        await actions_done(app, pilot)
        board = app.query_one(WaveBoard)
        board.focus()
        board.move_cursor(row=2)
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        (refusal,) = [n for n in app._notifications if n.title == "Frozen"]
        assert refusal.message.endswith("Unfreeze: U."), refusal.message

        await pilot.press("t")
        hint = text(app.screen.query_one("#smoke-hint", Static))
        assert "w next board" in hint and "Tab next board" not in hint, hint
