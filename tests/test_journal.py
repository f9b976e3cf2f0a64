"""The journal on disk: append-only, fsynced, chained across reopenings and processes, and a
clear JournalError whenever it cannot be written."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import DataTable, Static

from maestro_control_room.cutover.actions import ActionKind, Change
from maestro_control_room.cutover.audit import GENESIS, AuditRecord, EntryKind, Operator, verify
from maestro_control_room.sources.journal import (
    AuditJournal,
    JournalError,
    default_journal_path,
    journal_path,
    local_operator,
    read_journal,
)
from maestro_control_room.tui.audit_cli import audit_main
from maestro_control_room.tui.screens.audit import AuditScreen

ROOT = Path(__file__).resolve().parent.parent


def record(target: str = "cutover") -> AuditRecord:
    return AuditRecord(
        EntryKind.INTENT,
        datetime(2026, 12, 2, 3, 4, 5, tzinfo=UTC),
        ActionKind.FREEZE,
        target,
        (Change("cutover", "frozen", "false", "true"),),
        Operator("alice", host="bastion"),
        (),
    )


def test_default_path_follows_xdg_state_home(tmp_path: Path) -> None:
    assert default_journal_path({"XDG_STATE_HOME": str(tmp_path)}) == (
        tmp_path / "maestro-control-room" / "audit.jsonl"
    )
    assert default_journal_path({}) == (
        Path.home() / ".local" / "state" / "maestro-control-room" / "audit.jsonl"
    )
    assert journal_path("", {"XDG_STATE_HOME": "/s"}) == Path("/s/maestro-control-room/audit.jsonl")
    assert journal_path("~/audit.jsonl") == Path.home() / "audit.jsonl"


def test_writes_a_chain_that_verifies_in_a_new_private_file(tmp_path: Path) -> None:
    path = tmp_path / "state" / "maestro-control-room" / "audit.jsonl"
    with AuditJournal(path) as journal:
        first = journal.write(record("one"))
        second = journal.write(record("two"))
    assert (first.seq, second.seq) == (1, 2)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = path.read_bytes().splitlines(keepends=True)
    assert [line.rstrip(b"\n").decode() for line in lines] == [first.line, second.line]
    assert json.loads(lines[0])["prev"] == GENESIS
    assert verify(lines).ok


def test_a_reopened_journal_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditJournal(path) as journal:
        journal.write(record())
    # A long line makes the last-line search cross its read chunks.
    with AuditJournal(path) as journal:
        entry = journal.write(record("x" * 200_000))
    with AuditJournal(path) as journal:
        last = journal.write(record())
    assert (entry.seq, last.seq) == (2, 3)
    report = read_journal(path)
    assert report.result.ok and report.result.entries == 3
    assert [number for number, _ in report.entries] == [1, 2, 3]


def test_opens_lazily_on_first_write(tmp_path: Path) -> None:
    path = tmp_path / "later" / "audit.jsonl"
    journal = AuditJournal(path)
    assert not path.exists()
    journal.write(record())
    journal.close()
    assert path.exists()


def test_a_parent_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    path = blocker / "audit.jsonl"
    with pytest.raises(JournalError) as raised:
        AuditJournal(path).write(record())
    message = str(raised.value)
    assert str(path) in message and "cannot open" in message


def test_a_full_disk_is_a_clear_error() -> None:
    with pytest.raises(JournalError, match=r"/dev/full: cannot write: No space left on device"):
        AuditJournal("/dev/full").write(record())


def test_a_cut_short_last_line_refuses_to_continue(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditJournal(path) as journal:
        journal.write(record())
    with path.open("ab") as raw:
        raw.write(b'{"seq":2,')
    with pytest.raises(JournalError, match="cut short"):
        AuditJournal(path).write(record())


def test_a_last_line_that_is_not_an_entry_refuses_to_continue(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b"hello\n")
    with pytest.raises(JournalError, match="cannot continue the chain"):
        AuditJournal(path).open()


def test_read_journal_of_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="cannot read"):
        read_journal(tmp_path / "nope.jsonl")


def test_two_processes_appending_keep_one_chain(tmp_path: Path) -> None:
    # Both writers start together (without the lock this breaks the chain within a few lines).
    path, go = tmp_path / "audit.jsonl", tmp_path / "go"
    writer = textwrap.dedent(
        f"""
        import pathlib, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from tests.test_journal import record
        from maestro_control_room.sources.journal import AuditJournal
        journal = AuditJournal({str(path)!r})
        journal.open()
        pathlib.Path({str(tmp_path)!r}, "ready-" + sys.argv[1]).touch()
        while not pathlib.Path({str(go)!r}).exists():
            time.sleep(0.001)
        for n in range(100):
            journal.write(record(sys.argv[1] + str(n)))
        """
    )
    processes = [subprocess.Popen([sys.executable, "-c", writer, name], cwd=ROOT) for name in "ab"]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{name}").exists() for name in "ab"):
        assert time.monotonic() < deadline, "the writers did not start"
        assert all(process.poll() is None for process in processes)
        time.sleep(0.01)
    go.touch()
    assert [process.wait(timeout=60) for process in processes] == [0, 0]
    report = read_journal(path)
    assert report.result.ok, str(report.result)
    assert report.result.entries == 200
    targets = {entry["target"] for _, entry in report.entries if isinstance(entry, dict)}
    assert len(targets) == 200


def test_local_operator_reads_this_process() -> None:
    environ = {"SSH_CONNECTION": "198.51.100.4 1 2 3", "SUDO_USER": "bob"}
    operator = local_operator("alice", environ)
    assert operator.user == "alice"
    assert operator.ssh_client == "198.51.100.4"
    assert operator.sudo_user == "bob"
    assert operator.host == os.uname().nodename


# `maestro-control-room audit verify|show` -------------------------------------------------------


def written(path: Path, count: int = 4) -> list[bytes]:
    with AuditJournal(path) as journal:
        for number in range(count):
            journal.write(record(f"Wave-{number}"))
    return path.read_bytes().splitlines(keepends=True)


def run_audit(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = audit_main(argv, stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_verify_passes_an_intact_journal(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    written(path)
    code, out, _ = run_audit("verify", str(path))
    assert code == 0
    assert "chain intact, 4 entries" in out


@pytest.mark.parametrize(
    ("tamper", "line"),
    [
        ("edit", 2),
        ("delete", 2),
        ("reorder", 2),
    ],
)
def test_verify_names_the_first_broken_line(tmp_path: Path, tamper: str, line: int) -> None:
    path = tmp_path / "audit.jsonl"
    lines = written(path)
    if tamper == "edit":
        lines[1] = lines[1].replace(b'"Wave-1"', b'"Wave-7"')
    elif tamper == "delete":
        del lines[1]
    else:
        lines[1], lines[2] = lines[2], lines[1]
    path.write_bytes(b"".join(lines))
    code, out, _ = run_audit("verify", str(path))
    assert code == 1
    assert f"BROKEN at line {line}: " in out


def test_verify_of_an_unreadable_journal_exits_2(tmp_path: Path) -> None:
    code, _, err = run_audit("verify", str(tmp_path / "missing.jsonl"))
    assert code == 2
    assert "cannot read" in err and "missing.jsonl" in err


def test_verify_defaults_to_the_configured_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    written(default_journal_path(), 2)
    code, out, _ = run_audit("--config", str(ROOT / "config.toml"), "verify")
    assert code == 0
    assert str(tmp_path / "maestro-control-room" / "audit.jsonl") in out


def test_show_prints_one_readable_line_per_entry(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditJournal(path) as journal:
        intent = journal.write(replace(record(), override="exec approved"))
        journal.write(
            replace(
                record(),
                kind=EntryKind.RESULT,
                intent_seq=intent.seq,
                result={"error": "target changed: freeze"},
            )
        )
    with path.open("ab") as raw:
        raw.write(b"not json\n")
    code, out, _ = run_audit("show", str(path))
    assert code == 1
    first, second, third, status = out.splitlines()
    assert first.startswith("#1  2026-12-02T03:04:05.000Z  alice@bastion  intent  freeze  cutover")
    assert "[cutover frozen false→true]" in first and "override: exec approved" in first
    assert "result  freeze" in second and "ERROR: target changed: freeze" in second
    assert third == "line 3: not JSON: the line was edited or cut short"
    assert status.endswith("BROKEN at line 3: not JSON: the line was edited or cut short")


# The audit screen --------------------------------------------------------------------------------


class ScreenHost(App[None]):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def on_mount(self) -> None:
        self.push_screen(AuditScreen(self.path))


async def test_audit_screen_lists_newest_first_under_the_chain_state(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    written(path, 3)
    app = ScreenHost(path)
    async with app.run_test(size=(160, 30)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, AuditScreen)
        assert str(screen.query_one("#audit-status", Static).render()) == "chain intact, 3 entries"
        table = screen.query_one(DataTable)
        assert table.row_count == 3
        assert [str(table.get_row_at(row)[5]) for row in range(3)] == ["Wave-2", "Wave-1", "Wave-0"]
        lines = path.read_bytes().splitlines(keepends=True)
        path.write_bytes(lines[0] + lines[2])
        await pilot.press("r")
        status = str(screen.query_one("#audit-status", Static).render())
        assert status.startswith("BROKEN at line 2: ")
        await pilot.press("escape")
        assert not isinstance(app.screen, AuditScreen)


async def test_audit_screen_without_a_journal_says_so(tmp_path: Path) -> None:
    app = ScreenHost(tmp_path / "none.jsonl")
    async with app.run_test() as pilot:
        await pilot.pause()
        status = str(app.screen.query_one("#audit-status", Static).render())
        assert status.startswith("no journal yet")
