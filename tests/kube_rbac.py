"""RBAC for the fake API server, as the real authorizer decides it: deny by default, allow
what a Role or ClusterRole bound to the user (or one of the user's groups) grants.

The Roles, ClusterRoles and bindings come from the YAML blocks of docs/kubernetes.md, so the
tests check the very text the docs show. A rule matches on API group, resource (with its
subresource as `rollouts/status`), verb and, when it lists `resourceNames`, the object's
name: a request or an access review that names no object does not match such a rule.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DOCS = Path(__file__).resolve().parent.parent / "docs" / "kubernetes.md"
#: The namespaces the docs' Roles are meant for; the second drops the ConfigMap rule.
NAMESPACES = ("maestro-system", "maestro-runners")


@dataclass(frozen=True)
class Rule:
    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    resource_names: tuple[str, ...] = ()

    def grants(self, verb: str, group: str, resource: str, subresource: str, name: str) -> bool:
        if not ("*" in self.verbs or verb in self.verbs):
            return False
        if not ("*" in self.api_groups or group in self.api_groups):
            return False
        wanted = f"{resource}/{subresource}" if subresource else resource
        if not any(
            r in ("*", wanted) or (subresource and r == f"*/{subresource}") for r in self.resources
        ):
            return False
        return not self.resource_names or name in self.resource_names


@dataclass(frozen=True)
class Role:
    kind: str  # Role or ClusterRole
    name: str
    namespace: str
    rules: tuple[Rule, ...]


@dataclass(frozen=True)
class Binding:
    kind: str  # RoleBinding or ClusterRoleBinding
    name: str
    namespace: str
    subjects: tuple[tuple[str, str], ...]  # (User or Group, name)
    role_kind: str
    role_name: str


@dataclass(frozen=True)
class Subject:
    """Who a bearer token says the caller is."""

    user: str
    groups: tuple[str, ...] = ()

    @property
    def all_groups(self) -> tuple[str, ...]:
        return (*self.groups, "system:authenticated")


#: What every authenticated user may do on a real cluster (system:basic-user and
#: system:discovery): review its own access, ask who it is, read discovery.
BASIC_USER = Role(
    "ClusterRole",
    "system:basic-user",
    "",
    (
        Rule(
            ("authorization.k8s.io",),
            ("selfsubjectaccessreviews", "selfsubjectrulesreviews"),
            ("create",),
        ),
        Rule(("authentication.k8s.io",), ("selfsubjectreviews",), ("create",)),
    ),
)
BASIC_BINDING = Binding(
    "ClusterRoleBinding",
    "system:basic-user",
    "",
    (("Group", "system:authenticated"),),
    "ClusterRole",
    "system:basic-user",
)


@dataclass
class Rbac:
    """Roles and bindings, and the authorizer's answer from them."""

    roles: dict[tuple[str, str, str], Role] = field(default_factory=dict)
    bindings: list[Binding] = field(default_factory=list)

    def add(self, obj: Mapping[str, Any]) -> None:
        kind = str(obj.get("kind", ""))
        meta = obj.get("metadata") or {}
        name, namespace = str(meta.get("name", "")), str(meta.get("namespace", ""))
        if kind in ("Role", "ClusterRole"):
            rules = tuple(
                Rule(
                    tuple(rule.get("apiGroups") or ()),
                    tuple(rule.get("resources") or ()),
                    tuple(rule.get("verbs") or ()),
                    tuple(rule.get("resourceNames") or ()),
                )
                for rule in obj.get("rules") or ()
            )
            self.roles[(kind, namespace, name)] = Role(kind, name, namespace, rules)
        elif kind in ("RoleBinding", "ClusterRoleBinding"):
            ref = obj.get("roleRef") or {}
            subjects = tuple(
                (str(s.get("kind", "")), str(s.get("name", ""))) for s in obj.get("subjects") or ()
            )
            self.bindings.append(
                Binding(kind, name, namespace, subjects, str(ref["kind"]), str(ref["name"]))
            )

    def authorize(
        self,
        subject: Subject,
        verb: str,
        group: str,
        resource: str,
        subresource: str = "",
        name: str = "",
        namespace: str = "",
    ) -> tuple[bool, str]:
        """(allowed, reason) as the RBAC authorizer words it."""
        for binding in (BASIC_BINDING, *self.bindings):
            if binding.kind == "RoleBinding" and binding.namespace != namespace:
                continue
            whom = _matching_subject(binding, subject)
            if not whom:
                continue
            role = self._role_of(binding)
            if role is None:
                continue
            if any(r.grants(verb, group, resource, subresource, name) for r in role.rules):
                where = f"{binding.name}/{binding.namespace}" if binding.namespace else binding.name
                return True, (
                    f'RBAC: allowed by {binding.kind} "{where}" of {role.kind}'
                    f' "{role.name}" to {whom}'
                )
        return False, ""

    def rules_of(self, subject: Subject, namespace: str) -> list[Rule]:
        """Every rule bound to `subject` in `namespace` (the cluster's bindings included),
        as a SelfSubjectRulesReview lists them."""
        found: list[Rule] = []
        for binding in (BASIC_BINDING, *self.bindings):
            if binding.kind == "RoleBinding" and binding.namespace != namespace:
                continue
            role = self._role_of(binding) if _matching_subject(binding, subject) else None
            found += [rule for rule in (role.rules if role else ()) if rule not in found]
        return found

    def _role_of(self, binding: Binding) -> Role | None:
        if binding.role_kind == "ClusterRole":
            if binding.role_name == BASIC_USER.name:
                return BASIC_USER
            return self.roles.get(("ClusterRole", "", binding.role_name))
        return self.roles.get(("Role", binding.namespace, binding.role_name))


def _matching_subject(binding: Binding, subject: Subject) -> str:
    for kind, name in binding.subjects:
        if kind == "User" and name == subject.user:
            return f'User "{name}"'
        if kind == "Group" and name in subject.all_groups:
            return f'Group "{name}"'
    return ""


def yaml_blocks(markdown: str) -> list[dict[str, Any]]:
    """Every object in the ```yaml blocks of a Markdown text."""
    objects = []
    for block in re.findall(r"^```yaml\n(.*?)^```", markdown, flags=re.S | re.M):
        objects += [o for o in yaml.safe_load_all(block) if isinstance(o, dict)]
    return objects


def from_docs(path: Path = DOCS, namespaces: Sequence[str] = NAMESPACES) -> Rbac:
    """The docs' RBAC. Each Role and RoleBinding shown for the first namespace is also made
    in the others without its ConfigMap rule, as the docs say ("In `maestro-runners`
    (rollouts only), drop the ConfigMap rule")."""
    rbac = Rbac()
    for obj in yaml_blocks(path.read_text()):
        if not str(obj.get("apiVersion", "")).startswith("rbac.authorization.k8s.io/"):
            continue
        rbac.add(obj)
        if obj["kind"] in ("Role", "RoleBinding"):
            for namespace in namespaces[1:]:
                rbac.add(_in_namespace(obj, namespace))
    return rbac


def _in_namespace(obj: Mapping[str, Any], namespace: str) -> dict[str, Any]:
    copied = {**obj, "metadata": {**obj["metadata"], "namespace": namespace}}
    if "rules" in obj:
        copied["rules"] = [r for r in obj["rules"] if "configmaps" not in r.get("resources", ())]
    return copied
