"""The audit journal's entries and their hash chain. Pure: no I/O.

The journal is JSON lines. Each line is one entry in canonical form (sorted keys, no spaces,
UTF-8) and carries `prev`, the sha256 of the previous line's exact bytes (without its newline;
64 zeros for the first line), and `hash`, the sha256 of the entry's own canonical form
without `hash`. `prev` chains the lines, so a deleted or reordered line breaks the chain where
it was; `hash` pins an edit to the edited line itself, the last one included.

Deleting lines at the very end leaves a valid, shorter chain: no file can prove its own
length. The head (`VerifyResult.head`, the last line's sha256) is what to compare against a
copy kept elsewhere, such as the entries published on the MQTT audit topic.

A journal damaged at its end (a line cut short by a crash while writing) cannot be continued.
`audit seal` appends a *seal* entry after the damaged lines, which stay in the file byte for
byte: the seal records the damage (its lines, its length in bytes and its sha256) and is
chained from the last good entry, so `verify` accepts the chain and names the sealed break.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from enum import Enum
from typing import Any

from .actions import ActionKind, ActionPlan, Change, Precondition

GENESIS = "0" * 64
#: Fields every entry must have, with their JSON types, for the chain to be checked.
_CHAIN_FIELDS: dict[str, type] = {"seq": int, "prev": str, "hash": str}


class EntryKind(str, Enum):
    """An intent is written before the effector runs; its result after. A seal closes a
    damaged end of the journal."""

    INTENT = "intent"
    RESULT = "result"
    SEAL = "seal"


@dataclass(frozen=True)
class Operator:
    """Who acted, and from where: enough to find the person behind a shared account."""

    user: str
    sudo_user: str = ""
    #: The client address from `SSH_CONNECTION`, empty when not over SSH.
    ssh_client: str = ""
    host: str = ""
    tmux_session: str = ""

    def as_json(self) -> dict[str, str]:
        return {
            "user": self.user,
            "sudo_user": self.sudo_user,
            "ssh_client": self.ssh_client,
            "host": self.host,
            "tmux_session": self.tmux_session,
        }

    def __str__(self) -> str:
        extras = [
            f"sudo from {self.sudo_user}" if self.sudo_user else "",
            f"ssh {self.ssh_client}" if self.ssh_client else "",
            f"on {self.host}" if self.host else "",
            f"tmux {self.tmux_session}" if self.tmux_session else "",
        ]
        shown = ", ".join(extra for extra in extras if extra)
        return f"{self.user} ({shown})" if shown else self.user


def operator_identity(
    environ: Mapping[str, str], hostname: str, user: str, tmux_name: str = ""
) -> Operator:
    """The operator as the environment describes them.

    `tmux_name` is the session's name when the caller could ask tmux for it; the environment
    only has `TMUX` (`socket,pid,session-index`) and `TMUX_PANE`, so without it the session is
    named by its socket and index, or by the pane.
    """
    ssh = environ.get("SSH_CONNECTION", "").split()
    tmux = environ.get("TMUX", "")
    session = tmux_name
    if not session and tmux:
        parts = tmux.split(",")
        session = parts[0]
        if len(parts) >= 3 and parts[2]:
            session += f" ${parts[2]}"
    if not session:
        session = environ.get("TMUX_PANE", "")
    return Operator(
        user=user,
        sudo_user=environ.get("SUDO_USER", ""),
        ssh_client=ssh[0] if ssh else "",
        host=hostname,
        tmux_session=session,
    )


@dataclass(frozen=True)
class AuditRecord:
    """What an entry says, before the journal gives it its place in the chain."""

    kind: EntryKind
    ts: datetime
    action: ActionKind
    target: str
    changes: tuple[Change, ...]
    operator: Operator
    preconditions: tuple[Precondition, ...]
    override: str = ""
    #: `{"ok": bool, "message": str}` or `{"error": str}`; results only.
    result: Mapping[str, Any] | None = None
    intent_seq: int | None = None
    #: Which effector carries the action out (sim, kubernetes, mqtt).
    effector: str = ""
    #: Why, as the plan gives it: the freeze reason, a sign-off's note.
    reason: str = ""
    #: A sign-off's signer, `{"user", "groups", "source"}`: the identity the decision used.
    signer: Mapping[str, Any] | None = None

    def as_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ts": rfc3339(self.ts),
            "kind": self.kind.value,
            "action": self.action.value,
            "target": self.target,
            "changes": [change_json(change) for change in self.changes],
            "operator": self.operator.as_json(),
            "preconditions": [precondition_json(check) for check in self.preconditions],
            "override": self.override,
        }
        if self.effector:
            body["effector"] = self.effector
        if self.reason:
            body["reason"] = self.reason
        if self.signer is not None:
            body["signer"] = dict(self.signer)
        if self.result is not None:
            body["result"] = dict(self.result)
        if self.intent_seq is not None:
            body["intent_seq"] = self.intent_seq
        return body


def intent_record(
    plan: ActionPlan,
    operator: Operator,
    checks: tuple[Precondition, ...],
    override: str,
    ts: datetime,
    effector: str = "",
) -> AuditRecord:
    """The entry written, and made durable, before the effector is called."""
    return AuditRecord(
        EntryKind.INTENT,
        ts,
        plan.kind,
        plan.target,
        plan.changes,
        operator,
        checks,
        override,
        effector=effector,
        reason=plan.reason,
        signer=plan.signer.as_json() if plan.signer is not None else None,
    )


def result_record(
    intent: AuditRecord,
    seq: int,
    result: Mapping[str, Any],
    ts: datetime,
    changes: tuple[Change, ...] | None = None,
) -> AuditRecord:
    """The entry written after the effector returned or raised, linked to its intent."""
    return AuditRecord(
        EntryKind.RESULT,
        ts,
        intent.action,
        intent.target,
        intent.changes if changes is None else changes,
        intent.operator,
        intent.preconditions,
        intent.override,
        result=result,
        intent_seq=seq,
        reason=intent.reason,
        effector=intent.effector,
        signer=intent.signer,
    )


@dataclass(frozen=True)
class AuditEntry:
    """An entry with its place in the chain, and the exact line the journal holds."""

    seq: int
    body: Mapping[str, Any]
    #: The canonical JSON, without the newline; the next entry's `prev` is its sha256.
    line: str

    @property
    def digest(self) -> str:
        return line_digest(self.line.encode("utf-8"))


def rfc3339(moment: datetime) -> str:
    """UTC, to the millisecond, with a `Z`."""
    utc = moment.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def change_json(change: Change) -> dict[str, str]:
    return {
        "target": change.target,
        "field": change.field,
        "before": change.before,
        "after": change.after,
    }


def precondition_json(check: Precondition) -> dict[str, Any]:
    return {"id": check.id, "title": check.title, "ok": check.ok, "detail": check.detail}


def canonical(body: Mapping[str, Any]) -> str:
    """The one serialisation the chain hashes: any other spelling of an entry is an edit."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def line_digest(line: bytes) -> str:
    return hashlib.sha256(line).hexdigest()


def _entry_hash(body: Mapping[str, Any]) -> str:
    unsealed = {key: value for key, value in body.items() if key != "hash"}
    return line_digest(canonical(unsealed).encode("utf-8"))


def next_entry(record: AuditRecord, previous_line: bytes | None) -> AuditEntry:
    """`record` sealed as the entry after `previous_line` (None: the first entry).

    Raises ValueError when the previous line is not an entry, since the chain cannot be
    continued from it.
    """
    if previous_line is None:
        seq, prev = 1, GENESIS
    else:
        previous = _parse(previous_line)
        if isinstance(previous, str):
            raise ValueError(f"the last line is {previous}")
        seq, prev = previous["seq"] + 1, line_digest(previous_line)
    body = {**record.as_json(), "seq": seq, "prev": prev}
    body["hash"] = _entry_hash(body)
    return AuditEntry(seq, body, canonical(body))


@dataclass(frozen=True)
class Damage:
    """Lines of the journal that are not sound entries, as a seal records them."""

    first_line: int
    last_line: int
    #: The damaged bytes: from the start of the first line to the end of the last, without
    #: the last line's newline (a line cut short by a crash has none).
    size: int
    sha256: str
    why: str
    #: The entry the seal chains from: its seq and sha256 (0 and GENESIS for none).
    last_good_seq: int = 0
    last_good_sha256: str = GENESIS

    def as_json(self) -> dict[str, Any]:
        return {
            "lines": [self.first_line, self.last_line],
            "bytes": self.size,
            "sha256": self.sha256,
            "why": self.why,
            "last_good_seq": self.last_good_seq,
            "last_good_sha256": self.last_good_sha256,
        }

    @property
    def where(self) -> str:
        if self.first_line == self.last_line:
            return f"line {self.first_line}"
        return f"lines {self.first_line}-{self.last_line}"


@dataclass(frozen=True)
class SealedBreak:
    """A break in the chain that a seal entry records and closes."""

    damage: Damage
    seal_line: int
    by: str
    reason: str

    def __str__(self) -> str:
        d = self.damage
        return (
            f"{d.where} damaged ({d.size} bytes: {d.why}), sealed at line {self.seal_line}"
            f" by {self.by}: {self.reason}"
        )


@dataclass(frozen=True)
class VerifyResult:
    """The chain's state: intact, or where it first breaks and why."""

    entries: int
    #: The first broken line, 1-based; None when the chain is intact.
    broken_line: int | None = None
    why: str = ""
    #: The last line's sha256: compare it with a copy kept elsewhere to catch truncation.
    head: str = GENESIS
    last_seq: int = 0
    #: Breaks closed by a seal entry: the chain is intact across them, and they are named.
    sealed: tuple[SealedBreak, ...] = ()

    @property
    def ok(self) -> bool:
        return self.broken_line is None

    def __str__(self) -> str:
        breaks = "".join(f"; SEALED BREAK: {sealed}" for sealed in self.sealed)
        if self.ok:
            return f"chain intact, {self.entries} entries{breaks}"
        return f"BROKEN at line {self.broken_line}: {self.why}{breaks}"


def _strip(raw: bytes) -> bytes:
    return raw[:-1] if raw.endswith(b"\n") else raw


def damaged_bytes(lines: Sequence[bytes], first: int, last: int) -> bytes:
    """Lines `first` to `last` (1-based) as the file holds them, without the last newline."""
    return _strip(b"".join(lines[first - 1 : last]))


def verify(lines: Iterable[bytes]) -> VerifyResult:
    """Check every line and the chain between them; stop at the first broken line that no
    seal entry closes."""
    every = list(lines)
    prev, seq = GENESIS, 0
    sealed: list[SealedBreak] = []
    index = 0
    while index < len(every):
        number = index + 1
        line = _strip(every[index])
        parsed = _parse(line)
        why = ""
        if isinstance(parsed, str):
            why = parsed
        elif parsed["prev"] != prev:
            why = (
                "prev does not match the line before it: a line was deleted or reordered here"
                if number > 1
                else "the first line does not start the chain: lines before it were deleted"
            )
        elif parsed["seq"] != seq + 1:
            why = f"seq {parsed['seq']} out of order: expected {seq + 1}"
        if not why and isinstance(parsed, dict):
            prev, seq = line_digest(line), int(parsed["seq"])
            index += 1
            continue
        closed = _sealed(every, number, prev, seq)
        if closed is None:
            return VerifyResult(number, number, why, prev, seq, tuple(sealed))
        sealed.append(closed)
        index = closed.seal_line - 1  # the seal itself is checked as the next entry
    return VerifyResult(len(every), None, "", prev, seq, tuple(sealed))


def _sealed(lines: Sequence[bytes], first: int, prev: str, seq: int) -> SealedBreak | None:
    """The seal that closes a break starting at line `first`: the first sound line after
    it, naming exactly the lines between, their bytes and the entry before them."""
    for index in range(first, len(lines)):
        entry = _parse(_strip(lines[index]))
        if isinstance(entry, str):
            continue
        damage = entry.get("damage")
        if entry.get("kind") != EntryKind.SEAL.value or not isinstance(damage, Mapping):
            return None
        region = damaged_bytes(lines, first, index)
        expected = {
            "lines": [first, index],
            "bytes": len(region),
            "sha256": line_digest(region),
            "last_good_seq": seq,
            "last_good_sha256": prev,
        }
        if any(damage.get(key) != value for key, value in expected.items()):
            return None
        if entry["prev"] != prev or entry["seq"] != seq + 1:
            return None
        found = Damage(first, index, len(region), line_digest(region), str(damage.get("why")))
        found = replace(found, last_good_seq=seq, last_good_sha256=prev)
        return SealedBreak(found, index + 1, entry_operator(entry), str(entry.get("reason", "")))
    return None


def seal_entry(damage: Damage, operator: Operator, reason: str, ts: datetime) -> AuditEntry:
    """The entry that closes `damage`, chained from the last good entry before it."""
    body: dict[str, Any] = {
        "ts": rfc3339(ts),
        "kind": EntryKind.SEAL.value,
        "action": "seal journal",
        "target": "audit journal",
        "changes": [],
        "operator": operator.as_json(),
        "preconditions": [],
        "override": "",
        "reason": reason,
        "damage": damage.as_json(),
        "seq": damage.last_good_seq + 1,
        "prev": damage.last_good_sha256,
    }
    body["hash"] = _entry_hash(body)
    return AuditEntry(body["seq"], body, canonical(body))


def parse_entry(line: bytes) -> dict[str, Any] | str:
    """An entry's fields, or why the line is not a sound entry (its chain aside)."""
    return _parse(line[:-1] if line.endswith(b"\n") else line)


def _parse(line: bytes) -> dict[str, Any] | str:
    try:
        body = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return "not JSON: the line was edited or cut short"
    if not isinstance(body, dict):
        return "not a JSON object"
    for name, kind in _CHAIN_FIELDS.items():
        value = body.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"not an audit entry: no {name}"
    if canonical(body).encode("utf-8") != line:
        return "not in canonical form: the line was edited"
    if body["hash"] != _entry_hash(body):
        return "hash does not match the content: the line was edited"
    return body


# Reading entries back, for `audit show` and the audit screen ----------------------------------


def entry_operator(entry: Mapping[str, Any]) -> str:
    """The operator of a journalled entry, with sudo, SSH client and host when present."""
    operator = entry.get("operator")
    if not isinstance(operator, Mapping):
        return "?"
    who = str(operator.get("user") or "?")
    if operator.get("sudo_user"):
        who += f" (sudo {operator['sudo_user']})"
    if operator.get("ssh_client"):
        who += f" from {operator['ssh_client']}"
    if operator.get("host"):
        who += f"@{operator['host']}"
    return who


def entry_changes(entry: Mapping[str, Any]) -> str:
    changes = entry.get("changes")
    if not isinstance(changes, list):
        return ""
    return ", ".join(
        f"{c.get('target')} {c.get('field')} {c.get('before')}→{c.get('after')}"
        for c in changes
        if isinstance(c, Mapping)
    )


def entry_outcome(entry: Mapping[str, Any]) -> str:
    """The result (ok, failed or error) and any override reason."""
    parts = []
    result = entry.get("result")
    if isinstance(result, Mapping):
        if "error" in result:
            parts.append(f"ERROR: {result['error']}")
        else:
            parts.append(("ok: " if result.get("ok") else "FAILED: ") + str(result.get("message")))
    if entry.get("override"):
        parts.append(f"override: {entry['override']}")
    damage = entry.get("damage")
    if entry.get("kind") == EntryKind.SEAL.value and isinstance(damage, Mapping):
        lines = damage.get("lines") or ["?", "?"]
        parts.append(
            f"sealed lines {lines[0]}-{lines[-1]}: {damage.get('bytes')} bytes"
            f" ({damage.get('why')}), after #{damage.get('last_good_seq')};"
            f" reason: {entry.get('reason', '')}"
        )
    return "  ".join(parts)
