"""The recorder on disk: compressed JSON lines, buffered, rotated by size, and read back
up to any damage a killed recorder or a bad line leaves."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from maestro_control_room.cutover.actions import ActionKind, Change
from maestro_control_room.cutover.audit import AuditRecord, EntryKind, Operator
from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.recording import (
    Batch,
    Header,
    Tick,
    config_document,
    encode_update,
    header_line,
    part_line,
    record_line,
)
from maestro_control_room.cutover.recording import PartStart as Part
from maestro_control_room.cutover.updates import HealthState, SourceHealth
from maestro_control_room.sources.journal import AuditJournal
from maestro_control_room.sources.recorder import RecorderError, SessionRecorder, part_path
from maestro_control_room.sources.replay import RecordingError, open_recording
from tests.conftest import CONFIG, ROOT
from tests.conftest import config_document as toml_document

AT = datetime(2026, 12, 2, 11, 0, tzinfo=timezone.utc)


class StepClock:
    def __init__(self) -> None:
        self.current = AT

    def now(self) -> datetime:
        return self.current


def make_header(session: str = "s1") -> Header:
    config = Config.model_validate(toml_document())
    return Header(
        session=session,
        started=AT,
        now=AT,
        wall=1000.0,
        operator="alice",
        identity={"user": "alice", "host": "bastion"},
        sources=("sim",),
        config=config_document(config),
        config_toml=CONFIG.read_text(),
        config_path=str(CONFIG),
        workbook_csv=(ROOT / config.waves.workbook).read_text(),
        workbook_path=str(ROOT / config.waves.workbook),
    )


def health(n: int) -> SourceHealth:
    return SourceHealth("sim", HealthState.CONNECTED, AT + timedelta(seconds=n), f"reading {n}")


def lines_of(path: Path) -> list[dict[str, object]]:
    """Every complete line, whether or not the gzip stream was ended."""
    out: list[dict[str, object]] = []
    try:
        with gzip.open(path, "rb") as stream:
            out.extend(json.loads(line) for line in stream)
    except EOFError:
        pass
    return out


def test_the_header_comes_first_then_each_record_with_its_times(tmp_path: Path) -> None:
    clock, wall = StepClock(), [1000.0]
    path = tmp_path / "shift.jsonl.gz"
    recorder = SessionRecorder(path, make_header(), clock, wall=lambda: wall[0])
    wall[0], clock.current = 1001.5, AT + timedelta(seconds=10)
    recorder.delivered([health(1)])
    recorder.evaluated(clock.current)
    recorder.evaluated(clock.current)  # the same instant, nothing new: not written again
    recorder.close()
    recorder.close()
    lines = lines_of(path)
    assert [line["k"] for line in lines] == ["header", "batch", "tick"]
    assert lines[0]["operator"] == "alice" and lines[0]["format"] == 1
    assert "[cutover]" in str(lines[0]["config_toml"])
    assert "Team/Repo" in str(lines[0]["workbook_csv"])
    batch = lines[1]
    assert batch["w"] == 1001.5 and batch["n"] == "2026-12-02T11:00:10+00:00"
    assert batch["src"] == "sim" and batch["u"] == [encode_update(health(1))]
    gzip.decompress(path.read_bytes())  # closed: a complete gzip file


def test_nothing_is_written_on_the_apps_thread_until_a_flush(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl.gz"
    recorder = SessionRecorder(path, make_header(), StepClock(), flush_every=3600)
    for n in range(200):
        recorder.delivered([health(n)])
    assert [line["k"] for line in lines_of(path)] == ["header"], "only queued"
    recorder.close()
    assert len(lines_of(path)) == 201


def test_a_flush_makes_records_readable_while_recording(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl.gz"
    recorder = SessionRecorder(path, make_header(), StepClock(), flush_every=0.02)
    recorder.delivered([health(1)])
    deadline = time.monotonic() + 10
    while len(lines_of(path)) < 2:
        assert time.monotonic() < deadline, "the flush never came"
        time.sleep(0.01)
    recording = open_recording(path)  # open, not ended: read up to the last flush
    assert recording.count == 1
    assert "without its gzip end" in str(recording.problems[0])
    recorder.close()


def test_parts_rotate_by_size_and_replay_in_order(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl.gz"
    wall = [1000.0]
    recorder = SessionRecorder(
        path, make_header(), StepClock(), max_bytes=700, flush_every=3600, wall=lambda: wall[0]
    )
    for chunk in range(12):
        for n in range(40):
            wall[0] += 1
            recorder.delivered([health(chunk * 100 + n)])
        recorder._drain()  # one flush a chunk, as the thread would each second
    recorder.close()
    parts = sorted(tmp_path.iterdir())
    assert len(parts) >= 3 and recorder.parts == len(parts)
    for part in range(1, len(parts)):
        gzip.decompress(part_path(path, part - 1).read_bytes())  # each closed properly
        first = lines_of(part_path(path, part))[0]
        assert first == {"k": "part", "session": "s1", "part": part, "w": first["w"]}
    recording = open_recording(path)
    assert recording.problems == []
    assert recording.count == 480 and len(recording.parts) == len(parts)
    assert list(recording.offsets) == [float(n) for n in range(1, 481)]
    readings = [
        parsed.record.updates[0].reason  # type: ignore[union-attr]
        for _, parsed in recording.records()
    ]
    assert readings == [f"reading {c * 100 + n}" for c in range(12) for n in range(40)]
    # From the middle of a later part, too.
    index, parsed = next(recording.records(300))
    assert index == 300 and parsed.record.updates[0].reason == "reading 720"  # type: ignore[union-attr]


def test_an_existing_recording_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl.gz"
    path.write_bytes(b"yesterday")
    with pytest.raises(RecorderError, match="already there"):
        SessionRecorder(path, make_header(), StepClock())
    assert path.read_bytes() == b"yesterday"


def test_audit_entries_are_recorded_as_the_journal_writes_them(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl.gz"
    recorder = SessionRecorder(path, make_header(), StepClock(), flush_every=3600)
    journal = AuditJournal(tmp_path / "audit.jsonl")
    journal.observe(recorder.audited)
    journal.observe(lambda entry: 1 / 0)  # a failing observer fails nothing
    entry = journal.write(
        AuditRecord(
            EntryKind.INTENT,
            AT,
            ActionKind.FREEZE,
            "cutover",
            (Change("cutover", "frozen", "false", "true"),),
            Operator("alice", host="bastion"),
            (),
        )
    )
    journal.close()
    recorder.close()
    audit = lines_of(path)[1]
    assert audit["k"] == "audit" and audit["entry"] == json.loads(entry.line)
    recording = open_recording(path)
    assert [mark.text for mark in recording.marks] == ["intent freeze cutover by alice@bastion"]


def write_recording(path: Path, lines: list[str], *, end: bool = True) -> None:
    data = ("\n".join(lines) + "\n").encode()
    if end:
        path.write_bytes(gzip.compress(data))
    else:
        compressor = zlib.compressobj(wbits=31)  # gzip, flushed but never ended
        path.write_bytes(compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH))


def test_bad_lines_are_named_and_skipped(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl.gz"
    good = record_line(Batch(1001, AT, "sim", (health(1),)))
    unknown = json.dumps(
        {"k": "batch", "w": 1002, "n": AT.isoformat(), "u": [{"type": "Hologram"}]}
    )
    write_recording(
        path,
        [
            header_line(make_header()),
            good,
            "this is not JSON",
            '{"k":"batch","w":1003,"n":"2026-12-02T11:00:00+00:00","u":[}',
            unknown,
            record_line(Tick(1004, AT)),
        ],
    )
    recording = open_recording(path)
    assert [str(problem) for problem in recording.problems] == [
        "shift.jsonl.gz line 3: skipped: not JSON (Expecting value at column 1)",
    ]
    assert recording.count == 4
    decoded = list(recording.records())
    # The cut line has a sound start, so the index keeps it; decoding it names its line.
    assert "line 4: skipped: not JSON" in str(decoded[1][1])
    assert decoded[2][1].skipped == ("update 1: unknown update type 'Hologram'",)  # type: ignore[union-attr]
    assert recording.where(2) == "shift.jsonl.gz line 5"
    assert isinstance(decoded[3][1].record, Tick)  # type: ignore[union-attr]


def test_a_part_of_another_recording_stops_the_replay_before_it(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl.gz"
    write_recording(path, [header_line(make_header("s1")), record_line(Tick(1001, AT))])
    write_recording(
        part_path(path, 1), [part_line(Part("s2", 1, 2000.0)), record_line(Tick(2001, AT))]
    )
    recording = open_recording(path)
    assert recording.count == 1
    assert "not the next part of this recording" in str(recording.problems[0])


def test_what_is_not_a_recording_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such recording"):
        open_recording(tmp_path / "missing.gz")
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"k":"tick"}\n')
    with pytest.raises(RecordingError, match="not a recording"):
        open_recording(plain)
    headless = tmp_path / "headless.gz"
    write_recording(headless, [record_line(Tick(1, AT))])
    with pytest.raises(RecordingError, match="no header"):
        open_recording(headless)


KILLED = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from tests.test_recorder import StepClock, health, make_header, lines_of
    from maestro_control_room.sources.recorder import SessionRecorder

    path = Path(sys.argv[1])
    recorder = SessionRecorder(path, make_header(), StepClock(), flush_every=0.02)
    for n in range(50):
        recorder.delivered([health(n)])
    while len(lines_of(path)) < 51:
        time.sleep(0.01)
    for n in range(50, 60):
        recorder.delivered([health(n)])  # queued, never flushed: lost with the process
    print("ready", flush=True)
    time.sleep(60)
    """
)


def test_a_killed_recorder_leaves_a_recording_that_replays_up_to_the_damage(
    tmp_path: Path,
) -> None:
    path = tmp_path / "shift.jsonl.gz"
    with subprocess.Popen(
        [sys.executable, "-c", KILLED, str(path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        process.send_signal(signal.SIGKILL)
        process.wait()
    recording = open_recording(path)
    assert recording.count >= 50
    assert [str(p) for p in recording.problems] == [
        f"shift.jsonl.gz line {recording.count + 2}: the file ends without its gzip end:"
        " the recorder was stopped without closing it (or is still writing); replayed up to"
        " the line before"
    ]
    reasons = [p.record.updates[0].reason for _, p in recording.records()]  # type: ignore[union-attr]
    assert reasons[:50] == [f"reading {n}" for n in range(50)]


def test_a_part_cut_short_mid_stream_replays_up_to_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl.gz"
    lines = [header_line(make_header())]
    lines += [record_line(Batch(1000 + n, AT, "sim", (health(n),))) for n in range(300)]
    write_recording(path, lines)
    data = path.read_bytes()
    path.write_bytes(data[:-400])  # a write torn off by the kill
    recording = open_recording(path)
    assert 0 < recording.count < 300
    assert "gzip end" in str(recording.problems[-1])
    assert len(list(recording.records())) == recording.count


def test_an_unended_stream_with_a_torn_last_line(tmp_path: Path) -> None:
    path = tmp_path / "shift.jsonl.gz"
    tick = record_line(Tick(1001, AT))
    write_recording(path, [header_line(make_header()), tick, tick[:20]], end=False)
    recording = open_recording(path)
    assert recording.count == 1
    assert recording.problems[0].line == 3


def test_a_recording_that_cannot_be_written_stops_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "shift.jsonl.gz"
    told: list[str] = []
    recorder = SessionRecorder(
        path, make_header(), StepClock(), flush_every=3600, on_error=told.append
    )

    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    recorder.delivered([health(1)])
    recorder._drain()
    assert recorder.error == f"recording {path} stopped: No space left on device"
    assert told == [recorder.error]
    recorder.delivered([health(2)])  # the app goes on; the recording does not
    monkeypatch.undo()
    recorder.close()
    assert told == [recorder.error]
