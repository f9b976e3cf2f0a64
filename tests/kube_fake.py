"""A loopback fake of the Kubernetes API server, for tests only.

No API server can be installed here, so this one speaks the real REST and watch protocol to
the real `kubernetes` client and to kubectl, and refuses where a real server refuses: it is
the only cluster the tests have. Over HTTPS (a CA made at start, `tests/kube_wire.py`) with
bearer tokens, it serves discovery (`tests/kube_discovery.py`); get, list (`limit` and
`continue`) and watch (chunked `{"type", "object"}` lines) of the resources it serves (Argo
Rollouts, AnalysisRuns, ConfigMaps, CronJobs, and any custom resource a test installs;
namespaced or cluster-scoped; in one namespace or in all; by label or field selector) with
a global resourceVersion, a BOOKMARK a minute, `timeoutSeconds`, `410 Expired` for a
resourceVersion older than the kept history; JSON merge patches on the resource and on
`/status` with the `metadata.resourceVersion` precondition (409 when stale), `dryRun=All`,
`managedFields`; create, update and delete; a Status object for every failure; RBAC from
the docs' Roles (`tests/kube_rbac.py`), deny by default, with SelfSubjectAccessReview (JSON
or protobuf) and SelfSubjectReview answered from it; and a small Argo-like controller that
walks canary steps when a test asks it to. Resources are told apart by their plural alone.

Every thread is a daemon and `stop()` closes every open watch, so a failing test never hangs.
`python -m tests.kube_fake serve` runs it for people and scripts (`tests/kube_serve.py`).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.kube_discovery import discovery
from tests.kube_rbac import Rbac, Subject, from_docs
from tests.kube_wire import PROTOBUF, ProtobufError, decode, fake_ca, server_context

ROLLOUTS = "rollouts"
ANALYSISRUNS = "analysisruns"
CONFIGMAPS = "configmaps"
CRONJOBS = "cronjobs"

Obj = dict[str, Any]


@dataclass(frozen=True)
class Served:
    """A resource the fake serves, as discovery would list it."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    #: A CRD with `subresources: {status: {}}`; without it `/status` is 404 and the main
    #: resource takes the status as any other field.
    status_subresource: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        return f"{self.plural}.{self.group}" if self.group else self.plural


#: What every cluster here serves; a test installs its CRDs with `FakeKube.install`.
BUILT_IN = (
    Served("argoproj.io", "v1alpha1", ROLLOUTS, "Rollout"),
    Served("argoproj.io", "v1alpha1", ANALYSISRUNS, "AnalysisRun"),
    Served("", "v1", CONFIGMAPS, "ConfigMap"),
    Served("batch", "v1", CRONJOBS, "CronJob"),
)

_CONFLICT = (
    'Operation cannot be fulfilled on {} "{}": the object has been modified; please apply'
    " your changes to the latest version and try again"
)

#: The real API server's answer to a path it has no route for.
NO_ROUTE = "the server could not find the requested resource"


@dataclass(frozen=True)
class Recorded:
    """One request as the fake received it."""

    method: str
    path: str
    query: Mapping[str, str]
    content_type: str
    body: Any
    user: str
    status: int = 0
    #: The resourceVersion the request wrote ("" when it wrote nothing).
    written: str = ""

    @property
    def subresource(self) -> str:
        parts = self.path.rstrip("/").split("/")
        return parts[-1] if len(parts) >= 2 and parts[-1] == "status" else ""


@dataclass
class _Event:
    rv: int
    resource: str
    namespace: str
    type: str
    obj: Obj


@dataclass
class _Watch:
    sock: socket.socket
    dropped: bool = False
    bookmark: bool = field(default=False)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch: objects merge, null deletes, everything else replaces."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _matches_labels(obj: Obj, selector: str) -> bool:
    labels = obj.get("metadata", {}).get("labels") or {}
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key.strip()) == value.strip():
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key.strip()) != value.strip():
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _matches_fields(obj: Obj, selector: str) -> bool:
    meta = obj.get("metadata", {})
    for term in filter(None, (t.strip() for t in selector.split(","))):
        key, _, value = term.replace("==", "=").partition("=")
        actual = {"metadata.name": meta.get("name"), "metadata.namespace": meta.get("namespace")}
        if actual.get(key) != value:
            return False
    return True


def status_body(code: int, reason: str, message: str, **details: Any) -> Obj:
    """A `metav1.Status` failure, as the API server sends it."""
    body: Obj = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


class FakeKube:
    """The fake API server: objects, history, RBAC, and the Argo-like controller.

    `rbac` is the cluster's RBAC (the docs' Roles unless told otherwise); `forbid` then
    takes a grant away, as an administrator editing a Role would. `expired_as` says how a
    watch from a version older than the history is refused: as a 410 ERROR event in the
    stream (`"event"`, as the watch cache does) or as an HTTP 410 (`"status"`).
    """

    def __init__(
        self,
        *,
        history: int = 200,
        bookmark_every: float = 60.0,
        rbac: Rbac | None = None,
        tls: bool = True,
        expired_as: str = "event",
    ) -> None:
        self._cond = threading.Condition()
        self._rv = 100
        self._objects: dict[tuple[str, str, str], Obj] = {}
        self._history: deque[_Event] = deque(maxlen=history)
        #: Watches asking for a resourceVersion below this one get 410 Expired.
        self._oldest = self._rv
        self._watches: list[_Watch] = []
        self._closing = False
        #: A real API server sends a bookmark about once a minute.
        self.bookmark_every = bookmark_every
        self.expired_as = expired_as
        self.requests: list[Recorded] = []
        self.subjects: dict[str, Subject] = dict(SUBJECTS)
        self.rbac = rbac if rbac is not None else from_docs()
        self.tls = tls
        #: (user or "*", verb, resource with subresource, namespace or "*")
        self._forbidden: set[tuple[str, str, str, str]] = set()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._url = ""
        self.served: dict[str, Served] = {r.plural: r for r in BUILT_IN}

    # ---- life cycle -------------------------------------------------------------------

    def start(self, port: int = 0) -> str:
        fake = self

        class Handler(_Handler):
            kube = fake

        self._server = _Server(("127.0.0.1", port), Handler)
        if self.tls:
            self._server.context = server_context()
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        """Where it serves (where it served, once stopped)."""
        if self._server is not None:
            host, port = self._server.server_address[:2]
            self._url = f"{'https' if self.tls else 'http'}://{host!s}:{port}"
        return self._url

    def stop(self) -> None:
        """Stop serving, as an API server that goes down: connections are then refused."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        self.drop_watches()
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def write_kubeconfig(self, path: Path) -> Path:
        """A kubeconfig with an `operator` and a `viewer` context (bearer tokens, the test
        CA), and a `nowhere` context whose server refuses connections."""
        cluster: Obj = {"server": self.url}
        if self.tls:
            ca_pem = fake_ca()[0]
            cluster["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
        users = [
            {"name": subject.user, "user": {"token": token}}
            for token, subject in self.subjects.items()
        ]
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {"name": "fake", "cluster": cluster},
                {"name": "nowhere", "cluster": {"server": "http://127.0.0.1:9"}},
            ],
            "users": users,
            "contexts": [
                {"name": "operator", "context": {"cluster": "fake", "user": "operator"}},
                {"name": "viewer", "context": {"cluster": "fake", "user": "viewer"}},
                {"name": "admin", "context": {"cluster": "fake", "user": "admin"}},
                {"name": "nowhere", "context": {"cluster": "nowhere", "user": "operator"}},
            ],
            "current-context": "operator",
        }
        # Written whole, then moved in place: a script waiting for the file reads it whole.
        partial = path.with_name(path.name + ".partial")
        partial.write_text(json.dumps(config))  # JSON is YAML
        partial.replace(path)
        return path

    # ---- rules --------------------------------------------------------------------------

    def forbid(self, verb: str, resource: str, namespace: str = "*", user: str = "*") -> None:
        """Take `verb` on `resource` (e.g. "rollouts/status") away from `user`, whatever
        the RBAC grants."""
        self._forbidden.add((user, verb, resource, namespace))

    def allow(self, verb: str, resource: str, namespace: str = "*", user: str = "*") -> None:
        """Give back what `forbid` took; RBAC decides again."""
        self._forbidden.discard((user, verb, resource, namespace))

    def authorize(
        self,
        subject: Subject,
        verb: str,
        served_group: str,
        resource: str,
        subresource: str = "",
        name: str = "",
        namespace: str = "",
    ) -> tuple[bool, str]:
        """The authorizer's answer: (allowed, reason)."""
        target = f"{resource}/{subresource}" if subresource else resource
        for u, v, r, n in self._forbidden:
            if u in ("*", subject.user) and v == verb and r == target and n in ("*", namespace):
                return False, ""
        if "system:masters" in subject.groups:
            return True, 'allowed by the "system:masters" group'
        return self.rbac.authorize(
            subject, verb, served_group, resource, subresource, name, namespace
        )

    def install(self, resource: Served) -> None:
        """Serve a custom resource from now on, as installing its CRD does."""
        with self._cond:
            self.served[resource.plural] = resource

    def uninstall(self, plural: str) -> None:
        """Stop serving a resource, as a cluster without its CRD: its paths are 404."""
        with self._cond:
            self.served.pop(plural, None)

    # ---- objects ------------------------------------------------------------------------

    @property
    def resource_version(self) -> int:
        with self._cond:
            return self._rv

    def get(self, resource: str, namespace: str, name: str) -> Obj:
        with self._cond:
            return copy.deepcopy(self._objects[(resource, namespace, name)])

    def put(self, resource: str, obj: Obj) -> Obj:
        """Create or replace an object (as a test's `kubectl apply`), emitting its event.
        A cluster-scoped object has no `metadata.namespace`."""
        served = self.served[resource]
        obj = copy.deepcopy(obj)
        obj.setdefault("apiVersion", served.api_version)
        obj.setdefault("kind", served.kind)
        meta = obj.setdefault("metadata", {})
        namespace = str(meta.get("namespace", "")) if served.namespaced else ""
        if served.namespaced and not namespace:
            raise ValueError(f"{served.qualified} is namespaced: {meta.get('name')} needs one")
        key = (resource, namespace, meta["name"])
        with self._cond:
            before = self._objects.get(key)
            meta.setdefault("uid", f"uid-{namespace or 'cluster'}-{meta['name']}")
            meta.setdefault("generation", 1)
            meta.setdefault("creationTimestamp", _now())
            return self._store(key, obj, "ADDED" if before is None else "MODIFIED")

    def modify(
        self, resource: str, namespace: str, name: str, change: Callable[[Obj], None]
    ) -> Obj:
        """Change an object in place (as another writer would), emitting MODIFIED."""
        with self._cond:
            obj = copy.deepcopy(self._objects[(resource, namespace, name)])
            change(obj)
            return self._store((resource, namespace, name), obj, "MODIFIED")

    def delete(self, resource: str, namespace: str, name: str) -> None:
        with self._cond:
            obj = self._objects.pop((resource, namespace, name))
            self._rv += 1
            obj["metadata"]["resourceVersion"] = str(self._rv)
            self._history.append(_Event(self._rv, resource, namespace, "DELETED", obj))
            self._forget_old()
            self._cond.notify_all()

    def _store(self, key: tuple[str, str, str], obj: Obj, kind: str) -> Obj:
        self._rv += 1
        obj["metadata"]["resourceVersion"] = str(self._rv)
        self._objects[key] = obj
        self._history.append(_Event(self._rv, key[0], key[1], kind, copy.deepcopy(obj)))
        self._forget_old()
        self._cond.notify_all()
        return copy.deepcopy(obj)

    def _forget_old(self) -> None:
        if len(self._history) == self._history.maxlen:
            self._oldest = max(self._oldest, self._history[0].rv - 1)

    def compact(self) -> None:
        """Forget all history, as etcd compaction does: older resourceVersions expire."""
        with self._cond:
            self._history.clear()
            self._oldest = self._rv

    def drop_watches(self) -> None:
        """Cut every open watch connection mid-stream, as a load balancer restart does."""
        with self._cond:
            watches = list(self._watches)
            for watch in watches:
                watch.dropped = True
            self._cond.notify_all()
        for watch in watches:
            with contextlib.suppress(OSError):
                watch.sock.shutdown(socket.SHUT_RDWR)

    def rollout_keys(self) -> list[tuple[str, str]]:
        """(namespace, name) of every rollout, for a controller loop."""
        with self._cond:
            return [(ns, name) for (r, ns, name) in sorted(self._objects) if r == ROLLOUTS]

    @property
    def open_watches(self) -> int:
        with self._cond:
            return len(self._watches)

    def patches(self, name: str | None = None) -> list[Recorded]:
        return [
            r
            for r in self.requests
            if r.method == "PATCH"
            and (name is None or r.path.rstrip("/").removesuffix("/status").endswith(f"/{name}"))
        ]

    # ---- the Argo-like controller -----------------------------------------------------

    def reconcile(self, namespace: str, name: str) -> bool:
        """One move of the Argo controller on one rollout; True when something changed."""
        with self._cond:
            key = (ROLLOUTS, namespace, name)
            obj = copy.deepcopy(self._objects[key])
            before = json.dumps(obj, sort_keys=True)
            self._reconcile(obj)
            if json.dumps(obj, sort_keys=True) == before:
                return False
            self._store(key, obj, "MODIFIED")
            return True

    def settle(self, namespace: str, name: str, limit: int = 50) -> None:
        """Reconcile until the rollout stops moving (blocked on a pause, analysis or done)."""
        for _ in range(limit):
            if not self.reconcile(namespace, name):
                return

    def set_analysis(self, namespace: str, run: str, phase: str, message: str = "") -> None:
        """The analysis controller's verdict on a run: Successful, Failed or Inconclusive."""

        def change(obj: Obj) -> None:
            obj.setdefault("status", {})["phase"] = phase
            if message:
                obj["status"]["message"] = message

        self.modify(ANALYSISRUNS, namespace, run, change)

    def _reconcile(self, obj: Obj) -> None:
        spec, status = obj.get("spec", {}), obj.setdefault("status", {})
        steps = spec.get("strategy", {}).get("canary", {}).get("steps") or []
        status["observedGeneration"] = str(obj["metadata"].get("generation", 1))
        canary = status.setdefault("canary", {})
        index = status.get("currentStepIndex", 0)
        status.setdefault("currentStepIndex", index)
        if status.get("abort"):
            status.pop("pauseConditions", None)
            status["controllerPause"] = False
            canary["weights"] = _weights(0)
            status["phase"] = "Degraded"
            status["message"] = "RolloutAborted: Rollout aborted update to revision 2"
            status["conditions"] = [
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "RolloutAborted",
                    "message": "Rollout aborted update to revision 2",
                }
            ]
            return
        status.pop("conditions", None)
        if spec.get("paused"):
            # As the real controller: a manual pause halts it before promoteFull is read.
            status["phase"], status["message"] = "Paused", "manually paused"
            return
        if status.get("promoteFull"):
            status.pop("promoteFull")
            status.pop("pauseConditions", None)
            status["controllerPause"] = False
            index = status["currentStepIndex"] = len(steps)
        if status.get("pauseConditions"):
            status["controllerPause"] = True
            status["phase"] = "Paused"
            status["message"] = status["pauseConditions"][0]["reason"]
            return
        if status.get("controllerPause"):
            # The pause conditions were cleared by a promote: the pause step is over.
            status["controllerPause"] = False
            if index < len(steps) and "pause" in steps[index]:
                index = status["currentStepIndex"] = index + 1
                status["phase"], status["message"] = (
                    "Progressing",
                    "more replicas need to be updated",
                )
                return
        if index >= len(steps):
            status["stableRS"] = status.get("currentPodHash", "")
            canary["weights"] = _weights(100)
            canary.pop("currentStepAnalysisRunStatus", None)
            status["phase"], status["message"] = "Healthy", ""
            return
        step = steps[index]
        status["phase"], status["message"] = "Progressing", "more replicas need to be updated"
        if "setWeight" in step:
            canary["weights"] = _weights(int(step["setWeight"]))
            status["currentStepIndex"] = index + 1
        elif "pause" in step:
            status["pauseConditions"] = [{"reason": "CanaryPauseStep", "startTime": _now()}]
            status["controllerPause"] = True
            status["phase"], status["message"] = "Paused", "CanaryPauseStep"
        elif "analysis" in step:
            self._step_analysis(obj, index, canary, status)

    def _step_analysis(self, obj: Obj, index: int, canary: Obj, status: Obj) -> None:
        meta = obj["metadata"]
        run_name = f"{meta['name']}-{status.get('currentPodHash', 'hash')}-{index}"
        current = canary.get("currentStepAnalysisRunStatus") or {}
        key = (ANALYSISRUNS, meta["namespace"], run_name)
        run = self._objects.get(key)
        if run is None:
            self._store(
                key,
                {
                    "apiVersion": self.served[ANALYSISRUNS].api_version,
                    "kind": "AnalysisRun",
                    "metadata": {
                        "name": run_name,
                        "namespace": meta["namespace"],
                        "creationTimestamp": _now(),
                        "labels": {"rollout-type": "Step", "step-index": str(index)},
                        "ownerReferences": [
                            {"kind": "Rollout", "name": meta["name"], "uid": meta.get("uid", "")}
                        ],
                    },
                    "status": {"phase": "Running"},
                },
                "ADDED",
            )
            canary["currentStepAnalysisRunStatus"] = {"name": run_name, "status": "Running"}
            return
        phase = run.get("status", {}).get("phase", "Running")
        if current.get("status") != phase:
            canary["currentStepAnalysisRunStatus"] = {"name": run_name, "status": phase}
        if phase == "Successful":
            status["currentStepIndex"] = index + 1
        elif phase in ("Failed", "Error"):
            status["abort"] = True
        elif phase == "Inconclusive":
            status["pauseConditions"] = [{"reason": "InconclusiveAnalysis", "startTime": _now()}]
            status["controllerPause"] = True
            status["phase"], status["message"] = "Paused", "InconclusiveAnalysis"

    # ---- serving ------------------------------------------------------------------------

    def _list(self, resource: str, namespace: str, query: Mapping[str, str]) -> tuple[int, Obj]:
        """The objects in `namespace`, or in every namespace when it is empty (and every
        object of a cluster-scoped resource), a page of `limit` at a time with a `continue`
        token. A continue token, or an exact resourceVersion, older than the kept history
        is 410 Expired, as etcd compaction makes it."""
        served = self.served[resource]
        with self._cond:
            rv = self._rv
            start = ""
            token = query.get("continue", "")
            if token:
                try:
                    decoded = json.loads(base64.b64decode(token))
                    rv, start = int(decoded["rv"]), str(decoded["start"])
                except (ValueError, KeyError, TypeError):
                    return 400, status_body(400, "BadRequest", "continue key is not valid")
                if rv < self._oldest:
                    return 410, status_body(410, "Expired", CONTINUE_EXPIRED)
            elif query.get("resourceVersion", "") not in ("", "0") and (
                query.get("resourceVersionMatch") == "Exact" or query.get("limit")
            ):
                exact = int(query["resourceVersion"])
                if exact < self._oldest:
                    message = f"too old resource version: {exact} ({self._oldest + 1})"
                    return 410, status_body(410, "Expired", message)
            keyed = [
                ("/".join(key[1:]), copy.deepcopy(o))
                for key, o in sorted(self._objects.items())
                if key[0] == resource and namespace in ("", key[1]) and self._selected(o, query)
            ]
        keyed = [(k, o) for k, o in keyed if k > start]
        metadata: Obj = {"resourceVersion": str(rv)}
        limit = int(query.get("limit") or 0)
        if limit and len(keyed) > limit:
            last = keyed[limit - 1][0]
            metadata["continue"] = base64.b64encode(
                json.dumps({"rv": rv, "start": last}).encode()
            ).decode()
            metadata["remainingItemCount"] = len(keyed) - limit
            keyed = keyed[:limit]
        return 200, {
            "apiVersion": served.api_version,
            "kind": f"{served.kind}List",
            "metadata": metadata,
            "items": [o for _, o in keyed],
        }

    @staticmethod
    def _selected(obj: Obj, query: Mapping[str, str]) -> bool:
        return _matches_labels(obj, query.get("labelSelector", "")) and _matches_fields(
            obj, query.get("fieldSelector", "")
        )

    def _watch_events(
        self, resource: str, namespace: str, query: Mapping[str, str], watch: _Watch
    ) -> Iterator[Obj | None]:
        """The watch's events as they happen; None is a chance to notice a dropped client."""
        timeout = float(query.get("timeoutSeconds", "1800"))
        deadline = time.monotonic() + timeout
        bookmarks = query.get("allowWatchBookmarks") == "true"
        requested = query.get("resourceVersion", "")
        with self._cond:
            if requested in ("", "0"):
                cursor = self._rv
                initial = [
                    copy.deepcopy(o)
                    for (r, ns, _), o in sorted(self._objects.items())
                    if r == resource and namespace in ("", ns) and self._selected(o, query)
                ]
            else:
                cursor, initial = int(requested), []
                if cursor < self._oldest:
                    message = f"too old resource version: {cursor} ({self._oldest + 1})"
                    yield {"type": "ERROR", "object": status_body(410, "Expired", message)}
                    return
        for obj in initial:
            yield {"type": "ADDED", "object": obj}
        next_bookmark = time.monotonic() + self.bookmark_every
        while True:
            with self._cond:
                if cursor < self._oldest and self.expired_as == "status":
                    return  # the stream ends; watching on from the cursor is then a 410
                if cursor < self._oldest:
                    message = f"too old resource version: {cursor} ({self._oldest + 1})"
                    yield {"type": "ERROR", "object": status_body(410, "Expired", message)}
                    return
                pending = [e for e in self._history if e.rv > cursor]
                if not pending and not (self._closing or watch.dropped):
                    wait = min(deadline, next_bookmark) - time.monotonic()
                    self._cond.wait(timeout=max(0.0, min(wait, 0.1)))
                    pending = [e for e in self._history if e.rv > cursor]
                if self._closing or watch.dropped:
                    return
                current = self._rv
            for event in pending:
                cursor = event.rv
                if (
                    event.resource == resource
                    and namespace in ("", event.namespace)
                    and self._selected(event.obj, query)
                ):
                    yield {"type": event.type, "object": copy.deepcopy(event.obj)}
            now = time.monotonic()
            if now >= deadline:
                return
            if bookmarks and now >= next_bookmark:
                cursor = max(cursor, current)
                yield {
                    "type": "BOOKMARK",
                    "object": {
                        "kind": self.served[resource].kind,
                        "apiVersion": self.served[resource].api_version,
                        "metadata": {"resourceVersion": str(cursor)},
                    },
                }
                next_bookmark = now + self.bookmark_every
            yield None

    def _patch(
        self,
        resource: str,
        namespace: str,
        name: str,
        subresource: str,
        body: Obj,
        manager: str = "",
        *,
        dry_run: bool = False,
    ) -> tuple[int, Obj]:
        with self._cond:
            key = (resource, namespace, name)
            current = self._objects.get(key)
            if current is None:
                return 404, status_body(404, "NotFound", f'{resource} "{name}" not found')
            body = copy.deepcopy(body)
            wanted = (body.get("metadata") or {}).pop("resourceVersion", None)
            if wanted is not None and wanted != current["metadata"]["resourceVersion"]:
                message = _CONFLICT.format(self.served[resource].qualified, name)
                return 409, status_body(409, "Conflict", message, name=name, kind=resource)
            if self.served[resource].group and self.served[resource].status_subresource:
                # A CRD with the status subresource: each endpoint changes only its own part.
                if subresource == "status":
                    body = {"status": body.get("status"), "metadata": body.get("metadata")}
                else:
                    body.pop("status", None)
            if not body.get("metadata"):
                body.pop("metadata", None)
            updated = merge_patch(copy.deepcopy(current), body)  # never the stored one
            if updated == current:
                # A patch that changes nothing writes nothing: no new version, no event.
                return 200, copy.deepcopy(current)
            if updated.get("spec") != current.get("spec"):
                updated["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
            _managed(updated, manager or "unknown", subresource, self.served[resource])
            if dry_run:
                return 200, updated  # dryRun=All: answered as if written, nothing kept
            return 200, self._store(key, updated, "MODIFIED")

    def _expired(self, query: Mapping[str, str]) -> str:
        """Why a watch from the query's resourceVersion cannot be served ("" when it can)."""
        requested = query.get("resourceVersion", "")
        with self._cond:
            if requested not in ("", "0") and int(requested) < self._oldest:
                return f"too old resource version: {requested} ({self._oldest + 1})"
        return ""

    def _write(
        self, method: str, served: Served, namespace: str, name: str, body: Any, dry_run: bool
    ) -> tuple[int, Obj]:
        """POST (create), PUT (replace, with the resourceVersion precondition), DELETE."""
        resource = served.plural
        with self._cond:
            if method == "DELETE":
                if (resource, namespace, name) not in self._objects:
                    return 404, status_body(
                        404, "NotFound", f'{served.qualified} "{name}" not found'
                    )
                if not dry_run:
                    self.delete(resource, namespace, name)
                return 200, {
                    "kind": "Status",
                    "apiVersion": "v1",
                    "metadata": {},
                    "status": "Success",
                    "details": {"name": name, "group": served.group, "kind": resource},
                }
            obj = copy.deepcopy(body) if isinstance(body, dict) else {}
            meta = obj.setdefault("metadata", {})
            name = name or str(meta.get("name", ""))
            if not name:
                return 422, status_body(422, "Invalid", "metadata.name: Required value")
            if served.namespaced:
                meta["namespace"] = namespace
            key = (resource, namespace if served.namespaced else "", name)
            current = self._objects.get(key)
            if method == "POST" and current is not None:
                message = f'{served.qualified} "{name}" already exists'
                return 409, status_body(409, "AlreadyExists", message, name=name, kind=resource)
            if method == "PUT":
                if current is None:
                    return 404, status_body(
                        404, "NotFound", f'{served.qualified} "{name}" not found'
                    )
                wanted = meta.get("resourceVersion")
                if wanted and wanted != current["metadata"]["resourceVersion"]:
                    return 409, status_body(
                        409, "Conflict", _CONFLICT.format(served.qualified, name)
                    )
            if dry_run:
                return (201 if method == "POST" else 200), obj
            stored = self.put(resource, obj)
            return (201 if method == "POST" else 200), stored

    def _access_review(self, subject: Subject, body: Obj) -> Obj:
        spec = body.get("spec") or {}
        attrs = spec.get("resourceAttributes")
        if attrs is not None:
            ok, reason = self.authorize(
                subject,
                attrs.get("verb", ""),
                attrs.get("group", ""),
                attrs.get("resource", ""),
                attrs.get("subresource", ""),
                attrs.get("name", ""),
                attrs.get("namespace", ""),
            )
        else:
            # Non-resource URLs: discovery, which every authenticated user may read.
            path = (spec.get("nonResourceAttributes") or {}).get("path", "")
            verb = (spec.get("nonResourceAttributes") or {}).get("verb", "")
            ok = verb == "get" and path.split("/")[1:2] in (["api"], ["apis"], ["version"])
            reason = 'RBAC: allowed by ClusterRoleBinding "system:discovery"' if ok else ""
        status: Obj = {"allowed": ok}
        if reason:
            status["reason"] = reason
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectAccessReview",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": status,
        }

    def _rules_review(self, subject: Subject, body: Obj) -> Obj:
        spec = body.get("spec") or {}
        rules = self.rbac.rules_of(subject, str(spec.get("namespace", "")))
        resource_rules = []
        for rule in rules:
            entry: Obj = {
                "verbs": list(rule.verbs),
                "apiGroups": list(rule.api_groups),
                "resources": list(rule.resources),
            }
            if rule.resource_names:
                entry["resourceNames"] = list(rule.resource_names)
            resource_rules.append(entry)
        # Discovery, as system:discovery grants every authenticated user.
        discovery_urls = ["/api", "/api/*", "/apis", "/apis/*", "/version"]
        return {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SelfSubjectRulesReview",
            "metadata": {"creationTimestamp": None},
            "spec": spec,
            "status": {
                "resourceRules": resource_rules,
                "nonResourceRules": [{"verbs": ["get"], "nonResourceURLs": discovery_urls}],
                "incomplete": False,
            },
        }


def _managed(obj: Obj, manager: str, subresource: str, served: Served) -> None:
    """Note in `metadata.managedFields` who wrote (per manager and subresource), as the
    API server does; the field sets themselves are left out."""
    entries = [
        m
        for m in obj["metadata"].get("managedFields") or []
        if (m.get("manager"), m.get("subresource", "")) != (manager, subresource)
    ]
    entry: Obj = {
        "manager": manager,
        "operation": "Update",
        "apiVersion": served.api_version,
        "time": _now(),
        "fieldsType": "FieldsV1",
        "fieldsV1": {},
    }
    if subresource:
        entry["subresource"] = subresource
    obj["metadata"]["managedFields"] = [*entries, entry]


def _weights(canary: int) -> Obj:
    return {
        "canary": {"weight": canary, "podTemplateHash": "canary"},
        "stable": {"weight": 100 - canary, "podTemplateHash": "stable"},
    }


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


_VERBS = {"GET": "get", "PATCH": "patch", "POST": "create", "PUT": "update", "DELETE": "delete"}
#: The media types a patch may have; the fake applies merge patches and refuses the others
#: as a server without them would.
PATCH_TYPES = ("application/merge-patch+json",)
JSON = "application/json"
ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"
SELF_REVIEWS = "/apis/authentication.k8s.io/v1/selfsubjectreviews"
RULES_REVIEWS = "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews"
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result."
    " You can start a new list without the continue parameter."
)

#: The users the bearer tokens name, and their groups, as the docs' bindings expect.
SUBJECTS = {
    "operator-token": Subject("operator", ("maestro-cutover-operators",)),
    "viewer-token": Subject("viewer", ("maestro-cutover-viewers",)),
    # The cluster's administrator, as a kubeadm admin.conf: for seeding, never the room.
    "admin-token": Subject("admin", ("system:masters",)),
}


class _Server(ThreadingHTTPServer):
    """Serves HTTP, or HTTPS when it has a context; the handshake happens in the
    connection's own thread, on its first read."""

    context: ssl.SSLContext | None = None
    # socketserver listens with a backlog of 5: a room opening its 41 watches at once
    # overflows it, and each connection dropped waits a second for its SYN to be resent.
    # An API server's backlog is the system's (Go listens with somaxconn).
    request_queue_size = socket.SOMAXCONN

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        super().__init__(address, handler)
        #: Each connection's thread and socket, while it is open: `close_connections` ends
        #: them, so no thread of the server outlives it (a daemon thread still reading TLS
        #: while the interpreter shuts down can abort it).
        self._open: dict[threading.Thread, Any] = {}
        self._open_lock = threading.Lock()

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        if self.context is not None:
            sock = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open[threading.current_thread()] = request
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._open_lock:
                self._open.pop(threading.current_thread(), None)

    def close_connections(self, timeout: float = 5.0) -> None:
        """Shut every open connection (a client's kept-alive one among them) and wait for
        its thread to end."""
        with self._open_lock:
            open_now = dict(self._open)
        for sock in open_now.values():
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in open_now:
            thread.join(timeout)


class _Refused(Exception):
    """A request the server answers with a failure Status."""

    def __init__(self, code: int, reason: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code, self.body = code, status_body(code, reason, message, **details)


class _Handler(BaseHTTPRequestHandler):
    kube: FakeKube
    protocol_version = "HTTP/1.1"
    # Headers and body leave in two writes: with Nagle's algorithm on, the body waits for
    # the client's delayed ACK (40 ms a request here). An API server sends at once (Go's
    # sockets have TCP_NODELAY), so this one does too.
    disable_nagle_algorithm = True
    _request: tuple[Any, ...] = ()

    def log_message(self, format: str, *args: Any) -> None:  # quiet in test output
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _record(self, status: int, written: str = "") -> None:
        # Recorded before the reply leaves, so a test that has its answer sees the request.
        with self.kube._cond:
            self.kube.requests.append(Recorded(*self._request, status=status, written=written))

    def _send(self, code: int, body: Obj) -> None:
        written = ""
        if self._request and self._request[0] != "GET" and 200 <= code < 300:
            written = str((body.get("metadata") or {}).get("resourceVersion") or "")
        self._record(code, written)
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", JSON)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _serve(self, method: str) -> None:
        kube = self.kube
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        subject = kube.subjects.get(token)
        self._request = (
            method,
            split.path,
            query,
            content_type,
            None,
            subject.user if subject else "",
        )
        try:
            raw = self._body()
            body = self._decode(raw, content_type, method)
            self._request = (method, split.path, query, content_type, body, self._request[5])
            if subject is None:
                raise _Refused(401, "Unauthorized", "Unauthorized")
            self._route(method, split.path, query, body, subject, content_type)
        except _Refused as refused:
            self._send(refused.code, refused.body)

    def _decode(self, raw: bytes, content_type: str, method: str) -> Any:
        if not raw:
            return None
        if content_type == PROTOBUF:
            try:
                return decode(raw)
            except ProtobufError as error:
                raise _Refused(415, "UnsupportedMediaType", str(error)) from None
        accepted = PATCH_TYPES if method == "PATCH" else (JSON,)
        # As the API server: a create or update without a Content-Type is read as JSON.
        if content_type not in accepted and (method == "PATCH" or content_type):
            message = (
                f"the body of the request was in an unknown format - accepted media types"
                f" include: {', '.join(accepted)}"
            )
            raise _Refused(415, "UnsupportedMediaType", message)
        try:
            return json.loads(raw)
        except ValueError as error:
            raise _Refused(400, "BadRequest", f"the request body is not JSON: {error}") from None

    def _route(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        body: Any,
        subject: Subject,
        content_type: str,
    ) -> None:
        kube = self.kube
        if method == "GET" and (discovered := discovery(kube, path, self.headers.get("Host", ""))):
            self._send(200, discovered)
            return
        if method == "POST" and path == ACCESS_REVIEWS:
            self._send(201, kube._access_review(subject, body or {}))
            return
        if method == "POST" and path == RULES_REVIEWS:
            self._send(201, kube._rules_review(subject, body or {}))
            return
        if method == "POST" and path == SELF_REVIEWS:
            user = {"username": subject.user, "groups": list(subject.all_groups)}
            review = {
                "apiVersion": "authentication.k8s.io/v1",
                "kind": "SelfSubjectReview",
                "metadata": {"creationTimestamp": None},
                "status": {"userInfo": user},
            }
            self._send(201, review)
            return
        found = self._resolve(path)
        if found is None:
            raise _Refused(404, "NotFound", NO_ROUTE)
        served, namespace, name, subresource = found
        if subresource == "status" and not served.status_subresource:
            raise _Refused(404, "NotFound", NO_ROUTE)
        resource = served.plural
        verb = _VERBS.get(method, method.lower())
        named = name
        if method == "GET" and not name:
            verb = "watch" if query.get("watch") in ("true", "1") else "list"
            # As the API server: a list or watch by metadata.name is authorized on that name.
            selector = query.get("fieldSelector", "")
            if selector.startswith("metadata.name=") and "," not in selector:
                named = selector.split("=", 1)[1].lstrip("=")
        ok, _ = kube.authorize(subject, verb, served.group, resource, subresource, named, namespace)
        if not ok:
            target = f"{resource}/{subresource}" if subresource else resource
            group = served.group
            where = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            what = f'{served.qualified} "{name}"' if name else served.qualified
            message = (
                f'{what} is forbidden: User "{subject.user}" cannot {verb} resource "{target}"'
                f' in API group "{group}" {where}'
            )
            raise _Refused(403, "Forbidden", message, name=name, group=group, kind=resource)
        for key in ("resourceVersion",):
            if query.get(key, "") and not query[key].isdigit():
                raise _Refused(400, "BadRequest", f"invalid resource version: {query[key]!r}")
        if method == "GET" and not name:
            if verb == "watch":
                self._watch(resource, namespace, query)
            else:
                self._send(*kube._list(resource, namespace, query))
            return
        if method == "GET" and query.get("watch") in ("true", "1"):
            self._watch(resource, namespace, {**query, "fieldSelector": f"metadata.name={name}"})
            return
        if method == "GET":
            self._send(200, self._get(served, namespace, name))
            return
        dry_run = query.get("dryRun") == "All"
        if method == "PATCH":
            version = str(((body or {}).get("metadata") or {}).get("resourceVersion") or "")
            if version and not version.isdigit():
                raise _Refused(400, "BadRequest", f"invalid resource version: {version!r}")
            code, result = kube._patch(
                resource,
                namespace,
                name,
                subresource,
                body or {},
                query.get("fieldManager", ""),
                dry_run=dry_run,
            )
            self._send(code, result)
            return
        self._send(*kube._write(method, served, namespace, name, body, dry_run))

    def _get(self, served: Served, namespace: str, name: str) -> Obj:
        try:
            return self.kube.get(served.plural, namespace, name)
        except KeyError:
            message = f'{served.qualified} "{name}" not found'
            details = {"name": name, "group": served.group, "kind": served.plural}
            raise _Refused(404, "NotFound", message, **details) from None

    def _watch(self, resource: str, namespace: str, query: Mapping[str, str]) -> None:
        expired = self.kube._expired(query)
        if expired and self.kube.expired_as == "status":
            raise _Refused(410, "Expired", expired)
        self._stream(resource, namespace, query)

    def _resolve(self, path: str) -> tuple[Served, str, str, str] | None:
        """The resource, namespace, name and subresource a path names; None when the server
        has no route for it (a resource it does not serve, a namespaced one by name without
        its namespace).

        /api/v1[/namespaces/NS]/PLURAL[/NAME[/SUB]], /apis/GROUP/VERSION[/namespaces/NS]/...
        """
        parts = path.strip("/").split("/")
        if parts[:2] == ["api", "v1"]:
            group, version, rest = "", "v1", parts[2:]
        elif parts[0] == "apis" and len(parts) >= 3:
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        namespace = ""
        if len(rest) >= 3 and rest[0] == "namespaces":
            namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            return None
        served = self.kube.served.get(rest[0])
        if served is None or (served.group, served.version) != (group, version):
            return None
        name = rest[1] if len(rest) > 1 else ""
        if namespace and not served.namespaced:
            return None
        if served.namespaced and name and not namespace:
            return None
        return served, namespace, name, rest[2] if len(rest) > 2 else ""

    def _stream(self, resource: str, namespace: str, query: Mapping[str, str]) -> None:
        kube = self.kube
        self._record(200)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()
        watch = _Watch(self.connection)
        with kube._cond:
            kube._watches.append(watch)
        try:
            for event in kube._watch_events(resource, namespace, query, watch):
                if event is None:
                    continue
                line = json.dumps(event).encode() + b"\n"
                self.wfile.write(b"%x\r\n%s\r\n" % (len(line), line))
                self.wfile.flush()
            if not watch.dropped:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        except OSError:
            pass
        finally:
            with kube._cond:
                kube._watches.remove(watch)
            if watch.dropped:
                self.close_connection = True


def canary_rollout(
    name: str,
    namespace: str = "maestro-system",
    *,
    steps: list[Obj] | None = None,
    labels: Mapping[str, str] | None = None,
) -> Obj:
    """An Argo Rollout of the Maestro control plane, before the controller has seen it."""
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "generation": 1,
            "labels": dict(labels or {"app.kubernetes.io/part-of": "maestro"}),
            # The controller numbers each revision; the canary moves to the second.
            "annotations": {"rollout.argoproj.io/revision": "2"},
        },
        "spec": {
            "replicas": 3,
            "strategy": {"canary": {"steps": steps if steps is not None else MAESTRO_STEPS}},
            "template": {
                "spec": {"containers": [{"name": name, "image": f"{IMAGES}/{name}:2.14.0"}]}
            },
        },
        "status": {"currentPodHash": "canary", "stableRS": "stable", "currentStepIndex": 0},
    }


#: Where the control plane's images come from.
IMAGES = "ghcr.io/intelgraph"

#: The plan's canary: 10 → pause → 25 → (promote) → analysis → 50 → 100.
MAESTRO_STEPS: list[Obj] = [
    {"setWeight": 10},
    {"pause": {"duration": "2m"}},
    {"setWeight": 25},
    {"pause": {}},
    {"analysis": {"templates": [{"templateName": "success-rate"}]}},
    {"setWeight": 50},
    {"pause": {"duration": "5m"}},
    {"setWeight": 100},
]


def cutover_configmap(
    namespace: str = "maestro-system", name: str = "maestro-cutover", **data: str
) -> Obj:
    """The shared `maestro-cutover` ConfigMap, unfrozen unless `data` says otherwise."""
    base = {
        "frozen": "false",
        "frozen_by": "",
        "frozen_at": "",
        "freeze_reason": "",
        "paused_by_freeze": "[]",
        "waves": "{}",
        "signoffs": "{}",
    }
    base.update(data)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": base,
    }


def backup_cronjob(name: str, last_success: str | None, namespace: str = "maestro-system") -> Obj:
    """A backup CronJob; `last_success` (RFC 3339) is its `status.lastSuccessfulTime`, None
    when it never succeeded."""
    status: Obj = {"lastScheduleTime": last_success} if last_success else {}
    if last_success:
        status["lastSuccessfulTime"] = last_success
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {
            "schedule": "0 2 * * *",
            "jobTemplate": {"spec": {"template": {"spec": {"restartPolicy": "OnFailure"}}}},
        },
        "status": status,
    }


if __name__ == "__main__":
    import sys

    from tests.kube_serve import main

    sys.exit(main())
