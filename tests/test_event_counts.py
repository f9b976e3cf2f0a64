"""The event title's count: shown with the lines of each batch, and never more than
`COUNT_EVERY` behind what arrived; the tick leaves a count just shown alone, so a steady
stream's count costs no frame of its own."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest
from textual.widgets import Static

from maestro_control_room.cutover.events import BuildEvent
from maestro_control_room.cutover.updates import EventsUpdate
from maestro_control_room.widgets import events as events_module
from tests.conftest import AppFactory
from tests.test_app import started
from tests.test_event_history import AT, successes
from tests.test_replay import text

COUNT = re.compile(r"Events · (\d+) received")


def failure(n: int) -> BuildEvent:
    return BuildEvent("job.finished", f"bad-{n}", "payments/svc-api", "Wave-2", AT, "failure")


async def test_the_count_comes_with_the_lines_and_catches_up_within_a_second(
    make_app: AppFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    seconds = [1000.0]
    clock = SimpleNamespace(monotonic=lambda: seconds[0])
    monkeypatch.setattr(events_module, "time", clock, raising=False)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await started(app, pilot)
        title = app.query_one("#event-title", Static)

        def count() -> int:
            match = COUNT.search(text(title))
            assert match, text(title)
            return int(match.group(1))

        def arrive(*batch: BuildEvent) -> None:
            app.ingest([EventsUpdate("sim", batch, 0)])
            app.drain_events()

        seconds[0] += 5
        app.refresh_view()
        before = count()

        arrive(failure(1))  # a line: the count is shown with it
        await pilot.pause()
        assert count() == before + 1

        seconds[0] += 0.4
        arrive(*successes(5))  # counted, not listed: no line to carry the count
        app.refresh_view()  # a tick within the second: the title is left as it is
        await pilot.pause()
        assert count() == before + 1

        seconds[0] += 0.6  # a second since the count was shown: the tick shows it
        app.refresh_view()
        await pilot.pause()
        assert count() == before + 6

        seconds[0] += 0.1
        arrive(failure(2))  # within that second, but with a line: shown at once
        await pilot.pause()
        assert count() == before + 7
