"""The event stream keeps the incident: failures, platform events and the operator's own
actions have a history of their own, which `v` and a cleared filter rebuild the view from."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from maestro_control_room.cutover.events import BuildEvent, PlatformEvent
from maestro_control_room.cutover.updates import EventsUpdate
from maestro_control_room.widgets.eventlog import EventLog
from maestro_control_room.widgets.events import EventStream
from tests.conftest import AppFactory
from tests.test_app import actions_done, started

AT = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)


def shown(stream: EventStream) -> list[str]:
    return [line.plain for line in stream.query_one(EventLog).lines]


def successes(count: int, start: int = 0) -> list[BuildEvent]:
    return [
        BuildEvent(
            "job.finished",
            f"ok-{n}",
            "payments/svc-api",
            "Wave-2",
            AT + timedelta(seconds=n),
            "success",
            duration_s=30,
            runner="r",
        )
        for n in range(start, start + count)
    ]


def failure(name: str) -> BuildEvent:
    return BuildEvent(
        "job.finished",
        name,
        "payments/svc-api",
        "Wave-2",
        AT,
        "failure",
        duration_s=12,
        runner="r",
    )


async def test_the_incident_and_the_freeze_survive_a_flood_of_successes_and_v(
    make_app: AppFactory,
) -> None:
    app = make_app(ui={"event_lines": 50})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("f", "enter")
        await actions_done(app, pilot)
        incident = [
            PlatformEvent("registry.brownout", "critical", "registry answers in 9 s", AT),
            failure("bad-1"),
        ]
        app.ingest([EventsUpdate("sim", tuple(incident), 0)])
        app.drain_events()
        # Ten times the stream's length of successes: the raw history holds none of the above.
        app.ingest([EventsUpdate("sim", tuple(successes(500)), 0)])
        app.drain_events()
        stream = app.query_one(EventStream)
        assert not any(getattr(e, "id", "") == "bad-1" for e in stream.events)

        def incident_shown() -> bool:
            lines = shown(stream)
            return (
                any("registry.brownout" in line for line in lines)
                and any("bad-1 failure" in line for line in lines)
                and any("Freeze" in line or "freeze" in line for line in lines)
            )

        assert incident_shown(), shown(stream)
        await pilot.press("v")  # every build: the latest successes
        assert stream.everything and any("ok-499" in line for line in shown(stream))
        await pilot.press("v")  # back: the incident and the freeze are still there
        assert not stream.everything
        assert incident_shown(), shown(stream)
        assert not any("ok-" in line for line in shown(stream))


async def test_a_filter_narrows_within_the_mode_and_clearing_it_keeps_the_incident(
    make_app: AppFactory,
) -> None:
    app = make_app(ui={"event_lines": 50})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        failed = failure("bad-2")
        app.ingest([EventsUpdate("sim", (failed, *successes(200)), 0)])
        app.drain_events()
        stream = app.query_one(EventStream)
        await pilot.press("slash", *"payments")
        await pilot.pause()
        # "failures and platform": a filter does not search the successes.
        lines = shown(stream)
        assert lines and all("bad-2" in line for line in lines), lines
        await pilot.press("escape")
        await pilot.pause()
        assert stream.needle == ""
        assert any("bad-2 failure" in line for line in shown(stream))
        await pilot.press("v", "slash", *"ok")
        await pilot.pause()
        lines = shown(stream)
        assert lines and all("ok-" in line for line in lines)


async def test_a_batch_arriving_under_a_filter_or_v_is_listed_as_the_mode_and_filter_say(
    make_app: AppFactory,
) -> None:
    app = make_app(ui={"event_lines": 50})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        stream = app.query_one(EventStream)
        await pilot.press("slash", *"bad-")
        await pilot.pause()
        app.ingest([EventsUpdate("sim", (failure("bad-3"), failure("worse-4"), *successes(5)), 0)])
        app.drain_events()
        lines = shown(stream)
        assert any("bad-3 failure" in line for line in lines), lines
        assert not any("worse-4" in line or "ok-" in line for line in lines), lines
        await pilot.press("escape", "v", "slash", *"ok-1")
        await pilot.pause()
        app.ingest([EventsUpdate("sim", (failure("bad-5"), *successes(3, start=10)), 0)])
        app.drain_events()
        lines = shown(stream)
        # Every build is listed under v, the successes among them; the filter still narrows.
        assert any("ok-10" in line for line in lines), lines
        assert not any("bad-5" in line for line in lines), lines
