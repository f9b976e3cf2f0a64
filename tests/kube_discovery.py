"""Discovery for the fake API server: `/version`, `/api`, `/apis` and the group and resource
lists, so kubectl can map `rollouts` to `argoproj.io/v1alpha1` as it does on a cluster.

Answered in the legacy (unaggregated) form: kubectl asks for the aggregated form first and
takes the plain lists when the server sends those.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.kube_fake import FakeKube, Served

Obj = dict[str, Any]

VERSION = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-fake",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2026-01-01T00:00:00Z",
    "goVersion": "go1.23.0",
    "compiler": "gc",
    "platform": "linux/amd64",
}
_READ_WRITE = ["create", "delete", "get", "list", "patch", "update", "watch"]
#: The review kinds every cluster serves: (group, plural, kind).
_REVIEWS = (
    ("authorization.k8s.io", "selfsubjectaccessreviews", "SelfSubjectAccessReview"),
    ("authorization.k8s.io", "selfsubjectrulesreviews", "SelfSubjectRulesReview"),
    ("authentication.k8s.io", "selfsubjectreviews", "SelfSubjectReview"),
)
_SHORT = {"rollouts": ["ro"], "analysisruns": ["ar"], "configmaps": ["cm"], "cronjobs": ["cj"]}


def _resources(kube: FakeKube) -> dict[tuple[str, str], list[Obj]]:
    lists: dict[tuple[str, str], list[Obj]] = defaultdict(list)
    for served in sorted(kube.served.values(), key=lambda s: s.plural):
        lists[(served.group, served.version)] += _entries(served)
    for group, plural, kind in _REVIEWS:
        lists[(group, "v1")].append(
            {
                "name": plural,
                "singularName": plural.removesuffix("s"),
                "namespaced": False,
                "kind": kind,
                "verbs": ["create"],
            }
        )
    return lists


def _entries(served: Served) -> list[Obj]:
    entry: Obj = {
        "name": served.plural,
        "singularName": served.kind.lower(),
        "namespaced": served.namespaced,
        "kind": served.kind,
        "verbs": _READ_WRITE,
    }
    if served.plural in _SHORT:
        entry["shortNames"] = _SHORT[served.plural]
    entries = [entry]
    if served.status_subresource and (served.group or served.plural != "configmaps"):
        entries.append(
            {
                "name": f"{served.plural}/status",
                "singularName": "",
                "namespaced": served.namespaced,
                "kind": served.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    return entries


def _group(name: str, versions: list[str]) -> Obj:
    listed = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": listed, "preferredVersion": listed[0]}


def discovery(kube: FakeKube, path: str, host: str) -> Obj | None:
    """The discovery document at `path`, or None when `path` is not a discovery path."""
    parts = path.strip("/").split("/")
    lists = _resources(kube)
    if parts == ["version"]:
        return dict(VERSION)
    if parts == ["api"]:
        return {
            "kind": "APIVersions",
            "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
        }
    if parts == ["api", "v1"]:
        return _resource_list("v1", lists.get(("", "v1"), []))
    groups: dict[str, list[str]] = defaultdict(list)
    for group, version in sorted(lists):
        if group:
            groups[group].append(version)
    if parts == ["apis"]:
        return {
            "kind": "APIGroupList",
            "apiVersion": "v1",
            "groups": [_group(name, versions) for name, versions in groups.items()],
        }
    if len(parts) == 2 and parts[0] == "apis" and parts[1] in groups:
        return {"kind": "APIGroup", "apiVersion": "v1", **_group(parts[1], groups[parts[1]])}
    if len(parts) == 3 and parts[0] == "apis" and (parts[1], parts[2]) in lists:
        return _resource_list(f"{parts[1]}/{parts[2]}", lists[(parts[1], parts[2])])
    return None


def _resource_list(group_version: str, resources: list[Obj]) -> Obj:
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": resources,
    }
