"""The re-cut respected from the keyboard: step 7 re-cuts the wave in flight, the board and
the wave detail say when it may go again, promote is refused until then and allowed after,
on the simulator and on the fake cluster."""

from __future__ import annotations

import json
from pathlib import Path

from textual.widgets import Static

from maestro_control_room.cutover.waves import WaveState
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.screens.confirm import ConfirmScreen
from maestro_control_room.tui.screens.playbook import PlaybookScreen
from maestro_control_room.widgets.waves import WaveBoard
from tests.conftest import AppFactory
from tests.test_app import actions_done, started, step
from tests.test_details import open_wave, select, shown
from tests.test_playbook_app import take

NOTE = "registry must hold first"


def eligible_cell(app: ControlRoomApp, wave: str) -> str:
    return str(app.query_one(WaveBoard)._rows[wave][4])


async def test_a_re_cut_wave_is_refused_until_its_time_then_goes_again_as_a_canary(
    make_app: AppFactory, tmp_path: Path
) -> None:
    app = make_app(sim={"scenario": "calm"}, thresholds={"green_period": "20m"})
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        await pilot.press("b")
        assert isinstance(app.screen, PlaybookScreen)
        await take(app, pilot, 7, *"Wave-2", note=NOTE)
        await pilot.press("escape")
        assert app.view is not None
        wave = app.view.wave("Wave-2")
        assert wave is not None and wave.state is WaveState.ROLLED_BACK
        assert wave.recut is not None and wave.recut.note == NOTE and wave.recut.by == "tester"
        when = f"{wave.recut.not_before:%H:%M}"
        said = f"re-cut: may go again after {when} ({NOTE})"
        assert eligible_cell(app, "Wave-2") == said
        screen = await open_wave(app, pilot, "Wave-2")
        assert said in " ".join(shown(screen.query_one("#wave-headline", Static)).split())
        await pilot.press("escape")
        # Before its time: refused, naming the time and the note; nothing to confirm.
        await select(pilot, app.query_one(WaveBoard), "Wave-2")
        await pilot.press("p")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)
        refusals = [n.message for n in app._notifications if f"after {when}" in n.message]
        assert refusals and NOTE in refusals[-1], [n.message for n in app._notifications]
        # The clock moves past the time the re-cut set: the wave may go again.
        await step(app, pilot, 21 * 60)
        await select(pilot, app.query_one(WaveBoard), "Wave-2")
        await pilot.press("p")
        assert isinstance(app.screen, ConfirmScreen), [n.message for n in app._notifications]
        checks = str(app.screen.query_one("#confirm-checks", Static).render())
        assert "re-cut's time reached" in checks
        await pilot.press(*"Wave-2", "enter")
        if isinstance(app.screen, ConfirmScreen):
            said_error = app.screen.query_one("#confirm-error", Static).render()
            raise AssertionError(f"not confirmed: {said_error} / {checks}")
        await actions_done(app, pilot)
        await step(app, pilot, 0)
        wave = app.view.wave("Wave-2")
        assert wave is not None and wave.state is WaveState.CANARY and wave.recut is None
        entries = [json.loads(line) for line in (tmp_path / "audit.jsonl").read_text().splitlines()]
        moves = [(e["kind"], e["target"]) for e in entries if e["action"] == "promote wave"]
        assert moves == [("intent", "Wave-2"), ("result", "Wave-2")], moves
