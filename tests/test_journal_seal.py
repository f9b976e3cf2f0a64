"""A journal cut mid-line by a crash: named at start, every action refused, and closed by
`audit seal`, which appends a seal entry recording the damage and chained from the last good
entry, so `audit verify` accepts the chain and names the break. Nothing is rewritten."""

from __future__ import annotations

import hashlib
import io
import json
from pathlib import Path

import pytest

from maestro_control_room.cutover.audit import GENESIS, verify
from maestro_control_room.sources.journal import AuditJournal, JournalError, journal_damage
from maestro_control_room.tui.audit_cli import audit_main
from maestro_control_room.widgets.eventlog import EventLog
from maestro_control_room.widgets.header import HealthRow
from tests.conftest import AppFactory
from tests.test_app import actions_done, started, text_of
from tests.test_journal import record


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def crashed_journal(path: Path, good: int = 3) -> bytes:
    """`good` entries, then the next one cut half way, as a crash during its write leaves
    it: no newline. Returns the cut bytes."""
    with AuditJournal(path) as journal:
        for n in range(good + 1):
            journal.write(record(f"wave-{n}"))
    data = path.read_bytes()
    lines = data.splitlines(keepends=True)
    cut = lines[-1][: len(lines[-1]) // 2]
    path.write_bytes(b"".join(lines[:-1]) + cut)
    return cut


def audit(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = audit_main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def test_a_cut_journal_refuses_writes_and_points_at_seal(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    crashed_journal(path)
    with pytest.raises(JournalError, match=r"cut short.*audit seal --reason TEXT"):
        AuditJournal(path).write(record())
    code, out, _ = audit("verify", str(path))
    assert code == 1 and "BROKEN at line 4" in out


def test_seal_appends_a_chained_record_of_the_damage_and_keeps_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    cut = crashed_journal(path)
    before = path.read_bytes()
    code, out, err = audit("seal", "--reason", "bastion lost power mid-write", str(path))
    assert code == 0, err
    assert "sealed line 4" in out and f"({len(cut)} bytes" in out
    after = path.read_bytes()
    assert after.startswith(before), "the damaged bytes stay, byte for byte, where they were"
    lines = after.splitlines(keepends=True)
    assert lines[3] == cut + b"\n", "the cut line only gains the newline it lacked"
    seal = json.loads(lines[4])
    assert seal["kind"] == "seal" and seal["reason"] == "bastion lost power mid-write"
    assert seal["seq"] == 4 and seal["prev"] == sha(lines[2].rstrip(b"\n"))
    assert seal["damage"] == {
        "lines": [4, 4],
        "bytes": len(cut),
        "sha256": sha(cut),
        "why": "cut short: the last line has no newline (a crash while writing)",
        "last_good_seq": 3,
        "last_good_sha256": sha(lines[2].rstrip(b"\n")),
    }
    assert seal["operator"]["user"]
    # verify accepts the chain, and says there was a break.
    code, out, _ = audit("verify", str(path))
    assert code == 0
    assert "chain intact, 5 entries; SEALED BREAK: line 4 damaged" in out
    assert "sealed at line 5" in out and "bastion lost power mid-write" in out
    # The journal goes on from the seal.
    entry = AuditJournal(path).write(record("after"))
    assert entry.seq == 5
    result = verify(path.read_bytes().splitlines(keepends=True))
    assert result.ok and result.last_seq == 5 and len(result.sealed) == 1


def test_seal_is_refused_on_an_intact_journal(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditJournal(path) as journal:
        journal.write(record())
    before = path.read_bytes()
    code, _, err = audit("seal", "--reason", "just in case", str(path))
    assert code == 1 and "refused" in err and "nothing to seal" in err
    assert path.read_bytes() == before


def test_seal_is_refused_when_sound_entries_follow_the_break(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    with AuditJournal(path) as journal:
        for n in range(3):
            journal.write(record(f"t{n}"))
    lines = path.read_bytes().splitlines(keepends=True)
    lines[1] = lines[1].replace(b"t1", b"t9")  # an edit in the middle, not a crash
    path.write_bytes(b"".join(lines))
    before = path.read_bytes()
    code, _, err = audit("seal", "--reason", "hide it", str(path))
    assert code == 1 and "not at the end" in err
    assert path.read_bytes() == before


def test_a_seal_needs_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    crashed_journal(path)
    before = path.read_bytes()
    code, _, err = audit("seal", "--reason", "  ", str(path))
    assert code == 1 and "needs a reason" in err
    assert path.read_bytes() == before


def test_the_seal_pins_the_damaged_bytes(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    crashed_journal(path)
    assert audit("seal", "--reason", "crash", str(path))[0] == 0
    lines = path.read_bytes().splitlines(keepends=True)
    lines[3] = b"x" + lines[3][1:]  # someone changes what was lost, after the seal
    result = verify(lines)
    assert not result.ok and result.broken_line == 4


def test_a_damaged_first_line_and_a_garbage_complete_line_are_sealed(tmp_path: Path) -> None:
    first = tmp_path / "first.jsonl"
    first.write_bytes(b'{"seq":1,"pr')
    assert audit("seal", "--reason", "crash", str(first))[0] == 0
    seal = json.loads(first.read_bytes().splitlines()[1])
    assert seal["seq"] == 1 and seal["prev"] == GENESIS and seal["damage"]["lines"] == [1, 1]
    garbage = tmp_path / "garbage.jsonl"
    with AuditJournal(garbage) as journal:
        journal.write(record())
    garbage.write_bytes(garbage.read_bytes() + b"\x00\x00\x00\n")
    before = garbage.read_bytes()
    assert audit("seal", "--reason", "disk fault", str(garbage))[0] == 0
    assert garbage.read_bytes().startswith(before), "no newline added to a complete line"
    code, out, _ = audit("verify", str(garbage))
    assert code == 0 and "SEALED BREAK: line 2 damaged (3 bytes" in out


def test_a_second_crash_after_a_seal_is_sealed_too(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    crashed_journal(path)
    assert audit("seal", "--reason", "first crash", str(path))[0] == 0
    AuditJournal(path).write(record("more"))
    path.write_bytes(path.read_bytes() + b'{"cut')
    assert audit("seal", "--reason", "second crash", str(path))[0] == 0
    code, out, _ = audit("verify", str(path))
    assert code == 0 and out.count("SEALED BREAK") == 2


def test_the_damage_is_named_without_refusal_words_for_a_sound_end(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    assert journal_damage(path) == "", "no journal yet is not damage"
    crashed_journal(path)
    said = journal_damage(path)
    assert said.startswith(f"audit journal {path}: BROKEN at line 4: ")
    assert "every action is refused until it is sealed" in said


async def test_the_app_names_a_damaged_journal_at_start_and_refuses_actions(
    make_app: AppFactory, tmp_path: Path
) -> None:
    path = tmp_path / "audit.jsonl"  # the journal make_app configures
    crashed_journal(path)
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await started(app, pilot)
        (toast,) = [n for n in app._notifications if n.title == "Audit journal damaged"]
        assert str(path) in toast.message and "line 4" in toast.message
        assert "audit seal" in toast.message
        assert "BROKEN at line 4" in text_of(app.query_one(HealthRow))
        log = "\n".join(line.plain for line in app.query_one(EventLog).lines)
        assert "BROKEN at line 4" in log
        await pilot.press("f", "enter")
        await actions_done(app, pilot)
        assert app.view is not None and not app.view.freeze.frozen, "refused: no journal"
        refused = [n for n in app._notifications if "refused" in (n.title or "")]
        assert refused and "audit journal cannot be written" in refused[0].message
