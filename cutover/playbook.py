"""The rollback playbook as a run: the plan's seven steps, each to do, done or skipped.

A run starts on a firing trigger (or by hand) and records each step as it is taken: who
took it, when, and with what result; or who skipped it, and why. The run lives in the
`maestro-cutover` ConfigMap's `playbook` key and retained on `maestro/cutover/playbook`, so
every control room shows the same run and a restart resumes it. Pure: the effectors write
it, the sources read it (within the payload limits: anyone may publish on the topic).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import Enum
from typing import Any

from .payloads import (
    MAX_NAME_CHARS,
    MAX_TEXT_CHARS,
    NOT_AN_OBJECT,
    WRONG_FIELD,
    PayloadRejected,
    read_document,
    read_time,
    rfc3339,
)

KEY = "playbook"


class StepState(str, Enum):
    TODO = "to do"
    DONE = "done"
    SKIPPED = "skipped"


@dataclass(frozen=True)
class StepSpec:
    """One of the plan's steps: its number, id and words."""

    number: int
    id: str
    title: str
    what: str


#: The plan's rollback playbook, in its order (§5: freeze; re-point to legacy; promote last
#: known-good; export logs; incident; exec update; re-cut plan).
STEPS: tuple[StepSpec, ...] = (
    StepSpec(1, "freeze", "Freeze", "stop promotions, pause what is rolling out"),
    StepSpec(2, "re-point", "Re-point builds to legacy", "the dispatcher sends builds to legacy"),
    StepSpec(3, "known-good", "Promote the last known-good", "back to the stable revision"),
    StepSpec(4, "export-logs", "Export logs", "one .tar.gz of the period, with a sha256 manifest"),
    StepSpec(5, "incident", "Open an incident", "an alert to Alertmanager: pages on-call"),
    StepSpec(6, "exec-update", "Exec update", "a message to Slack and a Grafana annotation"),
    StepSpec(7, "re-cut", "Re-cut the plan", "the wave rolled back, when it may go again, a note"),
)  # fmt: skip
STEP_IDS = tuple(step.id for step in STEPS)


def step_spec(step: str) -> StepSpec:
    found = next((s for s in STEPS if s.id == step), None)
    if found is None:
        raise KeyError(step)
    return found


@dataclass(frozen=True)
class StepRecord:
    """What happened to one step: done by whom, when, with what result; or skipped, why."""

    step: str
    state: StepState = StepState.TODO
    by: str = ""
    at: datetime | None = None
    result: str = ""
    reason: str = ""

    def line(self) -> str:
        """`done by alice 11:02: Frozen; paused 2 rollout(s)` or `to do`."""
        if self.state is StepState.TODO:
            return StepState.TODO.value
        when = f" {self.at:%H:%M}" if self.at is not None else ""
        said = self.result if self.state is StepState.DONE else self.reason
        return f"{self.state.value} by {self.by or 'someone'}{when}" + (f": {said}" if said else "")


@dataclass(frozen=True)
class PlaybookRun:
    """One run of the playbook: what started it, and each step's record."""

    trigger: str = ""
    started_by: str = ""
    started_at: datetime | None = None
    steps: Mapping[str, StepRecord] = field(default_factory=dict)
    #: The version of the object that holds it (the ConfigMap's resourceVersion).
    version: str = ""

    @property
    def started(self) -> bool:
        """Begun: some step is recorded (a record without a time still counts)."""
        return bool(self.steps) or self.started_at is not None

    def of(self, step: str) -> StepRecord:
        return self.steps.get(step) or StepRecord(step)

    def rows(self) -> tuple[tuple[StepSpec, StepRecord], ...]:
        return tuple((spec, self.of(spec.id)) for spec in STEPS)

    @property
    def next_step(self) -> StepSpec | None:
        """The first step still to do; None when every step is done or skipped."""
        return next((s for s, r in self.rows() if r.state is StepState.TODO), None)

    @property
    def finished(self) -> bool:
        return self.started and self.next_step is None

    def with_record(
        self, record: StepRecord, *, trigger: str = "", by: str = "", at: datetime | None = None
    ) -> PlaybookRun:
        """The run with `record` written; the first record starts the run (`trigger`, `by`,
        `at`), and a record of a finished run starts a new one."""
        run = self
        if not run.started or run.finished:
            run = PlaybookRun(trigger, by or record.by, at or record.at, {}, self.version)
        return replace(run, steps={**run.steps, record.step: record})

    def payload(self) -> dict[str, Any]:
        """The retained MQTT payload and the ConfigMap value (as JSON)."""
        steps = {}
        for step, record in sorted(self.steps.items()):
            entry: dict[str, Any] = {"state": record.state.value, "by": record.by}
            if record.at is not None:
                entry["at"] = rfc3339(record.at)
            if record.result:
                entry["result"] = record.result
            if record.reason:
                entry["reason"] = record.reason
            steps[step] = entry
        body: dict[str, Any] = {"trigger": self.trigger, "started_by": self.started_by}
        if self.started_at is not None:
            body["started_at"] = rfc3339(self.started_at)
        body["steps"] = steps
        return body

    def progress(self) -> str:
        """`3/7 steps: next 4 Export logs`, for a status line."""
        taken = sum(1 for _, r in self.rows() if r.state is not StepState.TODO)
        upcoming = self.next_step
        tail = f": next {upcoming.number} {upcoming.title}" if upcoming else ": finished"
        return f"playbook {taken}/{len(STEPS)}" + tail


NO_RUN = PlaybookRun()


def _text(document: Mapping[str, Any], name: str, limit: int) -> str:
    value = document.get(name, "")
    if not isinstance(value, str):
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected a string")
    if len(value) > limit:
        raise PayloadRejected(WRONG_FIELD, f"{name}: {len(value)} characters, at most {limit}")
    if not value.isprintable():
        raise PayloadRejected(WRONG_FIELD, f"{name}: unprintable characters")
    return value


def _record(step: str, value: object, now: datetime | None) -> StepRecord:
    if not isinstance(value, dict):
        raise PayloadRejected(WRONG_FIELD, f"steps.{step}: expected an object")
    try:
        state = StepState(value.get("state", ""))
    except (ValueError, TypeError):
        raise PayloadRejected(WRONG_FIELD, f"steps.{step}.state: expected a step state") from None
    return StepRecord(
        step,
        state,
        _text(value, "by", MAX_NAME_CHARS),
        read_time(value, "at", now) if "at" in value else None,
        _text(value, "result", MAX_TEXT_CHARS),
        _text(value, "reason", MAX_TEXT_CHARS),
    )


def parse_playbook(payload: bytes, *, now: datetime | None, version: str = "") -> PlaybookRun:
    """A playbook run, from the topic or the ConfigMap, read within the payload limits;
    PayloadRejected (with its reason) for anything else. Empty is no run."""
    if not payload.strip():
        return PlaybookRun(version=version)
    document = read_document(payload)
    if not isinstance(document, dict):
        raise PayloadRejected(NOT_AN_OBJECT, f"a JSON {type(document).__name__}")
    steps_value = document.get("steps", {})
    if not isinstance(steps_value, dict):
        raise PayloadRejected(WRONG_FIELD, "steps: expected an object")
    unknown = sorted(set(steps_value) - set(STEP_IDS))
    if unknown:
        raise PayloadRejected(WRONG_FIELD, f"steps: unknown step {str(unknown[0])[:40]!r}")
    steps = {step: _record(step, value, now) for step, value in steps_value.items()}
    started_at = read_time(document, "started_at", now) if "started_at" in document else None
    return PlaybookRun(
        _text(document, "trigger", MAX_NAME_CHARS),
        _text(document, "started_by", MAX_NAME_CHARS),
        started_at,
        steps,
        version,
    )


def playbook_from_data(data: Mapping[str, str], version: str, now: datetime | None) -> PlaybookRun:
    """The ConfigMap's `playbook`; one nobody can read is no run (`read_playbook_data` says
    why)."""
    return read_playbook_data(data, version, now)[0]


def read_playbook_data(
    data: Mapping[str, str], version: str, now: datetime | None
) -> tuple[PlaybookRun, PayloadRejected | None]:
    """The ConfigMap's `playbook`, and the rejection when it cannot be read."""
    try:
        return parse_playbook(data.get(KEY, "").encode(), now=now, version=version), None
    except PayloadRejected as rejected:
        return PlaybookRun(version=version), rejected


def playbook_data(run: PlaybookRun) -> dict[str, str]:
    """The ConfigMap's new `playbook` value."""
    return {KEY: json.dumps(run.payload(), sort_keys=True)}
