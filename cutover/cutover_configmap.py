"""The `maestro-cutover` ConfigMap: the shared cutover state every control room reads.

Reading it into the freeze and wave states, and the data changes each action writes. Pure:
the Kubernetes source and effector do the I/O. Every value in a ConfigMap is a string, so
lists and objects are JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from .freeze import FreezeState
from .gates import Signoff, Signoffs
from .payloads import PayloadRejected, parse_recut
from .waves import Recut, WaveState, WaveStatus, can_roll_back, promoted_wave, recut_refusal


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def paused_by_freeze(data: Mapping[str, str]) -> tuple[str, ...]:
    """`paused_by_freeze`: the `namespace/name` of each rollout the freeze paused."""
    try:
        value = json.loads(data.get("paused_by_freeze") or "[]")
    except ValueError:
        return ()
    return tuple(str(key) for key in value) if isinstance(value, list) else ()


def freeze_state(data: Mapping[str, str], version: str) -> FreezeState:
    """The freeze as the ConfigMap records it; `version` is its resourceVersion."""
    return FreezeState(
        frozen=data.get("frozen", "false").strip().lower() == "true",
        by=data.get("frozen_by", ""),
        reason=data.get("freeze_reason", ""),
        at=_time(data.get("frozen_at", "")),
        paused_by_freeze=paused_by_freeze(data),
        version=version,
    )


def wave_records(data: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """`waves` as a dict of wave id to `{state, since, by}` (and a re-cut's `not_before`,
    `note`, `recut_by`); unreadable JSON reads as none."""
    try:
        value = json.loads(data.get("waves") or "{}")
    except (ValueError, RecursionError):  # nested past the reader's stack: unreadable too
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): dict(v) for k, v in value.items() if isinstance(v, dict)}


def wave_statuses(data: Mapping[str, str], version: str) -> tuple[WaveStatus, ...]:
    """Each recorded wave (`read_wave_statuses` also says which re-cuts it could not read)."""
    return read_wave_statuses(data, version)[0]


def read_wave_statuses(
    data: Mapping[str, str], version: str
) -> tuple[tuple[WaveStatus, ...], tuple[PayloadRejected, ...]]:
    """Each recorded wave, and the re-cuts refused by the limits (the wave keeps its state,
    without the re-cut, so it has nothing to promote). All of them carry the ConfigMap's
    resourceVersion, because every wave state lives in that one object: a change to any of
    it is a change to each."""
    statuses = []
    problems = []
    for wave, record in wave_records(data).items():
        try:
            state = WaveState(str(record.get("state", "")))
        except ValueError:
            continue
        try:
            recut = parse_recut(record)
        except PayloadRejected as rejected:
            recut = None
            problems.append(PayloadRejected(rejected.reason, f"{wave[:40]}: {rejected.detail}"))
        statuses.append(
            WaveStatus(
                wave,
                state,
                _time(str(record.get("since") or "")),
                str(record.get("by") or ""),
                version,
                recut,
            )
        )
    return tuple(statuses), tuple(problems)


def freeze_data(by: str, reason: str, at: datetime) -> dict[str, str]:
    """The keys a freeze writes; `paused_by_freeze` follows once the rollouts are paused."""
    return {
        "frozen": "true",
        "frozen_by": by,
        "frozen_at": rfc3339(at),
        "freeze_reason": reason,
        "paused_by_freeze": "[]",
    }


def paused_data(keys: list[str] | tuple[str, ...]) -> dict[str, str]:
    return {"paused_by_freeze": json.dumps(sorted(keys))}


def unfreeze_data() -> dict[str, str]:
    return {
        "frozen": "false",
        "frozen_by": "",
        "frozen_at": "",
        "freeze_reason": "",
        "paused_by_freeze": "[]",
    }


class WaveMoveError(ValueError):
    """The wave cannot make the move: nothing to promote or roll back."""


def wave_state(data: Mapping[str, str], wave: str) -> WaveState:
    record = wave_records(data).get(wave, {})
    try:
        return WaveState(str(record.get("state", WaveState.PLANNED.value)))
    except ValueError:
        return WaveState.PLANNED


def moved_waves(
    data: Mapping[str, str], wave: str, roll_back: bool, by: str, at: datetime
) -> tuple[WaveState, WaveState, dict[str, str]]:
    """Move one wave (planned → canary → active → complete, or to rolled-back): its state
    before and after, and the new `waves` value."""
    before = wave_state(data, wave)
    if roll_back:
        if not can_roll_back(before):
            raise WaveMoveError(f"{wave} is {before.value}: nothing to roll back")
        after = WaveState.ROLLED_BACK
    else:
        recut = _recut_of(data, wave) if before is WaveState.ROLLED_BACK else None
        step = promoted_wave(before, recut)
        if step is None:
            raise WaveMoveError(f"{wave} is {before.value}: nothing to promote")
        refusal = recut_refusal(wave, recut, at)
        if refusal:
            raise WaveMoveError(refusal)
        after = step
    records = wave_records(data)
    records[wave] = {"state": after.value, "since": rfc3339(at), "by": by}
    return before, after, {"waves": json.dumps(records, sort_keys=True)}


def _recut_of(data: Mapping[str, str], wave: str) -> Recut | None:
    """The wave's re-cut as recorded; one the limits refuse is none (nothing to promote)."""
    try:
        return parse_recut(wave_records(data).get(wave, {}))
    except PayloadRejected:
        return None


def signoff_records(data: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """`signoffs` as a dict of role to `{by, at, note}`; unreadable JSON reads as none."""
    try:
        value = json.loads(data.get("signoffs") or "{}")
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): dict(v) for k, v in value.items() if isinstance(v, dict)}


def signoffs(data: Mapping[str, str], version: str) -> Signoffs:
    """The Go/No-Go sign-offs the ConfigMap records; a record without `by` is no sign-off."""
    found = {
        role: Signoff(role, str(record["by"]), _time(str(record.get("at") or "")),
                      str(record.get("note") or ""))
        for role, record in signoff_records(data).items()
        if record.get("by")
    }  # fmt: skip
    return Signoffs(found, version)


class SignoffError(ValueError):
    """The sign-off cannot be made or withdrawn as asked."""


def signed_data(
    data: Mapping[str, str], role: str, by: str, at: datetime, note: str
) -> dict[str, str]:
    """The new `signoffs` value with `role` signed by `by`."""
    records = signoff_records(data)
    if role in records and records[role].get("by"):
        raise SignoffError(f"{role} is already signed by {records[role]['by']}")
    records[role] = {"by": by, "at": rfc3339(at), "note": note}
    return {"signoffs": json.dumps(records, sort_keys=True)}


def withdrawn_data(data: Mapping[str, str], role: str) -> dict[str, str]:
    """The new `signoffs` value without `role`'s sign-off."""
    records = signoff_records(data)
    if not records.get(role, {}).get("by"):
        raise SignoffError(f"{role} has not signed")
    del records[role]
    return {"signoffs": json.dumps(records, sort_keys=True)}


def recorded_pause(
    data: Mapping[str, str], frozen: Mapping[str, str], paused: list[str] | tuple[str, ...]
) -> dict[str, str] | None:
    """The `paused_by_freeze` a freeze writes after pausing `paused`, derived from the
    ConfigMap as it is now: added to what the same freeze (`frozen`, the data it wrote)
    already recorded; None when that freeze is no longer in force (lifted, or replaced)."""
    if data.get("frozen") != "true" or any(
        data.get(key) != frozen.get(key) for key in ("frozen_by", "frozen_at")
    ):
        return None
    return paused_data(sorted(set(paused_by_freeze(data)) | set(paused)))


def recut_waves(
    data: Mapping[str, str], wave: str, not_before: str, note: str, by: str
) -> dict[str, str]:
    """The new `waves` value with the wave's re-cut: when it may go again (`not_before`,
    RFC 3339) and why, kept beside its state."""
    records = wave_records(data)
    record = records.get(wave) or {"state": WaveState.PLANNED.value, "since": "", "by": by}
    records[wave] = {**record, "not_before": not_before, "note": note, "recut_by": by}
    return {"waves": json.dumps(records, sort_keys=True)}
