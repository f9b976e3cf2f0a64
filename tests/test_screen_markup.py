"""What a payload says is shown as text: square brackets in a topic, a field or an excerpt
are never read as Rich markup (a stray `[/]` would stop the screen)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from textual.app import App
from textual.widgets import Static

from maestro_control_room.cutover.updates import PayloadDiagnostics, RejectedPayload
from maestro_control_room.tui.screens.diagnostics import DiagnosticsScreen
from tests.conftest import AppFactory

AT = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)


async def test_the_diagnostics_show_a_rejected_payloads_brackets_as_text() -> None:
    rejected = RejectedPayload(
        topic="maestro/smoke/maestro/[bold]x",
        reason="wrong field",
        detail="run_id: [/] is not [red]a run",
        excerpt='{"run_id": "[/]", "evidence": "[blink]e[/]"}',
        at=AT,
    )
    diagnostics = PayloadDiagnostics("mqtt", 1, 0, {"wrong field": 1}, (rejected,), AT)
    app: App[None] = App()
    async with app.run_test(size=(160, 30)) as pilot:
        await app.push_screen(DiagnosticsScreen({"mqtt": diagnostics}))
        await pilot.pause()
        shown = app.screen.query_one("#rejected-mqtt", Static)
        text = "\n".join(strip.text for strip in shown.render_lines(shown.region.reset_offset))
        assert "maestro/smoke/maestro/[bold]x" in text
        assert "run_id: [/] is not [red]a run" in text


async def test_the_audit_screen_shows_brackets_in_an_entry_and_a_damaged_line_as_text(
    tmp_path: Path,
) -> None:
    from textual.widgets import DataTable

    from maestro_control_room.sources.journal import AuditJournal
    from maestro_control_room.tui.screens.audit import AuditScreen
    from tests.test_audit import record

    path = tmp_path / "[audit].jsonl"
    with AuditJournal(path) as journal:
        journal.write(record(1, target="[b]Wave-1", result={"ok": True, "message": "done [/]"}))
    with path.open("a") as damaged:
        damaged.write('{"half": "[/]')  # a crash while writing
    app: App[None] = App()
    async with app.run_test(size=(160, 30)) as pilot:
        await app.push_screen(AuditScreen(path))
        await pilot.pause()
        table = app.screen.query_one("#audit-table", DataTable)
        table.render_lines(table.region.reset_offset)  # what crashed on markup
        cells = [str(cell) for row in range(table.row_count) for cell in table.get_row_at(row)]
        assert "[b]Wave-1" in cells and any("done [/]" in cell for cell in cells), cells
        path_shown = app.screen.query_one("#audit-path", Static)
        assert "[audit].jsonl" in str(path_shown.render())


BRACKETS = "[/]x[b]"


async def test_brackets_from_every_source_are_shown_on_every_screen(make_app: AppFactory) -> None:
    """A freeze, smoke, drill and deploy whose words hold square brackets (as a retained MQTT
    message or a ConfigMap may): the app shows them on each screen and keeps running."""
    from maestro_control_room.cutover.freeze import FreezeState
    from maestro_control_room.cutover.smoke import DeployRun, DrillRun, SmokeRun, VerificationUpdate
    from maestro_control_room.cutover.updates import FreezeUpdate
    from tests.test_app import actions_done, started

    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        now = app.clock.now()
        app.ingest([
            FreezeUpdate("sim", FreezeState(True, BRACKETS, BRACKETS, now, version="q1"), now),
            VerificationUpdate(
                "sim", now,
                smoke=(SmokeRun("maestro", BRACKETS, "failed", now, 1.0, BRACKETS, BRACKETS),),
                drills=(DrillRun("rollback", "passed", now, BRACKETS, BRACKETS),),
                deploys=(DeployRun(BRACKETS, "prod", BRACKETS, BRACKETS, "failure", now, "7"),),
            ),
        ])  # fmt: skip
        app.refresh_view()
        await pilot.pause()
        assert BRACKETS in str(app.query_one("#freeze-banner", Static).render())
        await pilot.press("p")  # refused: frozen, the reason quoted in the toast
        await actions_done(app, pilot)
        for key in ("g", "t", "enter", "escape", "o", "a", "d", "question_mark"):
            await pilot.press(key)
            await pilot.pause()
            if key not in ("t", "enter"):
                await pilot.press("escape")
                await pilot.pause()
        await pilot.press("escape", "slash", *BRACKETS)
        await pilot.pause()
        assert app.is_running


async def test_a_toast_quoting_a_source_shows_its_brackets(make_app: AppFactory) -> None:
    from textual.widgets._toast import Toast

    from tests.test_app import started

    app = make_app()
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await started(app, pilot)
        app.notify(f"promote refused: frozen by {BRACKETS}", title="Frozen")
        for _ in range(50):
            await pilot.pause()
            toasts = list(app.screen.query(Toast))
            if toasts:
                break
        assert toasts and any(BRACKETS in str(toast.render()) for toast in toasts)


async def test_the_smoke_and_gate_hints_name_the_remapped_keys(make_app: AppFactory) -> None:
    from tests.test_app import started

    app = make_app(ui__keymap={"run_smoke": "R", "cd_dry_run": "N", "sign_off": "I"})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("t")
        await pilot.pause()
        hint = str(app.screen.query_one("#smoke-hint", Static).render())
        assert "R run the suite" in hint and "N CD dry run" in hint, hint
        await pilot.press("escape", "g")
        await pilot.pause()
        hint = str(app.screen.query_one("#gate-hint", Static).render())
        assert "I sign off" in hint, hint
