"""What this operator may do in the cluster, from SelfSubjectAccessReviews at start.

An action the operator may not do is shown disabled with the reason; a 403 at action time
(RBAC changed since the review) raises `ActionForbidden` and is never retried.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from .action_kinds import ActionKind
from .signers import Signer


class ActionForbidden(Exception):
    """The API server refused the action (403); nothing more is tried."""


@dataclass(frozen=True)
class AccessCheck:
    """One verb on one resource in one namespace: may this operator do it, and why."""

    verb: str
    resource: str  # with its subresource, as RBAC names it: "rollouts/status"
    namespace: str
    allowed: bool
    reason: str = ""

    @property
    def key(self) -> str:
        return access_key(self.verb, self.resource, self.namespace)


def access_key(verb: str, resource: str, namespace: str) -> str:
    """`patch rollouts/status in maestro-system`: how a check is named and shown."""
    return f"{verb} {resource} in {namespace}"


@dataclass(frozen=True)
class Permissions:
    """The answers of the access reviews; `error` when they could not be asked."""

    checks: tuple[AccessCheck, ...] = ()
    rollout_namespaces: tuple[str, ...] = ()
    configmap_namespace: str = ""
    error: str = ""
    #: Who the cluster says this operator is (SelfSubjectReview), for sign-offs.
    identity: Signer | None = None
    identity_error: str = ""

    @property
    def allowed(self) -> Mapping[str, bool]:
        return {check.key: check.allowed for check in self.checks}

    @property
    def reasons(self) -> Mapping[str, str]:
        return {check.key: check.reason for check in self.checks}

    @property
    def denied(self) -> tuple[AccessCheck, ...]:
        return tuple(check for check in self.checks if not check.allowed)


def required_access(
    rollout_namespaces: Iterable[str], configmap_namespace: str
) -> tuple[tuple[str, str, str], ...]:
    """Every (verb, resource, namespace) that some action needs."""
    needed = [("patch", "configmaps", configmap_namespace)]
    for namespace in rollout_namespaces:
        needed.append(("patch", "rollouts", namespace))
        needed.append(("patch", "rollouts/status", namespace))
    return tuple(dict.fromkeys(needed))


#: What each action writes: the cutover ConfigMap, a rollout's spec, a rollout's status.
_NEEDS: Mapping[str, tuple[str, ...]] = {
    "freeze": ("configmaps", "rollouts"),
    "unfreeze": ("configmaps", "rollouts"),
    "promote wave": ("configmaps",),
    "roll back wave": ("configmaps",),
    # spec.paused when manually paused, status otherwise: the operator needs both.
    "promote rollout": ("rollouts", "rollouts/status"),
    "abort rollout": ("rollouts/status",),
    "sign off": ("configmaps",),
    "withdraw sign-off": ("configmaps",),
    "acknowledge": ("configmaps",),
}


def action_permitted(
    kind: ActionKind, permissions: Permissions | None, target: str = ""
) -> tuple[bool, str]:
    """Whether the operator may do `kind` (on `target`, a rollout's `namespace/name`), and
    if not, the reason to show. Unknown permissions permit: the server still decides."""
    if permissions is None or not permissions.checks:
        detail = permissions.error if permissions is not None and permissions.error else ""
        return True, f"permissions not checked{': ' + detail if detail else ''}"
    allowed = permissions.allowed
    reasons = permissions.reasons
    target_namespace = target.split("/", 1)[0] if "/" in target else ""
    for resource in _NEEDS.get(kind.value, ()):
        if resource == "configmaps":
            namespaces: tuple[str, ...] = (permissions.configmap_namespace,)
        elif target_namespace:
            namespaces = (target_namespace,)
        else:
            namespaces = permissions.rollout_namespaces
        for namespace in namespaces:
            key = access_key("patch", resource, namespace)
            if key in allowed and not allowed[key]:
                why = reasons.get(key, "")
                return False, f"forbidden: {key}{f' ({why})' if why else ''}"
    return True, ""
