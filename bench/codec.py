"""The recording codec's speed, beside pydantic's `TypeAdapter` on the same records:
`python -m bench.codec [RECORDS]` prints one JSON object of figures.

The records are what a recording of the simulator holds: one batch a simulated second (the
KPIs, the build events, rollouts, waves, the freeze, alerts, sign-offs, acknowledgements)
and a tick after each, `RECORDS` in all (100,000 by default: fourteen hours of a session).
Each codec encodes them to lines and decodes the lines back; the figures are the best of
`ROUNDS` runs. The TypeAdapter's lines are then compared with the format's
(docs/recording.md): the lines that differ, and the first difference.
"""

from __future__ import annotations

import json
import sys
import time
import typing
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, cast

from pydantic import ConfigDict, Discriminator, Tag, TypeAdapter
from typing_extensions import TypedDict

from maestro_control_room.cutover.recording import (
    UPDATE_TYPES,
    Batch,
    Record,
    Tick,
    parse_line,
    record_line,
)
from maestro_control_room.cutover.updates import Update
from maestro_control_room.cutover.waves import parse_workbook
from maestro_control_room.sources.sim import EXAMPLE_WORKBOOK, Simulator, load_scenario

GO_LIVE = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
RECORDS = 100_000
ROUNDS = 3


def session_records(count: int) -> list[Record]:
    """`count` records of a simulated session under the brownout scenario."""
    sim = Simulator(
        parse_workbook(EXAMPLE_WORKBOOK.read_text(encoding="utf-8")),
        load_scenario("brownout"),
        seed=7,
        start=GO_LIVE + timedelta(hours=26),
        go_live=GO_LIVE,
    )
    wall = 1_764_669_600.0
    records: list[Record] = [Batch(wall, sim.now, "sim", tuple(sim.initial()))]
    while len(records) < count:
        wall += 1.0
        updates = tuple(sim.advance(1.0))
        records.append(Batch(wall, sim.now, "sim", updates))
        records.append(Tick(wall + 0.01, sim.now))
    return records[:count]


class TypeAdapterCodec:
    """The same lines through pydantic: an update's type chosen by its `type` key (the
    format's tag), everything else by the fields' types; defaults left out, NaN as a
    string, durations in seconds, as the format has them."""

    def __init__(self) -> None:
        # Types made at run time, from the update union: built through `Any`, as a type
        # checker only reads such forms written out.
        members = tuple(Annotated[cls, Tag(cls.__name__)] for cls in typing.get_args(Update))
        tagged = cast(Any, typing.Union)[members]
        update = cast(Any, Annotated)[tagged, Discriminator(_tag)]
        config = ConfigDict(ser_json_inf_nan="strings", ser_json_timedelta="float")
        self.update: TypeAdapter[Any] = TypeAdapter(update, config=config)
        # A whole line in one call, so pydantic reads the JSON itself, not Python's json.
        fields = {"k": str, "w": float, "n": datetime, "src": str, "u": cast(Any, list)[update]}
        line = cast(Any, TypedDict)("Line", fields, total=False)
        self.whole_line: TypeAdapter[Any] = TypeAdapter(line)

    def line(self, record: Record) -> str:
        head: dict[str, Any] = {"k": "", "w": record.wall, "n": record.now.isoformat()}
        if isinstance(record, Batch):
            head["k"] = "batch"
            head["src"] = record.source
            head["u"] = [self._update(update) for update in record.updates]
        else:
            head["k"] = "tick"
        return json.dumps(head, separators=(",", ":"), allow_nan=False)

    def _update(self, update: Update) -> Any:
        body = self.update.dump_python(update, mode="json", exclude_defaults=True)
        return {"type": type(update).__name__, **body}

    def parse(self, line: str) -> Record:
        body = self.whole_line.validate_json(line)
        if body["k"] == "tick":
            return Tick(body["w"], body["n"])
        return Batch(body["w"], body["n"], body["src"], tuple(body["u"]))


def _tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return str(value.get("type"))
    return type(value).__name__ if type(value).__name__ in UPDATE_TYPES else None


def best_of(rounds: int, run: Callable[[], object]) -> float:
    took = []
    for _ in range(rounds):
        began = time.perf_counter()
        run()
        took.append(time.perf_counter() - began)
    return min(took)


def first_difference(ours: str, theirs: str) -> str:
    at = next((i for i, (a, b) in enumerate(zip(ours, theirs, strict=False)) if a != b), 0)
    start = max(0, at - 30)
    return f"codec …{ours[start : at + 50]}… / TypeAdapter …{theirs[start : at + 50]}…"


def measure(count: int, rounds: int = ROUNDS) -> dict[str, Any]:
    records = session_records(count)
    updates = sum(len(r.updates) for r in records if isinstance(r, Batch))
    adapter = TypeAdapterCodec()
    lines: Sequence[str] = [record_line(record) for record in records]
    adapted: Sequence[str] = [adapter.line(record) for record in records]
    figures: dict[str, Any] = {
        "records": count,
        "batches": sum(isinstance(record, Batch) for record in records),
        "updates": updates,
        "megabytes": round(sum(map(len, lines)) / 1e6, 1),
        "codec_encode_s": best_of(rounds, lambda: [record_line(r) for r in records]),
        "codec_decode_s": best_of(rounds, lambda: [parse_line(line) for line in lines]),
        "typeadapter_encode_s": best_of(rounds, lambda: [adapter.line(r) for r in records]),
        "typeadapter_decode_s": best_of(rounds, lambda: [adapter.parse(x) for x in lines]),
    }
    differ = [(ours, theirs) for ours, theirs in zip(lines, adapted, strict=True) if ours != theirs]
    figures["typeadapter_lines_differing"] = len(differ)
    if differ:
        figures["typeadapter_first_difference"] = first_difference(*differ[0])
    # Beyond UTC written `Z` where the format keeps the offset `+00:00`:
    beyond = [(a, b) for a, b in differ if a != b.replace('Z"', '+00:00"')]
    figures["typeadapter_lines_differing_beyond_utc_z"] = len(beyond)
    if beyond:
        ours, theirs = beyond[0]
        figures["typeadapter_first_difference_beyond_utc_z"] = first_difference(
            ours, theirs.replace('Z"', '+00:00"')
        )
    decoded = [parse_line(line).record for line in lines]
    figures["typeadapter_decodes_equal"] = sum(
        adapter.parse(line) == record for line, record in zip(lines, decoded, strict=True)
    )
    return figures


if __name__ == "__main__":
    print(json.dumps(measure(int(sys.argv[1]) if len(sys.argv) > 1 else RECORDS), indent=1))
