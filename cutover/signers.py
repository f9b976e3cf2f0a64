"""Who may sign each Go/No-Go role, and who is signing.

`[signoffs]` maps a role to the user names and groups that may sign it. The signer is the
identity the decision uses: on a cluster, the user and groups the API server names in a
`SelfSubjectReview`; without one, the control room's operator. A role is signed, or its
sign-off withdrawn, only by its own signers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

#: Where a signer's identity came from.
FROM_CLUSTER = "cluster"
FROM_OPERATOR = "operator"


@dataclass(frozen=True)
class Signer:
    """The identity a sign-off decision is made with."""

    user: str
    groups: tuple[str, ...] = ()
    #: `cluster` (the API server's SelfSubjectReview) or `operator` (no cluster: the login
    #: name or the configured operator).
    source: str = FROM_OPERATOR

    def as_json(self) -> dict[str, Any]:
        return {"user": self.user, "groups": list(self.groups), "source": self.source}

    def __str__(self) -> str:
        where = (
            "as the cluster's SelfSubjectReview names you"
            if self.source == FROM_CLUSTER
            else "the control room's operator"
        )
        groups = f", groups {', '.join(self.groups)}" if self.groups else ""
        return f"{self.user}{groups} ({where})"


@dataclass(frozen=True)
class SignoffRule:
    """Who may sign one role: any of these users, or any member of these groups."""

    users: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()

    def admits(self, signer: Signer) -> bool:
        return signer.user in self.users or any(g in self.groups for g in signer.groups)

    def __str__(self) -> str:
        parts = []
        if self.users:
            parts.append("user " + ", ".join(self.users))
        if self.groups:
            parts.append("group " + ", ".join(self.groups))
        return " or ".join(parts) or "no one"


@dataclass(frozen=True)
class SignoffPolicy:
    """Every role's signers. Empty (no `[signoffs]`): anyone may sign any role."""

    rules: Mapping[str, SignoffRule] = field(default_factory=dict)

    @property
    def restricted(self) -> bool:
        return bool(self.rules)

    def may_sign(self, role: str, signer: Signer | None) -> tuple[bool, str]:
        """Whether `signer` may sign (or withdraw) `role`, and if not, why."""
        if not self.rules:
            return True, ""
        rule = self.rules.get(role)
        if rule is None:
            return False, f"no one may sign {role}: [signoffs] names no signer for it"
        if signer is None:
            return False, f"{role} is signed by {rule}, and who you are is not known yet"
        if rule.admits(signer):
            return True, ""
        return False, f"{role} is signed by {rule}; you are {signer}"


UNRESTRICTED = SignoffPolicy()


#: The plan's Go/No-Go sign-off line.
SIGNOFF_ROLES: tuple[str, ...] = (
    "Security",
    "SRE",
    "Platform",
    "App Eng",
    "Compliance/Legal",
    "Exec Sponsor",
)
