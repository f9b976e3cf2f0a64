"""The plans of the response to a firing trigger: acknowledge it, silence the alert behind
it (or expire that silence). They go through the one action pipeline like every other."""

from __future__ import annotations

from datetime import timedelta

from .actions import ActionKind, ActionPlan, ActionUnavailable, Change
from .durations import format_duration
from .room import RoomView
from .silences import silence_note
from .triggers import TriggerState, TriggerStatus

#: How long a silence from the control room lasts.
SILENCE_DURATION = timedelta(hours=2)


def _trigger(view: RoomView, trigger: str) -> TriggerStatus:
    status = next((t for t in view.triggers if t.spec.id == trigger), None)
    if status is None:
        raise ActionUnavailable(f"no trigger {trigger}")
    return status


def plan_acknowledge(view: RoomView, trigger: str, operator: str) -> ActionPlan:
    """Acknowledge a firing trigger as `operator`: it keeps firing, the room stops ringing."""
    status = _trigger(view, trigger)
    title = status.spec.title
    if status.state is not TriggerState.FIRING:
        raise ActionUnavailable(f"{title} is {status.state.value}: only a firing trigger")
    ack = view.acknowledgements.of(status)
    if ack is not None:
        raise ActionUnavailable(f"{title} is already acknowledged by {ack.by}")
    return ActionPlan(
        ActionKind.ACKNOWLEDGE,
        trigger,
        (Change(title, "acknowledged", "no", f"by {operator}"),),
        operator,
    )


def plan_silence(
    view: RoomView,
    trigger: str,
    operator: str,
    duration: timedelta = SILENCE_DURATION,
    comment: str = "",
) -> ActionPlan:
    """Silence the alert behind an alert trigger for `duration`, or expire its silence when
    it has one. The plan's target is the alert name: the silence matches on it."""
    status = _trigger(view, trigger)
    alertname = status.spec.alertname
    if not alertname:
        raise ActionUnavailable(f"{status.spec.title} is not an Alertmanager alert: no silence")
    if not view.silences.source:
        raise ActionUnavailable("no Alertmanager is configured: nothing to silence in")
    current = view.silences.of(alertname)
    if current is not None:
        return ActionPlan(
            ActionKind.EXPIRE_SILENCE,
            alertname,
            (Change(status.spec.title, "silence", silence_note(current), "expired"),),
            operator,
            confirm_name=alertname,
        )
    return ActionPlan(
        ActionKind.SILENCE,
        alertname,
        (
            Change(
                status.spec.title,
                f"alertname={alertname}",
                "not silenced",
                f"silenced for {format_duration(duration)} by {operator}",
            ),
        ),
        operator,
        reason=comment or f"{status.spec.title} silenced from the control room",
        confirm_name=alertname,
    )


def response_notes(view: RoomView) -> dict[str, str]:
    """What has been done about each trigger, for its row: `ack alice 11:02`, `silenced
    until 13:05 by bob`."""
    notes: dict[str, str] = {}
    for status in view.triggers:
        said = []
        ack = view.acknowledgements.of(status)
        if ack is not None:
            said.append(f"ack {ack.by}" + (f" {ack.at:%H:%M}" if ack.at else ""))
        silence = view.silences.of(status.spec.alertname)
        if silence is not None:
            said.append(silence_note(silence))
        if said:
            notes[status.spec.id] = " · ".join(said)
    return notes
