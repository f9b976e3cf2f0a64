"""The shift handover: what the next shift reads, from the room, its trigger log and the
audit journal; written by `h` and by `maestro-control-room handover`."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from maestro_control_room.cutover.actions import ActionKind, Change
from maestro_control_room.cutover.audit import AuditRecord, EntryKind, Operator, next_entry
from maestro_control_room.cutover.config import (
    Config,
    ThresholdsSection,
    gate_specs,
    kpi_specs,
    trigger_specs,
)
from maestro_control_room.cutover.freeze import FreezeState
from maestro_control_room.cutover.gates import CheckReading, CheckState, Signoff, Signoffs
from maestro_control_room.cutover.handover import handover_markdown, pair_actions, parse_since
from maestro_control_room.cutover.rollouts import RolloutPhase, RolloutStatus
from maestro_control_room.cutover.room import ControlRoom, RoomSettings, RoomView
from maestro_control_room.cutover.signals import Signal
from maestro_control_room.cutover.triggers import TriggerState
from maestro_control_room.cutover.updates import (
    Alert,
    AlertsUpdate,
    FreezeUpdate,
    GateReadingsUpdate,
    HealthState,
    RolloutsUpdate,
    SignalUpdate,
    SignoffsUpdate,
    SourceHealth,
    WavesUpdate,
)
from maestro_control_room.cutover.waves import RepoState, WaveState, WaveStatus, parse_workbook
from maestro_control_room.sources.journal import AuditJournal
from maestro_control_room.tui.cli import main
from maestro_control_room.tui.configfile import LoadedConfig
from maestro_control_room.tui.headless import gather_view
from tests.conftest import CONFIG, AppFactory, config_document
from tests.test_app import actions_done, started, step

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NOW = GO_LIVE + timedelta(days=3)
SINCE = NOW - timedelta(hours=12)
SECTIONS = (
    "Current state",
    "Rollback triggers fired",
    "Actions taken",
    "Gates not passing",
    "Open blockers",
)
WORKBOOK = parse_workbook(
    "Team/Repo,Tier,Owner,Pipeline Size,Critical Deps,Scanners,Avg Build (min),"
    "Shadow Pass %,Blocking Issues,Cutover Wave\n"
    "svc-api,0,alice,12 jobs,vault://prod,SAST+DAST,14.2,98%,flaky test pack,Wave-1\n"
    "svc-web,1,bob,8 jobs,ghcr.io,SAST,9.5,99%,,Wave-1\n"
    "svc-batch,1,carol,5 jobs,,SAST,20,97%,docker-in-docker,Wave-2\n"
)
QUIET_WORKBOOK = (
    "Team/Repo,Tier,Owner,Pipeline Size,Critical Deps,Scanners,Avg Build (min),"
    "Shadow Pass %,Blocking Issues,Cutover Wave\n"
    "svc-web,1,bob,8 jobs,ghcr.io,SAST,9.5,99%,,Wave-1\n"
)
ROOM_CONFIG = Config.model_validate(
    {
        "cutover": {"go_live": GO_LIVE.isoformat()},
        "waves": {"workbook": "workbook.csv"},
        "sources": {"sim": {"enabled": False}, "prometheus": {"enabled": True}},
    }
)
HEALTHY = {
    "queue_wait_p95": (45.0, "s"),
    "success_rate": (0.993, "ratio"),
    "success_rate_7d": (0.991, "ratio"),
    "build_duration_mean": (600.0, "s"),
    "flake_rate": (0.005, "ratio"),
    "executor_saturation": (0.5, "ratio"),
    "cost_per_build": (0.4, "$"),
}


def sections(markdown: str) -> dict[str, str]:
    """The `## ` sections by title, and the header under ""."""
    parts = re.split(r"^## (.+)$", markdown, flags=re.MULTILINE)
    found = {"": parts[0]}
    found.update(zip(parts[1::2], parts[2::2], strict=True))
    return found


def feed(room: ControlRoom, at: datetime, **values: float) -> RoomView:
    """Every KPI healthy but `values`, the alerts clear unless `alerts`; evaluated at `at`."""
    for name, (value, unit) in HEALTHY.items():
        reading = values.get(name, value)
        room.apply(SignalUpdate(Signal.measured(name, reading, unit, at, "prometheus")))
    room.apply(AlertsUpdate("alertmanager", (), at))
    return room.evaluate(at)


def shift_room() -> ControlRoom:
    """A shift: the queue trigger fired and resolved before it, the success-rate trigger
    fired and resolved within it, the audit-failure alert firing at its end; frozen, Wave-1
    complete and Wave-2 planned, one gate check failing and one role signed."""
    room = ControlRoom(
        RoomSettings(
            name="Maestro core build platform",
            go_live=GO_LIVE,
            kpis=kpi_specs(ThresholdsSection()),
            triggers=trigger_specs(ROOM_CONFIG),
            green_period=timedelta(hours=48),
            workbook=WORKBOOK,
            max_age={"prometheus": timedelta(minutes=30), "alertmanager": timedelta(hours=1)},
            gates=gate_specs(ROOM_CONFIG),
        )
    )
    before = NOW - timedelta(hours=20)
    feed(room, before)
    feed(room, before + timedelta(minutes=1), queue_wait_p95=300.0)
    feed(room, before + timedelta(minutes=7), queue_wait_p95=300.0)
    feed(room, before + timedelta(minutes=30))
    fired = NOW - timedelta(hours=5)
    feed(room, fired - timedelta(minutes=6), success_rate=0.95)
    feed(room, fired, success_rate=0.95)
    feed(room, NOW - timedelta(hours=2))
    room.apply(
        FreezeUpdate(
            "kubernetes",
            FreezeState(True, "alice", "success rate under target", NOW - timedelta(hours=1)),
            NOW,
        )
    )
    room.apply(
        WavesUpdate(
            "kubernetes",
            (
                WaveStatus("Wave-1", WaveState.COMPLETE, GO_LIVE),
                WaveStatus("Wave-2", WaveState.PLANNED),
            ),
            {"svc-api": RepoState.MAESTRO, "svc-web": RepoState.MAESTRO},
            {"Wave-1": 0.99},
            NOW,
        )
    )
    paused = RolloutStatus(
        "maestro-system", "maestro-api", RolloutPhase.PAUSED, 3, 8, 25,
        pause_reason="CanaryPauseStep", paused=True,
    )  # fmt: skip
    room.apply(RolloutsUpdate("kubernetes", (paused,), NOW))
    failing = CheckReading(
        "A/success-7d", "prometheus", NOW, CheckState.FAIL, "97.1%", "needs >= 98.0%"
    )
    room.apply(GateReadingsUpdate("prometheus", (failing,), NOW))
    room.apply(
        SignoffsUpdate(
            "kubernetes",
            Signoffs({"Security": Signoff("Security", "erin", NOW - timedelta(hours=3))}),
            NOW,
        )
    )
    room.apply(SourceHealth("kubernetes", HealthState.CONNECTED, NOW))
    for name, (value, unit) in HEALTHY.items():
        room.apply(SignalUpdate(Signal.measured(name, value, unit, NOW, "prometheus")))
    room.apply(AlertsUpdate("alertmanager", (Alert("MaestroAuditFailure", {}, NOW),), NOW))
    return room


def journal_entries(*records: tuple[AuditRecord, bool]) -> list[dict[str, Any]]:
    """Chained entries; each record with True gets a result (ok) after it."""
    entries: list[dict[str, Any]] = []
    last: bytes | None = None
    for record, with_result in records:
        chained = [record]
        if with_result:
            result = AuditRecord(
                EntryKind.RESULT, record.ts + timedelta(seconds=2), record.action,
                record.target, record.changes, record.operator, (),
                result={"ok": True, "message": f"{record.action.value}: done"},
            )  # fmt: skip
            chained.append(result)
        for item in chained:
            if item.kind is EntryKind.RESULT:
                item = replace(item, intent_seq=entries[-1]["seq"])
            entry = next_entry(item, last)
            last = entry.line.encode()
            entries.append(dict(entry.body))
    return entries


def intent(user: str, action: ActionKind, target: str, at: datetime) -> AuditRecord:
    return AuditRecord(
        EntryKind.INTENT, at, action, target,
        (Change(target, "state", "before", "after"),), Operator(user, host="bastion"), (),
    )  # fmt: skip


ACTIONS = journal_entries(
    (intent("carol", ActionKind.PROMOTE_WAVE, "Wave-1", NOW - timedelta(hours=20)), True),
    (intent("alice", ActionKind.FREEZE, "cutover", NOW - timedelta(hours=1)), True),
    (intent("bob", ActionKind.PROMOTE_ROLLOUT, "maestro-system/maestro-api",
            NOW - timedelta(minutes=30)), False),
)  # fmt: skip


def shift_handover() -> str:
    room = shift_room()
    view = room.evaluate(NOW)
    return handover_markdown(
        view, room.trigger_log, ACTIONS, SINCE, NOW, "dave",
        name="Maestro core build platform", trigger_log_from=room.trigger_log_from,
        journal="/var/lib/audit.jsonl: chain intact, 5 entries",
    )  # fmt: skip


def test_the_header_names_the_cutover_clock_period_and_writer() -> None:
    header = sections(shift_handover())[""]
    assert header.startswith("# Shift handover: Maestro core build platform\n")
    assert "T+3d 00:00, Hypercare day 3 of 14" in header
    assert "Period covered: 2026-12-03 21:00:00 UTC to 2026-12-04 09:00:00 UTC (12h)" in header
    assert "Written by: dave" in header


def test_sections_come_in_order() -> None:
    markdown = shift_handover()
    positions = [markdown.index(f"\n## {title}\n") for title in SECTIONS]
    assert positions == sorted(positions)


def test_current_state_shows_verdict_freeze_kpis_waves_rollouts_and_sources() -> None:
    state = sections(shift_handover())["Current state"]
    assert "Go/No-Go: **NO-GO**" in state
    assert "Freeze: **FROZEN** by alice at 2026-12-04 08:00:00 UTC: success rate under target" in (
        state
    )
    assert "| Success | 99.3% | OK | ≥ 98.0% |" in state
    assert "| Audit failure | firing | alert active |" in state
    assert "| Wave-1 | complete |" in state and "| 2/2 |" in state
    assert "| Wave-2 | planned |" in state
    assert "| maestro-system/maestro-api | Paused | 3/8 | 25% | — | CanaryPauseStep |" in state
    assert "| prometheus | ok |" in state and "| kubernetes | ok |" in state


def test_triggers_that_fired_in_the_period_and_when() -> None:
    fired = sections(shift_handover())["Rollback triggers fired"]
    rows = [line for line in fired.splitlines() if line.startswith("| 2026")]
    assert rows == [
        "| 2026-12-04 04:00:00 UTC | T+2d 19:00 | Success rate under target | fired |",
        "| 2026-12-04 07:00:00 UTC | T+2d 22:00 | Success rate under target | resolved |",
        "| 2026-12-04 09:00:00 UTC | T+3d 00:00 | Audit failure | fired |",
    ]
    assert "Queue wait p95" not in fired, "it fired before the period"


def test_the_trigger_log_says_from_when_it_is_complete() -> None:
    room = shift_room()
    view = room.evaluate(NOW)
    markdown = handover_markdown(
        view, [], [], NOW - timedelta(days=2), NOW, "dave", trigger_log_from=room.trigger_log_from
    )
    fired = sections(markdown)["Rollback triggers fired"]
    assert "Recorded by this control room from 2026-12-03 13:00:00 UTC." in fired
    assert "No rollback trigger fired in the period." in fired


def test_actions_in_the_period_with_who_and_their_outcome() -> None:
    actions = sections(shift_handover())["Actions taken"]
    assert "Audit journal: /var/lib/audit.jsonl: chain intact, 5 entries" in actions
    assert "2 action(s), by alice@bastion (1), bob@bastion (1)." in actions
    rows = [line for line in actions.splitlines() if line.startswith("| 2026")]
    assert len(rows) == 2
    assert rows[0].startswith("| 2026-12-04 08:00:00 UTC | alice@bastion | freeze | cutover |")
    assert rows[0].endswith("| ok: freeze: done |")
    assert "| bob@bastion | promote rollout | maestro-system/maestro-api |" in rows[1]
    assert "NO RESULT written: the outcome is unknown" in rows[1]
    assert "carol" not in actions, "carol acted before the period"


def test_the_period_filters_actions_and_triggers() -> None:
    room = shift_room()
    view = room.evaluate(NOW)
    markdown = handover_markdown(
        view, room.trigger_log, ACTIONS, NOW - timedelta(minutes=45), NOW, "dave"
    )
    found = sections(markdown)
    assert "1 action(s), by bob@bastion (1)." in found["Actions taken"]
    assert "Success rate under target" not in found["Rollback triggers fired"]
    assert "| Audit failure | fired |" in found["Rollback triggers fired"]
    everything = handover_markdown(
        view, room.trigger_log, ACTIONS, NOW - timedelta(days=1), NOW, "dave"
    )
    found = sections(everything)
    assert (
        "3 action(s), by carol@bastion (1), alice@bastion (1), bob@bastion (1)."
        in (found["Actions taken"])
    )
    assert "| Queue wait p95 breach | fired |" in found["Rollback triggers fired"]


def test_gates_not_passing_give_value_and_reason() -> None:
    gates = sections(shift_handover())["Gates not passing"]
    assert "### Gate A: Platform reliability & scale" in gates
    assert (
        "- **Job success rate over 7 days** (A/success-7d): fail, 97.1% (needs >= 98.0%)" in gates
    )
    assert "- **SRE** (Sign-off/sre): fail, unsigned" in gates
    assert "(Sign-off/security)" not in gates, "Security signed"


def test_open_blockers() -> None:
    blockers = sections(shift_handover())["Open blockers"]
    items = [line[2:] for line in blockers.splitlines() if line.startswith("- ")]
    assert items[0].startswith("Rollback trigger firing: Audit failure since 2026-12-04 09:00")
    assert "Wave-2 (planned), from the workbook: docker-in-docker" in items
    assert not any("flaky test pack" in item for item in items), "Wave-1 is complete"
    gate_a = next(item for item in items if item.startswith("Gate A "))
    assert "Job success rate over 7 days (fail)" in gate_a
    assert "Not signed off: SRE, Platform, App Eng, Compliance/Legal, Exec Sponsor" in items


def test_a_quiet_shift_says_so() -> None:
    room = ControlRoom(
        RoomSettings(
            name="x", go_live=GO_LIVE, kpis=kpi_specs(ThresholdsSection()),
            triggers=trigger_specs(ROOM_CONFIG), green_period=timedelta(hours=48),
            workbook=parse_workbook(QUIET_WORKBOOK),
            max_age={"prometheus": timedelta(minutes=30), "alertmanager": timedelta(hours=1)},
        )
    )  # fmt: skip
    room.register_source("prometheus", SINCE)
    view = feed(room, NOW)
    found = sections(handover_markdown(view, room.trigger_log, [], SINCE, NOW, "dave"))
    assert "No rollback trigger fired in the period." in found["Rollback triggers fired"]
    assert "No action was taken in the period." in found["Actions taken"]
    assert "No Go/No-Go gates are configured." in found["Gates not passing"]
    assert found["Open blockers"].strip() == "None."


def test_a_result_without_its_intent_is_still_shown() -> None:
    orphan = {**ACTIONS[3], "intent_seq": 99}  # alice's freeze, its intent lost
    pairs = pair_actions([orphan])
    assert len(pairs) == 1 and pairs[0].intent is None
    assert pairs[0].outcome == "ok: freeze: done (intent not found)"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12h", NOW - timedelta(hours=12)),
        ("1d2h", NOW - timedelta(hours=26)),
        ("T+1d", GO_LIVE + timedelta(days=1)),
        ("T-2d", GO_LIVE - timedelta(days=2)),
        ("2026-12-04T06:30:00Z", datetime(2026, 12, 4, 6, 30, tzinfo=UTC)),
        ("2026-12-04T07:30:00+01:00", datetime(2026, 12, 4, 6, 30, tzinfo=UTC)),
    ],
)
def test_since_reads_a_time_a_plan_point_or_a_duration(text: str, expected: datetime) -> None:
    assert parse_since(text, NOW, GO_LIVE) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("yesterday", "expected an RFC 3339 time"),
        ("2026-12-04T06:30:00", "give the time's offset"),
        ("T+soon", "is not a duration"),
    ],
)
def test_since_says_what_it_expected(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_since(text, NOW, GO_LIVE)


# The key, in the control room -----------------------------------------------------------------


async def handover_written(app: Any, pilot: Any) -> None:
    await pilot.press("h")
    await pilot.pause()
    running = [w for w in app.workers if w.group == "handover"]
    if running:
        await app.workers.wait_for_complete(running)
    await pilot.pause()


async def test_h_writes_the_handover_and_names_the_file(
    make_app: AppFactory, tmp_path: Path
) -> None:
    folder = tmp_path / "handovers"
    app = make_app(handover={"dir": str(folder)})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await pilot.press("f")
        await pilot.press("enter")
        await actions_done(app, pilot)
        assert app.view is not None and app.view.freeze.frozen
        fired = False
        for _ in range(40):  # the brownout scenario's success rate drops within the hour
            await step(app, pilot, 60)
            assert app.view is not None
            if any(t.state is TriggerState.FIRING for t in app.view.triggers):
                fired = True
                break
        assert fired
        await handover_written(app, pilot)
        written = list(folder.glob("handover-*.md"))
        assert len(written) == 1
        assert re.fullmatch(r"handover-\d{8}T\d{6}Z\.md", written[0].name)
        markdown = written[0].read_text()
        found = sections(markdown)
        assert all(title in found for title in SECTIONS)
        assert "Freeze: **FROZEN** by tester" in found["Current state"]
        assert "| freeze | cutover |" in found["Actions taken"]
        assert "| ok: " in found["Actions taken"]
        assert "| fired |" in found["Rollback triggers fired"]
        messages = [n.message for n in app._notifications]
        assert str(written[0]) in messages


async def test_h_works_read_only(make_app: AppFactory, tmp_path: Path) -> None:
    folder = tmp_path / "handovers"
    app = make_app(read_only=True, handover={"dir": str(folder)})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await handover_written(app, pilot)
        assert [p.name for p in folder.glob("handover-*.md")]
        assert not (tmp_path / "audit.jsonl").exists()
        # Another handover, within the same second or not, never overwrites the first.
        await handover_written(app, pilot)
        assert len(list(folder.glob("handover-*.md"))) == 2


async def test_h_says_when_the_file_cannot_be_written(make_app: AppFactory, tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("")
    app = make_app(handover={"dir": str(blocked / "handovers")})
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        await handover_written(app, pilot)
        notes = [n for n in app._notifications if "cannot write the handover" in n.message]
        assert notes and notes[0].severity == "error"


# The command ----------------------------------------------------------------------------------


def sim_config(tmp_path: Path, journal: Path) -> Path:
    """The repository's config (the simulator), its journal in the test's folder."""
    text = CONFIG.read_text()
    workbook = str(CONFIG.parent / "sources/sim/data/workbook.csv")
    text = text.replace('workbook = "sources/sim/data/workbook.csv"', f'workbook = "{workbook}"')
    assert text.count('\npath = ""\n') == 1  # [audit]'s
    text = text.replace('\npath = ""\n', f'\npath = "{journal}"\n')
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_the_command_writes_markdown_with_every_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "audit.jsonl"
    # Stamped on the room's clock: the simulator's, which starts at T+1d2h.
    at = GO_LIVE + timedelta(days=1, hours=2) - timedelta(minutes=10)
    with AuditJournal(journal) as opened:
        opened.write(intent("alice", ActionKind.FREEZE, "cutover", at))
    config = sim_config(tmp_path, journal)
    assert main(["handover", "--config", str(config), "--since", "1h"]) == 0
    markdown = capsys.readouterr().out
    found = sections(markdown)
    assert found[""].startswith("# Shift handover: Maestro core build platform")
    assert all(title in found for title in SECTIONS)
    assert "| sim | ok |" in found["Current state"]
    assert f"Audit journal: {journal}: chain intact, 1 entries" in found["Actions taken"]
    assert "| alice@bastion | freeze | cutover |" in found["Actions taken"]
    assert "NO RESULT written" in found["Actions taken"]
    assert "Wave-2 (canary), from the workbook:" in found["Open blockers"]


def test_the_command_writes_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = sim_config(tmp_path, tmp_path / "audit.jsonl")
    output = tmp_path / "shift.md"
    assert main(["handover", "--config", str(config), "--output", str(output)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert f"handover written to {output}" in captured.err
    assert "## Open blockers" in output.read_text()
    assert "Period covered:" in output.read_text() and "(12h)" in output.read_text()


def test_the_command_refuses_a_bad_since(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = sim_config(tmp_path, tmp_path / "audit.jsonl")
    assert main(["handover", "--config", str(config), "--since", "last week"]) == 2
    assert "--since 'last week': expected an RFC 3339 time" in capsys.readouterr().err


# Gathering a view without a screen ------------------------------------------------------------


def loaded_sim(**sections_: dict[str, Any]) -> LoadedConfig:
    return LoadedConfig(Config.model_validate(config_document(**sections_)), CONFIG)


async def test_gather_view_waits_for_every_source_then_stops_them() -> None:
    loaded = loaded_sim(sources__sim={"time_scale": 0})
    room, view = await gather_view(loaded, timeout=15)
    assert [h.text for h in view.health] == ["ok"]
    assert view.waves and view.rollouts and view.kpis[0].signal.usable
    assert room.evaluate(view.now).now == view.now
    assert not [t for t in asyncio.all_tasks() if t.get_name() == "sim"]


async def test_gather_view_gives_up_at_the_timeout(tmp_path: Path) -> None:
    loaded = loaded_sim(sources__sim={"time_scale": 0})
    started_at = asyncio.get_running_loop().time()
    _, view = await gather_view(loaded, timeout=0.3, ready=lambda room: False)
    assert 0.3 <= asyncio.get_running_loop().time() - started_at < 5
    assert view.waves, "what arrived before the timeout is in the view"


async def test_gather_view_shows_a_source_that_failed() -> None:
    # Prometheus on a port where nothing listens: an answer of its own, an error.
    loaded = loaded_sim(
        sources__sim={"enabled": False},
        sources__prometheus={"enabled": True, "url": "http://127.0.0.1:9", "timeout": "1s"},
    )
    _, view = await gather_view(loaded, timeout=15)
    health = {h.source: h for h in view.health}
    assert health["prometheus"].state is HealthState.ERROR
