"""The kinds of action an operator can take from the control room, named once.

A leaf of the domain: the action plans (`cutover.actions`) and the RBAC answer of which the
operator may take (`cutover.permissions`) both name them, and neither imports the other.
"""

from __future__ import annotations

from enum import Enum


class ActionKind(str, Enum):
    """What an action does; its value names it in the audit journal."""

    FREEZE = "freeze"
    UNFREEZE = "unfreeze"
    PROMOTE_WAVE = "promote wave"
    ROLL_BACK_WAVE = "roll back wave"
    PROMOTE_ROLLOUT = "promote rollout"
    ABORT_ROLLOUT = "abort rollout"
    SIGN_OFF = "sign off"
    WITHDRAW_SIGNOFF = "withdraw sign-off"
    DISPATCH_WORKFLOW = "dispatch workflow"
    ACKNOWLEDGE = "acknowledge"
    SILENCE = "silence"
    EXPIRE_SILENCE = "expire silence"
    # The rollback playbook's steps (cutover/playbook.py); freeze is its first.
    REPOINT = "re-point builds"
    PROMOTE_KNOWN_GOOD = "promote known-good"
    EXPORT_LOGS = "export logs"
    OPEN_INCIDENT = "open incident"
    EXEC_UPDATE = "exec update"
    RECUT_PLAN = "re-cut plan"
    SKIP_STEP = "skip playbook step"
