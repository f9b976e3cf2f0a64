"""The fake API server driven by kubectl, a client nobody here wrote: where kubectl and the
fake disagree, the fake is wrong.

Each test runs kubectl with its own KUBECONFIG and discovery cache in a temporary folder,
against the fake over HTTPS with the docs' RBAC loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.kube_fake import ROLLOUTS, FakeKube, Served, canary_rollout
from tests.kube_harness import seed_configmap
from tests.kube_rbac import DOCS, NAMESPACES, yaml_blocks
from tests.servers import find_binary

NS, RUNNERS = NAMESPACES
#: The plan's gate resources, served so that kubectl can name them.
GATE_CRDS = (
    Served("kyverno.io", "v1", "clusterpolicies", "ClusterPolicy", namespaced=False),
    Served("external-secrets.io", "v1beta1", "externalsecrets", "ExternalSecret"),
    Served("argoproj.io", "v1alpha1", "analysistemplates", "AnalysisTemplate"),
    *(
        Served("constraints.gatekeeper.sh", "v1beta1", plural, kind, namespaced=False)
        for plural, kind in (
            ("k8srequiredimagedigest", "K8sRequiredImageDigest"),
            ("k8sdisallowedtags", "K8sDisallowedTags"),
            ("k8scontainerlimits", "K8sContainerLimits"),
            ("k8srequiredannotations", "K8sRequiredAnnotations"),
        )
    ),
)


@dataclass
class Kubectl:
    binary: str
    kubeconfig: Path
    cache: Path

    def run(self, *args: str, context: str = "operator", timeout: float = 60) -> Any:
        return subprocess.run(
            [self.binary, "--context", context, "--cache-dir", str(self.cache), *args],
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def ok(self, *args: str, context: str = "operator") -> str:
        done = self.run(*args, context=context)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        return str(done.stdout)

    def can_i(
        self, context: str, verb: str, resource: str, namespace: str = "", name: str = ""
    ) -> bool:
        plural, _, subresource = resource.partition("/")
        args = ["auth", "can-i", verb, f"{plural}/{name}" if name else plural]
        args += ["-n", namespace] if namespace else ["--all-namespaces"]  # cluster-scoped
        if subresource:
            args.append(f"--subresource={subresource}")
        done = self.run(*args, context=context)
        # 0 is yes, 1 is no; anything else (or a warning) is a disagreement to see.
        assert done.returncode in (0, 1) and not done.stderr.strip(), (args, done.stderr)
        return bool(done.returncode == 0)


@pytest.fixture
def kube() -> Iterator[FakeKube]:
    fake = FakeKube()
    fake.start()
    try:
        for served in GATE_CRDS:
            fake.install(served)
        fake.put(ROLLOUTS, canary_rollout("maestro-api"))
        fake.put(ROLLOUTS, canary_rollout("maestro-scheduler"))
        fake.put(ROLLOUTS, canary_rollout("executor-controller", RUNNERS))
        seed_configmap(fake)
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def kubectl(kube: FakeKube, tmp_path: Path) -> Kubectl:
    binary = find_binary("kubectl")
    return Kubectl(binary, kube.write_kubeconfig(tmp_path / "kubeconfig"), tmp_path / "cache")


def test_api_resources_lists_what_the_fake_serves(kubectl: Kubectl) -> None:
    out = kubectl.ok("api-resources", "-o", "wide")
    rows = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert rows["rollouts"][1:5] == ["ro", "argoproj.io/v1alpha1", "true", "Rollout"]
    assert rows["configmaps"][1:5] == ["cm", "v1", "true", "ConfigMap"]
    assert rows["clusterpolicies"][1:4] == ["kyverno.io/v1", "false", "ClusterPolicy"]
    assert "selfsubjectaccessreviews" in rows and "selfsubjectreviews" in rows
    assert kubectl.ok("api-versions").split() == sorted(kubectl.ok("api-versions").split())


def test_get_rollouts_in_every_namespace_as_yaml(kube: FakeKube, kubectl: Kubectl) -> None:
    listed = yaml.safe_load(kubectl.ok("get", "rollouts", "-A", "-o", "yaml"))
    names = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in listed["items"]]
    assert names == [
        (RUNNERS, "executor-controller"),
        (NS, "maestro-api"),
        (NS, "maestro-scheduler"),
    ]
    assert listed["items"][1]["spec"]["strategy"]["canary"]["steps"][0] == {"setWeight": 10}
    # kubectl pages with limit=500; a smaller page makes it follow the continue token.
    paged = kubectl.ok("get", "rollouts", "-A", "-o", "name", "--chunk-size=1")
    assert paged.split() == [f"rollout.argoproj.io/{name}" for _, name in names]
    pages = [r for r in kube.requests if r.path == "/apis/argoproj.io/v1alpha1/rollouts"]
    assert [r.query.get("limit") for r in pages[-3:]] == ["1", "1", "1"]
    assert all(r.query.get("continue") for r in pages[-2:])


def test_the_viewer_may_read_the_cutover_configmap_by_name_only(kubectl: Kubectl) -> None:
    got = json.loads(
        kubectl.ok("get", "cm", "maestro-cutover", "-n", NS, "-o", "json", context="viewer")
    )
    assert got["data"]["frozen"] == "false"
    listed = kubectl.run("get", "cm", "-n", NS, context="viewer")
    assert listed.returncode == 1
    assert 'User "viewer" cannot list resource "configmaps"' in listed.stderr


def test_get_watch_sees_a_patch_land(kube: FakeKube, kubectl: Kubectl) -> None:
    env = {**os.environ, "KUBECONFIG": str(kubectl.kubeconfig)}
    args = [kubectl.binary, "--context", "viewer", "--cache-dir", str(kubectl.cache)]
    args += ["get", "rollouts", "-n", NS, "-w", "--output-watch-events", "-o", "json"]
    with subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True) as watch:
        assert watch.stdout is not None
        decoder = json.JSONDecoder()
        text = ""

        def next_event() -> dict[str, Any]:
            nonlocal text
            while True:
                try:
                    event, end = decoder.raw_decode(text.lstrip())
                    text = text.lstrip()[end:]
                    return dict(event)
                except ValueError:
                    line = watch.stdout.readline()  # type: ignore[union-attr]
                    assert line, "kubectl ended the watch"
                    text += line

        first = [next_event(), next_event()]
        assert {e["type"] for e in first} == {"ADDED"}
        kubectl.ok("patch", "rollout", "maestro-api", "-n", NS, "--type", "merge",
                   "-p", '{"spec":{"paused":true}}')  # fmt: skip
        event = next_event()
        watch.terminate()
    assert event["type"] == "MODIFIED"
    assert event["object"]["metadata"]["name"] == "maestro-api"
    assert event["object"]["spec"]["paused"] is True


def test_patch_merge_and_a_stale_version_gives_conflict(kube: FakeKube, kubectl: Kubectl) -> None:
    before = kube.get(ROLLOUTS, NS, "maestro-api")["metadata"]["resourceVersion"]
    out = kubectl.ok("patch", "rollout", "maestro-api", "-n", NS, "--type", "merge",
                     "-p", '{"spec":{"paused":true}}')  # fmt: skip
    assert out.strip() == "rollout.argoproj.io/maestro-api patched"
    after = kube.get(ROLLOUTS, NS, "maestro-api")
    assert after["spec"]["paused"] is True and after["metadata"]["resourceVersion"] != before
    # The same patch again changes nothing: no new version, and kubectl says so.
    again = kubectl.ok("patch", "rollout", "maestro-api", "-n", NS, "--type", "merge",
                       "-p", '{"spec":{"paused":true}}')  # fmt: skip
    assert again.strip() == "rollout.argoproj.io/maestro-api patched (no change)"
    assert kube.get(ROLLOUTS, NS, "maestro-api") == after
    stale = json.dumps({"metadata": {"resourceVersion": before}, "spec": {"paused": False}})
    done = kubectl.run("patch", "rollout", "maestro-api", "-n", NS, "--type", "merge", "-p", stale)
    assert done.returncode == 1
    assert done.stderr.startswith("Error from server (Conflict): Operation cannot be fulfilled")
    assert kube.get(ROLLOUTS, NS, "maestro-api")["spec"]["paused"] is True
    # A strategic merge patch is not served for a custom resource: 415, said as a Status.
    done = kubectl.run("patch", "rollout", "maestro-api", "-n", NS, "-p", '{"spec":{}}')
    assert done.returncode == 1
    assert "the body of the request was in an unknown format" in done.stderr
    # dryRun=All answers as if written and keeps nothing.
    kubectl.ok("patch", "rollout", "maestro-api", "-n", NS, "--type", "merge",
               "--dry-run=server", "-p", '{"spec":{"paused":false}}')  # fmt: skip
    assert kube.get(ROLLOUTS, NS, "maestro-api") == after


def test_patch_the_status_subresource(kube: FakeKube, kubectl: Kubectl) -> None:
    both = '{"status":{"abort":true},"spec":{"paused":true}}'
    kubectl.ok("patch", "rollout", "maestro-api", "-n", NS, "--subresource=status",
               "--type", "merge", "-p", both)  # fmt: skip
    after = kube.get(ROLLOUTS, NS, "maestro-api")
    assert after["status"]["abort"] is True
    assert "paused" not in after["spec"]  # the status endpoint changes the status only
    managers = {
        (m["manager"], m.get("subresource", "")) for m in after["metadata"]["managedFields"]
    }
    assert managers == {("kubectl-patch", "status")}
    retry = '{"status":{"abort":false}}'
    denied = kubectl.run("patch", "rollout", "maestro-api", "-n", NS, "--subresource=status",
                         "--type", "merge", "-p", retry, context="viewer")  # fmt: skip
    assert denied.returncode == 1 and "(Forbidden)" in denied.stderr


def test_whoami_names_the_user_and_groups(kubectl: Kubectl) -> None:
    out = kubectl.ok("auth", "whoami", "-o", "json")
    info = json.loads(out)["status"]["userInfo"]
    assert info == {
        "username": "operator",
        "groups": ["maestro-cutover-operators", "system:authenticated"],
    }


def test_can_i_list_shows_the_viewers_rules_in_a_namespace(kubectl: Kubectl) -> None:
    # `auth can-i --list` sends a SelfSubjectRulesReview (as protobuf since client-go 1.31).
    done = kubectl.run("auth", "can-i", "--list", "-n", "maestro-system", context="viewer")
    assert done.returncode == 0, done.stderr
    rows = {line.split()[0]: line for line in done.stdout.splitlines()[1:] if line.strip()}
    assert "rollouts.argoproj.io" in rows, done.stdout
    assert "patch" not in rows["rollouts.argoproj.io"] and "watch" in rows["rollouts.argoproj.io"]
    assert "selfsubjectaccessreviews.authorization.k8s.io" in rows
    operator = kubectl.ok("auth", "can-i", "--list", "-n", "maestro-system")
    assert any(
        line.startswith("rollouts.argoproj.io/status") and "patch" in line
        for line in operator.splitlines()
    ), operator


# ---- the documented Roles, verb by verb -----------------------------------------------------

#: Who is bound to what, as the docs' bindings say.
BOUND = {"maestro-cutover-viewers": "viewer", "maestro-cutover-operators": "operator"}
VERBS = ("get", "list", "watch", "create", "update", "patch", "delete")
#: What the docs say each may do in the rollout namespaces (the gates' ClusterRole aside).
VIEWER = {
    (verb, resource, namespace, name)
    for verb in ("get", "list", "watch")
    for namespace in NAMESPACES
    for resource, name in (("rollouts", ""), ("analysisruns", ""))
} | {(verb, "configmaps", NS, "maestro-cutover") for verb in ("get", "list", "watch")}
OPERATOR = (
    VIEWER
    | {
        (verb, resource, namespace, "")
        for namespace in NAMESPACES
        for verb, resource in (
            ("patch", "rollouts"),
            ("patch", "rollouts/status"),
            ("get", "rollouts/status"),
        )
    }
    | {("patch", "configmaps", NS, "maestro-cutover")}
)
#: What the gates' ClusterRole adds for both, in every namespace.
GATES = {
    (verb, resource, name)
    for verb in ("get", "list")
    for resource, name in (("rollouts", ""), ("analysistemplates", ""), ("cronjobs", ""))
} | {("get", "configmaps", "maestro-runbooks")}


def _documented_grants(cluster_scoped: set[str]) -> list[tuple[str, str, str, str, str]]:
    """(user, verb, resource, namespace, name) for every verb of every rule of every Role
    and ClusterRole in the docs, for the users their bindings name; a cluster-scoped
    resource is asked about without a namespace."""
    objects = yaml_blocks(DOCS.read_text())
    bound: dict[tuple[str, str], set[str]] = {}
    for obj in objects:
        if obj.get("kind") in ("RoleBinding", "ClusterRoleBinding"):
            users = {BOUND[s["name"]] for s in obj["subjects"] if s["name"] in BOUND}
            key = (obj["roleRef"]["kind"], obj["roleRef"]["name"])
            bound.setdefault(key, set()).update(users)
    grants = []
    for obj in objects:
        if obj.get("kind") not in ("Role", "ClusterRole"):
            continue
        users = bound.get((obj["kind"], obj["metadata"]["name"]), set())
        namespace = obj["metadata"].get("namespace", NS)
        for rule in obj["rules"]:
            for group in rule["apiGroups"]:
                for resource in rule["resources"]:
                    plural, _, sub = resource.partition("/")
                    qualified = f"{plural}.{group}" if group else plural
                    for verb in rule["verbs"]:
                        for name in rule.get("resourceNames") or [""]:
                            for user in sorted(users):
                                full = f"{qualified}/{sub}" if sub else qualified
                                where = "" if plural in cluster_scoped else namespace
                                grants.append((user, verb, full, where, name))
    return grants


def test_every_verb_of_every_documented_role_is_granted(kube: FakeKube, kubectl: Kubectl) -> None:
    cluster_scoped = {s.plural for s in kube.served.values() if not s.namespaced}
    grants = _documented_grants(cluster_scoped | {"selfsubjectaccessreviews"})
    assert {g[0] for g in grants} == {"viewer", "operator"}  # every Role is bound
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda g: kubectl.can_i(*g), grants))
    assert [g for g, yes in zip(grants, answers, strict=True) if not yes] == []


@pytest.mark.parametrize(("user", "granted"), [("viewer", VIEWER), ("operator", OPERATOR)])
def test_each_user_may_do_exactly_what_the_docs_say(
    kubectl: Kubectl, user: str, granted: set[tuple[str, str, str, str]]
) -> None:
    asked = [
        (verb, resource, namespace, name)
        for verb in VERBS
        for namespace in NAMESPACES
        for resource, name in (
            ("rollouts", ""),
            ("rollouts/status", ""),
            ("analysisruns", ""),
            ("configmaps", "maestro-cutover"),
            ("configmaps", ""),
            ("configmaps", "maestro-runbooks"),
            ("cronjobs", ""),
        )
    ]
    expected = {a for a in asked if a in granted or (a[0], a[1], a[3]) in GATES}
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda a: kubectl.can_i(user, *a), asked))
    allowed = {a for a, yes in zip(asked, answers, strict=True) if yes}
    assert sorted(allowed - expected) == [] and sorted(expected - allowed) == []
