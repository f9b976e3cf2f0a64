"""The shift handover: what the next shift must know, as Markdown. Pure: no I/O.

One clock: the room's. It stamps the trigger transitions, the incident records, the audit
journal's entries and the events: the wall clock with real sources, the simulated clock with
the simulator alone (scaled time included). The period is on that clock too, so triggers,
incidents and actions are filtered by the same `since` and `until`. A command that starts a
fresh simulator (a headless `handover`) stands before what an earlier room recorded; its
period ends at the last moment recorded instead (`records_end`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from .audit import entry_changes, entry_operator, entry_outcome
from .clock import t_label
from .config import start_offset
from .durations import format_duration, parse_duration
from .gates import CheckKind, CheckResult, CheckState
from .incidents import Incident, Moment, figures, in_period
from .kpis import format_value
from .room import RoomView, TriggerTransition
from .triggers import TriggerState, TriggerStatus
from .updates import HealthState
from .waves import WaveState

#: How far back a handover looks unless told otherwise.
DEFAULT_PERIOD = timedelta(hours=12)
NOTHING = "None."


def parse_since(text: str, now: datetime, go_live: datetime) -> datetime:
    """`--since`: an RFC 3339 time (`2026-12-02T06:00:00Z`), a point of the plan
    (`T+1d`, `T-2d`) or a duration back from `now` (`12h`). ValueError says what was
    expected."""
    spec = text.strip()
    if spec[:2] in ("T+", "T-"):
        return go_live + start_offset(spec)
    try:
        return now - parse_duration(spec)
    except ValueError:
        pass  # not a duration: a time, then
    try:
        moment = datetime.fromisoformat(spec.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"--since {text!r}: expected an RFC 3339 time such as 2026-12-02T06:00:00Z,"
            " a point of the plan such as T+1d, or a duration back from now such as 12h"
        ) from None
    if moment.tzinfo is None:
        raise ValueError(f"--since {text!r}: give the time's offset, for example a trailing Z")
    return moment


def entry_time(entry: Mapping[str, Any]) -> datetime | None:
    """A journal entry's `ts`, or None when it has none that reads as a time."""
    stamp = entry.get("ts")
    if not isinstance(stamp, str):
        return None
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class TakenAction:
    """An intent from the journal and its result, if one was written."""

    intent: Mapping[str, Any] | None
    result: Mapping[str, Any] | None = None

    @property
    def first(self) -> Mapping[str, Any]:
        """The intent, or the result when its intent is not in the journal: what both
        carry (action, target, operator) is read from it."""
        found = self.intent or self.result
        assert found is not None
        return found

    @property
    def at(self) -> datetime | None:
        return entry_time(self.first)

    def within(self, since: datetime, until: datetime) -> bool:
        times = [entry_time(entry) for entry in (self.intent, self.result) if entry is not None]
        return any(t is not None and since <= t <= until for t in times)

    @property
    def outcome(self) -> str:
        if self.result is None:
            return "NO RESULT written: the outcome is unknown, check the target"
        outcome = entry_outcome(self.result)
        return outcome + (" (intent not found)" if self.intent is None else "")


def pair_actions(entries: Iterable[Mapping[str, Any]]) -> list[TakenAction]:
    """Intents with their results (by `intent_seq`), in the order they were journalled."""
    pairs: list[TakenAction] = []
    by_seq: dict[int, int] = {}
    for entry in entries:
        kind = entry.get("kind")
        if kind == "intent":
            seq = entry.get("seq")
            if isinstance(seq, int):
                by_seq[seq] = len(pairs)
            pairs.append(TakenAction(entry))
        elif kind == "result":
            index = by_seq.get(entry.get("intent_seq", -1))
            if index is None:
                pairs.append(TakenAction(None, entry))
            else:
                pairs[index] = TakenAction(pairs[index].intent, entry)
    return pairs


def handover_markdown(
    view: RoomView,
    trigger_log: Iterable[TriggerTransition],
    actions: Iterable[Mapping[str, Any]],
    since: datetime,
    until: datetime,
    operator: str,
    *,
    name: str = "",
    trigger_log_from: datetime | None = None,
    journal: str = "",
    incidents: Sequence[Incident] = (),
) -> str:
    """The handover of the shift from `since` to `until`, on the room's clock.

    `trigger_log` is the room's trigger transitions (complete from `trigger_log_from`),
    `actions` the audit journal's entries, parsed, in file order; `journal` a line on the
    journal itself (its path and whether its chain is intact).
    """
    lines = _header(view, since, until, operator, name)
    lines += _current_state(view)
    lines += _fired(view, trigger_log, since, until, trigger_log_from, incidents)
    lines += _incidents(incidents, since, until)
    lines += _actions(pair_actions(actions), since, until, journal)
    lines += _gates(view)
    lines += _done_and_smoke(view)
    lines += _blockers(view)
    return "\n".join(lines).rstrip() + "\n"


# Sections -----------------------------------------------------------------------------------


def _header(
    view: RoomView, since: datetime, until: datetime, operator: str, name: str
) -> list[str]:
    clock = view.clock
    title = f"Shift handover: {name}" if name else "Shift handover"
    return [
        f"# {title}",
        "",
        f"- Cutover clock: {clock.label}, {clock.phase_detail} ({when(view.now)})",
        f"- Period covered: {when(since)} to {when(until)} ({format_duration(until - since)})",
        f"- Written by: {operator}, {when(until)}",
        "",
    ]


def _current_state(view: RoomView) -> list[str]:
    lines = ["## Current state", ""]
    if view.gates is not None:
        blocking = len(view.gates.blockers)
        lines.append(
            f"- Go/No-Go: **{view.gates.verdict.value}**"
            + (f", {blocking} required check(s) not passing" if blocking else "")
        )
    freeze = view.freeze
    if freeze.frozen:
        at = when(freeze.at) if freeze.at else "an unknown time"
        paused = f"; {len(freeze.paused_by_freeze)} rollout(s) paused by the freeze"
        lines.append(
            f"- Freeze: **FROZEN** by {freeze.by or '?'} at {at}: {freeze.reason or 'no reason'}"
            + (paused if freeze.paused_by_freeze else "")
        )
    else:
        lines.append("- Freeze: not frozen")
    if view.green_since is not None:
        lines.append(
            f"- Green since {when(view.green_since)}"
            f" ({format_duration(view.now - view.green_since)}"
            f" of the {format_duration(view.green_period)} a wave waits for)"
        )
    else:
        lines.append("- Not green: a rollback trigger is pending, firing or unknown")
    lines.append("")
    lines += ["### KPIs", ""]
    lines += _table(
        ("KPI", "Value", "Verdict", "Limit"),
        [
            (k.spec.title, format_value(k.signal.value, k.spec.unit), k.verdict.value,
             k.spec.limit_text)
            for k in view.kpis
        ],
    )  # fmt: skip
    lines += ["### Rollback triggers", ""]
    lines += _table(
        ("Trigger", "State", "Value", "Since"),
        [
            (t.spec.title, t.state.value, trigger_value(t),
             _relative(t.since, view) if t.since else "—")
            for t in view.triggers
        ],
    )  # fmt: skip
    lines += ["### Waves", ""]
    lines += _table(
        ("Wave", "State", "Since", "On Maestro", "Shadow pass", "Next eligible"),
        [
            (w.wave, w.state.value, _relative(w.since, view) if w.since else "—",
             f"{w.on_maestro}/{w.repos}",
             "—" if w.shadow_pass is None else f"{w.shadow_pass * 100:.1f}%",
             _eligible(w.eligible_at, w.waiting_for, view))
            for w in view.waves
        ],
    )  # fmt: skip
    lines += ["### Rollouts", ""]
    lines += _table(
        ("Rollout", "Phase", "Step", "Weight", "Analysis", "Note"),
        [
            (r.key, r.phase.value + (" (aborted)" if r.aborted else ""), f"{r.step}/{r.steps}",
             f"{r.weight}%", r.analysis or "—", r.pause_reason or r.message)
            for r in view.rollouts
        ],
    )  # fmt: skip
    lines += ["### Sources", ""]
    lines += _table(("Source", "Health"), [(h.source, h.text) for h in view.health])
    return lines


def _fired(
    view: RoomView,
    log: Iterable[TriggerTransition],
    start: datetime,
    end: datetime,
    log_from: datetime | None,
    incidents: Sequence[Incident] = (),
) -> list[str]:
    lines = ["## Rollback triggers fired", ""]
    shown = [
        t
        for t in log
        if start <= t.at <= end
        and (TriggerState.FIRING in (t.before, t.after) or t.after is TriggerState.RESOLVED)
    ]
    # The incident log remembers firings from before this room watched (a restart, a
    # headless handover): each one's firing and resolution, unless the log has them too.
    seen = {(t.title, t.at, _change(t)) for t in shown}
    recorded = [
        (moment, incident.title, change)
        for incident in incidents
        for moment, change in ((incident.fired, "fired"), (incident.resolved, "resolved"))
        if moment is not None and start <= moment <= end
        and (incident.title, moment, change) not in seen
    ]  # fmt: skip
    if log_from is not None and log_from > start and not recorded:
        lines += [f"Recorded by this control room from {when(log_from)}.", ""]
    if not shown and not recorded:
        return [*lines, "No rollback trigger fired in the period.", ""]
    rows = [(t.at, t.title, _change(t)) for t in shown] + recorded
    rows.sort(key=lambda row: row[0])
    table = [
        (when(at), t_label(at - view.clock.go_live), title, change) for at, title, change in rows
    ]
    return lines + _table(("When", "Clock", "Trigger", "Change"), table)


def _incidents(incidents: Sequence[Incident], since: datetime, until: datetime) -> list[str]:
    """The period's incidents with their times, and the plan's §7 figures for the period and
    the whole cutover."""
    shift = in_period(incidents, since, until)
    lines = ["## Incidents (MTTD, MTTA, MTTR)", ""]
    if not incidents:
        return [*lines, NOTHING, ""]
    lines += [
        f"- This period: {figures(shift).line()}",
        f"- The cutover: {figures(incidents).line()}",
        "",
    ]
    if not shift:
        return lines
    rows = [
        (
            i.title,
            when(i.onset),
            when(i.fired),
            _who(i.acknowledged),
            _who(i.mitigated),
            when(i.resolved) if i.resolved else "open",
            _span(i.time_to_detect),
            _span(i.time_to_acknowledge),
            _span(i.time_to_resolve),
        )
        for i in shift
    ]
    header = (
        "Trigger",
        "Onset",
        "Fired",
        "Acknowledged",
        "Mitigated",
        "Resolved",
        "TTD",
        "TTA",
        "TTR",
    )
    return lines + _table(header, rows)


def records_end(
    now: datetime, entries: Iterable[Mapping[str, Any]], incidents: Sequence[Incident]
) -> datetime:
    """Where a handover's period ends: the room's now, or the last moment the journal or the
    incident log recorded if that is later. Both are stamped on the room's clock; a fresh
    simulator (a headless command) starts behind a room that ran in scaled time, real time
    never does."""
    moments = [now]
    moments += [t for entry in entries if (t := entry_time(entry)) is not None]
    moments += [
        m.at if isinstance(m, Moment) else m
        for i in incidents
        for m in (i.onset, i.fired, i.acknowledged, i.mitigated, i.resolved)
        if m is not None
    ]
    return max(moments)


def _who(moment: Moment | None) -> str:
    if moment is None:
        return "—"
    how = f" ({moment.detail})" if moment.detail else ""
    return f"{when(moment.at)} by {moment.by or 'unknown'}{how}"


def _span(span: timedelta | None) -> str:
    return "—" if span is None else format_duration(span, parts=2)


def _change(transition: TriggerTransition) -> str:
    after = transition.after
    if after is TriggerState.FIRING:
        return "fired" if transition.before is not TriggerState.UNKNOWN else "firing, input back"
    if after is TriggerState.RESOLVED:
        return "resolved"
    if after is TriggerState.UNKNOWN:
        return "input lost while firing"
    return f"{transition.before.value} → {after.value}"


def _actions(
    pairs: Sequence[TakenAction], since: datetime, until: datetime, journal: str
) -> list[str]:
    lines = ["## Actions taken", ""]
    if journal:
        lines += [f"Audit journal: {journal}", ""]
    taken = [pair for pair in pairs if pair.within(since, until)]
    if not taken:
        return [*lines, "No action was taken in the period.", ""]
    operators: dict[str, int] = {}
    for pair in taken:
        who = entry_operator(pair.first)
        operators[who] = operators.get(who, 0) + 1
    by = ", ".join(f"{who} ({count})" for who, count in operators.items())
    lines += [f"{len(taken)} action(s), by {by}.", ""]
    rows = []
    for pair in taken:
        first = pair.first
        rows.append(
            (
                when(pair.at) if pair.at else str(first.get("ts", "?")),
                entry_operator(first),
                str(first.get("action", "?")),
                str(first.get("target", "?")),
                entry_changes(first) or "—",
                pair.outcome,
            )
        )
    return lines + _table(("When", "By", "Action", "Target", "Changes", "Outcome"), rows)


def _gates(view: RoomView) -> list[str]:
    lines = ["## Gates not passing", ""]
    board = view.gates
    if board is None:
        return [*lines, "No Go/No-Go gates are configured.", ""]
    if not board.blockers:
        return [*lines, "Every required check passes.", ""]
    for gate in board.gates:
        blocking = [check for check in gate.checks if check.blocks]
        if not blocking:
            continue
        lines += [f"### Gate {gate.spec.id}: {gate.spec.title}", ""]
        lines += [f"- {check_line(check)}" for check in blocking]
        lines.append("")
    return lines


def _done_and_smoke(view: RoomView) -> list[str]:
    """The Definition of Done, then the smoke suite, the drills and the prod deploys."""
    lines: list[str] = []
    done = view.done
    if done is not None:
        lines += ["## Definition of Done", "", f"- {done.line}"]
        for item in done.items:
            detail = f" ({item.detail})" if item.detail else ""
            lines.append(f"- {item.title}: **{item.state.value}**, {item.value}{detail}")
        for streak in done.streaks:
            reaches = streak.reaches(done.slo_period)
            until = (
                f"reaches {format_duration(done.slo_period)} {when(reaches)}"
                if reaches
                else ("breaching")
            )
            lines.append(
                f"  - {streak.title}: green for {format_duration(streak.length(view.now))}, {until}"
            )
        lines.append("")
    verification = view.verification
    if verification is None:
        return lines
    lines += ["## Smoke suite, drills and deploys", "", f"- {verification.line}", ""]
    lines += _table(
        ("Test", "Last result", "When", "Streak", "Run"),
        [
            (row.test.title, row.state.value, row.when_text, row.streak_text,
             row.last.run_id or row.last.url or "—" if row.last else "—")
            for row in verification.tests
        ],
    )  # fmt: skip
    lines += _table(
        ("Drill", "Last result", "Evidence"),
        [
            (row.title, row.state.value, row.last.evidence if row.last else "—")
            for row in verification.drills
        ],
    )  # fmt: skip
    prod = [d for d in verification.deploys if d.env == "prod" and not d.no_op]
    if prod:
        lines += _table(
            ("Prod deploy", "Ref", "Who", "Result", "Witness", "Cosign verified"),
            [
                (f"{d.workflow} #{d.run_id} {when(d.at)}", d.ref, d.actor, d.result,
                 _known(d.witness), _known(d.cosign_verified))
                for d in prod[-10:]
            ],
        )  # fmt: skip
    return lines


def _known(flag: bool | None) -> str:
    return "unknown" if flag is None else ("yes" if flag else "**no**")


def check_line(check: CheckResult) -> str:
    """`Job success rate over 7 days (A/success-7d): fail, 97.1% (needs >= 98.0%)`."""
    spec = check.spec
    value = check.value if check.value and check.value != "—" else ""
    why = check.reason or ("" if value else f"needs {spec.criterion}")
    if why == value:
        why = ""
    shown = ", ".join(part for part in (check.state.value, value) if part)
    return f"**{spec.title}** ({spec.key}): {shown}" + (f" ({why})" if why else "")


def _blockers(view: RoomView) -> list[str]:
    items: list[str] = []
    for status in view.firing:
        fired = f" since {_relative(status.fired_at, view)}" if status.fired_at else ""
        value = trigger_value(status)
        items.append(f"Rollback trigger firing: {status.spec.title}{fired}, {value}")
    for status in view.triggers:
        if status.state is TriggerState.PENDING:
            items.append(f"Rollback trigger pending: {status.spec.title}, {trigger_value(status)}")
    for wave in view.waves:
        if wave.state is not WaveState.COMPLETE and wave.blockers:
            items.append(
                f"{wave.wave} ({wave.state.value}), from the workbook: {'; '.join(wave.blockers)}"
            )
    if view.gates is not None:
        for gate in view.gates.gates:
            blocking = [
                f"{c.spec.title} ({c.state.value})"
                for c in gate.checks
                if c.blocks and c.spec.kind is not CheckKind.SIGNOFF
            ]
            if blocking:
                items.append(f"Gate {gate.spec.id} ({gate.spec.title}): {', '.join(blocking)}")
        unsigned = [
            check
            for gate in view.gates.gates
            for check in gate.checks
            if check.spec.kind is CheckKind.SIGNOFF and check.state is not CheckState.PASS
        ]
        missing = [c.spec.role for c in unsigned if c.state is CheckState.FAIL]
        unknown = [c.spec.role for c in unsigned if c.state is CheckState.UNKNOWN]
        if missing:
            items.append(f"Not signed off: {', '.join(missing)}")
        if unknown:
            why = unsigned[-1].reason or "sign-offs not current"
            items.append(f"Sign-off unknown ({why}): {', '.join(unknown)}")
    for health in view.health:
        if health.state is not HealthState.CONNECTED:
            items.append(f"Source {health.source}: {health.text}")
    lines = ["## Open blockers", ""]
    if not items:
        return [*lines, NOTHING, ""]
    return lines + [f"- {item}" for item in items] + [""]


# Formatting ---------------------------------------------------------------------------------


def when(moment: datetime | None) -> str:
    if moment is None:
        return "—"
    return f"{moment.astimezone(timezone.utc):%Y-%m-%d %H:%M:%S} UTC"


def _relative(moment: datetime | None, view: RoomView) -> str:
    """A room time with its place on the plan's clock: `2026-12-02 10:55:00 UTC (T+1d 01:55)`."""
    if moment is None:
        return "—"
    return f"{when(moment)} ({t_label(moment - view.clock.go_live)})"


def _eligible(eligible_at: datetime | None, waiting_for: str, view: RoomView) -> str:
    if eligible_at is None:
        return waiting_for or "—"
    return "now" if eligible_at <= view.now else _relative(eligible_at, view)


def trigger_value(status: TriggerStatus) -> str:
    spec = status.spec
    if status.value is None:
        return status.reason or "no value"
    if spec.alertname:
        return "alert active" if status.value else "alert clear"
    return format_value(status.value, spec.unit)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ").strip() or " "


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    if not rows:
        return [NOTHING, ""]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_cell(value) for value in row) + " |" for row in rows]
    return [*lines, ""]
