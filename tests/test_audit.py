"""The audit chain: operator identity, canonical entries, and `verify` naming the first
broken line for any edit, deletion or reordering."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maestro_control_room.cutover.actions import ActionKind, Change, Precondition
from maestro_control_room.cutover.audit import (
    GENESIS,
    AuditEntry,
    AuditRecord,
    EntryKind,
    Operator,
    canonical,
    next_entry,
    operator_identity,
    verify,
)

AT = datetime(2026, 12, 2, 3, 4, 5, 678000, tzinfo=UTC)
ALICE = Operator("alice", "root", "10.1.2.3", "bastion-1", "war-room")


def record(number: int, **fields: object) -> AuditRecord:
    values: dict[str, object] = {
        "kind": EntryKind.INTENT,
        "ts": AT + timedelta(seconds=number),
        "action": ActionKind.FREEZE,
        "target": "cutover",
        "changes": (Change("cutover", "frozen", "false", "true"),),
        "operator": ALICE,
        "preconditions": (Precondition("unchanged", "target unchanged since shown", True),),
        "override": "",
    }
    values.update(fields)
    return AuditRecord(**values)  # type: ignore[arg-type]


def chain(count: int) -> list[bytes]:
    lines: list[bytes] = []
    for number in range(count):
        entry = next_entry(record(number, target=f"Wave-{number} é"), lines[-1] if lines else None)
        lines.append(entry.line.encode("utf-8"))
    return lines


def as_file(lines: list[bytes]) -> list[bytes]:
    return [line + b"\n" for line in lines]


# Operator identity ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "tmux_name", "expected"),
    [
        ({}, "", Operator("alice", host="bastion")),
        (
            {
                "SUDO_USER": "bob",
                "SSH_CONNECTION": "192.0.2.7 51022 10.0.0.5 22",
                "TMUX": "/tmp/tmux-0/default,4242,3",
                "TMUX_PANE": "%7",
            },
            "",
            Operator("alice", "bob", "192.0.2.7", "bastion", "/tmp/tmux-0/default $3"),
        ),
        (
            {"TMUX": "/tmp/tmux-0/default,4242,3", "SSH_CONNECTION": "2001:db8::1 5 ::1 22"},
            "cutover",
            Operator("alice", "", "2001:db8::1", "bastion", "cutover"),
        ),
        ({"TMUX_PANE": "%7"}, "", Operator("alice", host="bastion", tmux_session="%7")),
        ({"SSH_CONNECTION": ""}, "", Operator("alice", host="bastion")),
    ],
)
def test_operator_identity(environ: dict[str, str], tmux_name: str, expected: Operator) -> None:
    assert operator_identity(environ, "bastion", "alice", tmux_name) == expected


# Entries ----------------------------------------------------------------------------------------


def test_first_entry_starts_the_chain_and_has_every_field() -> None:
    entry = next_entry(record(0, override="exec approved"), None)
    body = json.loads(entry.line)
    assert body["seq"] == 1 and entry.seq == 1
    assert body["prev"] == GENESIS
    assert body["ts"] == "2026-12-02T03:04:05.678Z"
    assert body["kind"] == "intent"
    assert body["action"] == "freeze"
    assert body["target"] == "cutover"
    assert body["changes"] == [
        {"target": "cutover", "field": "frozen", "before": "false", "after": "true"}
    ]
    assert body["operator"] == {
        "user": "alice",
        "sudo_user": "root",
        "ssh_client": "10.1.2.3",
        "host": "bastion-1",
        "tmux_session": "war-room",
    }
    assert body["preconditions"] == [
        {"id": "unchanged", "title": "target unchanged since shown", "ok": True, "detail": ""}
    ]
    assert body["override"] == "exec approved"
    assert "result" not in body and "intent_seq" not in body


def test_entries_are_canonical_and_chain_on_the_exact_previous_line() -> None:
    first = next_entry(record(0), None)
    second = next_entry(
        record(1, kind=EntryKind.RESULT, result={"ok": True, "message": "done"}, intent_seq=1),
        first.line.encode(),
    )
    body = json.loads(second.line)
    assert second.line == canonical(body)
    assert " " not in second.line.replace("target unchanged since shown", "")
    assert body["seq"] == 2
    assert body["prev"] == hashlib.sha256(first.line.encode()).hexdigest() == first.digest
    assert body["intent_seq"] == 1
    assert body["result"] == {"ok": True, "message": "done"}


def test_non_ascii_is_kept_as_is() -> None:
    entry = next_entry(record(0, override="café fermé"), None)
    assert "café fermé" in entry.line


def test_a_chain_cannot_continue_from_a_line_that_is_not_an_entry() -> None:
    with pytest.raises(ValueError, match="not JSON"):
        next_entry(record(1), b"{oops")


# verify -----------------------------------------------------------------------------------------


def test_an_intact_chain_verifies() -> None:
    lines = chain(5)
    result = verify(as_file(lines))
    assert result.ok
    assert result.entries == 5
    assert result.last_seq == 5
    assert result.head == hashlib.sha256(lines[-1]).hexdigest()
    assert str(result) == "chain intact, 5 entries"


def test_an_empty_journal_is_intact() -> None:
    result = verify([])
    assert result.ok and result.entries == 0 and result.head == GENESIS


def test_an_edited_field_is_named_at_its_line() -> None:
    lines = chain(4)
    body = json.loads(lines[1])
    body["target"] = "Wave-9"
    lines[1] = canonical(body).encode()
    result = verify(as_file(lines))
    assert result.broken_line == 2
    assert "edited" in result.why
    assert str(result).startswith("BROKEN at line 2: ")


def test_an_edit_that_recomputes_the_own_hash_is_caught_by_the_next_line() -> None:
    lines = chain(4)
    body = json.loads(lines[1])
    body["target"] = "Wave-9"
    resealed = next_entry(record(1, target="Wave-9"), lines[0])
    assert json.loads(resealed.line)["seq"] == body["seq"]
    lines[1] = resealed.line.encode()
    result = verify(as_file(lines))
    assert result.broken_line == 3
    assert "deleted or reordered" in result.why


def test_a_deleted_line_is_named() -> None:
    lines = chain(4)
    del lines[1]
    assert verify(as_file(lines)).broken_line == 2


def test_a_deleted_first_line_is_named() -> None:
    result = verify(as_file(chain(3)[1:]))
    assert result.broken_line == 1
    assert "first line" in result.why


def test_reordered_lines_are_named() -> None:
    lines = chain(4)
    lines[1], lines[2] = lines[2], lines[1]
    assert verify(as_file(lines)).broken_line == 2


def test_a_line_that_is_not_json_is_named() -> None:
    lines = as_file(chain(3))
    lines[2] = b'{"seq": 3, "prev\n'
    result = verify(lines)
    assert result.broken_line == 3
    assert "not JSON" in result.why


def test_a_reformatted_line_is_an_edit() -> None:
    lines = chain(2)
    lines[1] = json.dumps(json.loads(lines[1]), indent=1).replace("\n", "").encode()
    result = verify(as_file(lines))
    assert result.broken_line == 2
    assert "canonical" in result.why


def test_a_seq_out_of_order_is_named() -> None:
    lines = chain(1)
    # A well-formed second entry that chains correctly but skips a number.
    skipped = dict(json.loads(next_entry(record(1), lines[0]).line))
    skipped["seq"] = 5
    del skipped["hash"]
    skipped["hash"] = hashlib.sha256(canonical(skipped).encode()).hexdigest()
    lines.append(canonical(skipped).encode())
    result = verify(as_file(lines))
    assert result.broken_line == 2
    assert "seq 5 out of order: expected 2" in result.why


@pytest.mark.parametrize("line", [b"[1, 2]", b'{"prev": "x"}', b'{"seq": true, "prev": ""}'])
def test_json_that_is_not_an_entry_is_named(line: bytes) -> None:
    result = verify([line])
    assert result.broken_line == 1


def test_entry_round_trip_is_stable() -> None:
    entry = next_entry(record(0), None)
    assert isinstance(entry, AuditEntry)
    assert canonical(json.loads(entry.line)) == entry.line


# Properties: any single edit, deletion or swap is caught ----------------------------------------

chains = st.integers(min_value=1, max_value=8).map(chain)


@given(st.data(), chains)
def test_any_single_byte_edit_is_caught_at_its_line(
    data: st.DataObject, lines: list[bytes]
) -> None:
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    line = lines[index]
    position = data.draw(st.integers(0, len(line) - 1), label="position")
    byte = data.draw(st.integers(0, 255).filter(lambda b: b != line[position]), label="byte")
    edited = list(lines)
    edited[index] = line[:position] + bytes([byte]) + line[position + 1 :]
    result = verify(as_file(edited))
    assert result.broken_line == index + 1


@given(st.data(), chains)
def test_any_field_rewrite_is_caught(data: st.DataObject, lines: list[bytes]) -> None:
    index = data.draw(st.integers(0, len(lines) - 1), label="line")
    body = json.loads(lines[index])
    key = data.draw(st.sampled_from(sorted(body)), label="field")
    value = data.draw(st.one_of(st.text(max_size=10), st.integers(), st.booleans(), st.none()))
    if body[key] == value:
        return
    body[key] = value
    edited = list(lines)
    edited[index] = canonical(body).encode()
    result = verify(as_file(edited))
    assert result.broken_line == index + 1


@given(st.data(), st.integers(min_value=2, max_value=8).map(chain))
def test_any_deletion_but_the_last_is_caught(data: st.DataObject, lines: list[bytes]) -> None:
    # Deleting the last lines leaves a valid shorter chain: `head` is what catches that.
    index = data.draw(st.integers(0, len(lines) - 2), label="line")
    shortened = lines[:index] + lines[index + 1 :]
    result = verify(as_file(shortened))
    assert result.broken_line == index + 1


@given(st.data(), st.integers(min_value=2, max_value=8).map(chain))
def test_any_swap_is_caught(data: st.DataObject, lines: list[bytes]) -> None:
    first = data.draw(st.integers(0, len(lines) - 2), label="first")
    second = data.draw(st.integers(first + 1, len(lines) - 1), label="second")
    swapped = list(lines)
    swapped[first], swapped[second] = swapped[second], swapped[first]
    result = verify(as_file(swapped))
    assert result.broken_line == first + 1


@given(st.integers(min_value=1, max_value=6).map(chain))
def test_truncation_changes_the_head(lines: list[bytes]) -> None:
    whole, cut = verify(as_file(lines)), verify(as_file(lines[:-1]))
    assert cut.ok and cut.head != whole.head and cut.last_seq == whole.last_seq - 1
