"""The gate checks the cluster answers: `k8s_exists` (policies, secrets, signed rollouts, the
runbooks) and `k8s_cronjob_recent` (backups), read through the official client and judged
with `cutover.gates`.

The reads block; the Kubernetes source calls `ClusterChecks.readings` from a thread.
Resources of a named group (custom resources, `batch/v1/cronjobs`) are read with
CustomObjectsApi, which takes any group/version/plural; the core group has no such generic
call in the client, so its resources are read by path (`core_get`, without loading CoreV1Api).

A 404 on a named object means it is not there. Whether its kind is not even installed is told
by listing the resource: an API server answers 404 to the list of a resource it does not
serve (a CRD not installed), and 200 to one it does. Either way the check fails; only the
reason differs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import partial
from typing import Any

from ..cutover.gates import (
    CheckKind,
    CheckReading,
    CheckSpec,
    ObjectRef,
    cronjob_reading,
    objects_reading,
)
from .kubeconfig import CORE, api_error, core_get

Obj = dict[str, Any]

CLUSTER_KINDS = frozenset({CheckKind.K8S_EXISTS, CheckKind.K8S_CRONJOB_RECENT})


@dataclass(frozen=True)
class Found:
    """What reading one object set gave: the objects, or why there are none to judge."""

    objects: tuple[Obj, ...] | None
    error: str = ""
    #: The cluster does not serve the resource at all (a CRD not installed).
    not_installed: bool = False


class ClusterChecks:
    """Reads what the cluster's gate checks look at, and judges each check."""

    def __init__(
        self,
        client: Any,
        checks: Sequence[CheckSpec],
        source: str,
        *,
        timeout: float = 10.0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        self.checks = tuple(c for c in checks if c.kind in CLUSTER_KINDS and c.object)
        self.source = source
        self.timeout = timeout
        self._now = now or (lambda: datetime.now(timezone.utc))

    def readings(self) -> tuple[CheckReading, ...]:
        """One reading of every check (blocking); each object set is read once a round."""
        found: dict[ObjectRef, Found] = {}
        for spec in self.checks:
            assert spec.object is not None
            if spec.object not in found:
                found[spec.object] = self.read(spec.object)
        at = self._now()
        return tuple(
            judge(spec, found[spec.object], self.source, at)
            for spec in self.checks
            if spec.object is not None
        )

    def read(self, ref: ObjectRef) -> Found:
        """The object by name, or every object the selector matches (in the namespace, or in
        all of them when none is given)."""
        verb = "get" if ref.name else "list"
        try:
            if ref.name:
                return Found((self._get(ref),))
            return Found(tuple(self._list(ref).get("items") or ()))
        except Exception as error:
            status, message = api_error(error)
            if status == 404:
                if ref.name and self._served(ref):
                    return Found(())
                return Found((), not_installed=True)
            return Found(None, _why(verb, ref, status, message, error))

    # ---- the client's calls -------------------------------------------------------------

    def _get(self, ref: ObjectRef) -> Obj:
        from kubernetes import client

        if ref.group:
            custom = client.CustomObjectsApi(self.client)
            call: Callable[..., Any]
            if ref.namespace:
                call = partial(
                    custom.get_namespaced_custom_object,
                    ref.group, ref.version, ref.namespace, ref.plural, ref.name,
                )  # fmt: skip
            else:
                call = partial(
                    custom.get_cluster_custom_object, ref.group, ref.version, ref.plural, ref.name
                )
        else:
            _, namespaced = _core(ref)
            if namespaced:
                if not ref.namespace:
                    raise ValueError(f"{ref.plural} live in a namespace: the check needs one")
                path = f"/api/v1/namespaces/{ref.namespace}/{ref.plural}/{ref.name}"
            else:
                path = f"/api/v1/{ref.plural}/{ref.name}"
            call = core_get(self.client, path)
        return _json(call(_preload_content=False, _request_timeout=self._timeouts))

    def _list(self, ref: ObjectRef, limit: int | None = None) -> Obj:
        from kubernetes import client

        options: dict[str, Any] = {"_preload_content": False, "_request_timeout": self._timeouts}
        if ref.label_selector:
            options["label_selector"] = ref.label_selector
        if limit:
            options["limit"] = limit
        call: Callable[..., Any]
        if ref.group:
            custom = client.CustomObjectsApi(self.client)
            if ref.namespace:
                call = partial(
                    custom.list_namespaced_custom_object,
                    ref.group, ref.version, ref.namespace, ref.plural,
                )  # fmt: skip
            else:
                # Every namespace's objects of a namespaced resource; all of a cluster one.
                call = partial(
                    custom.list_cluster_custom_object, ref.group, ref.version, ref.plural
                )
        else:
            _, namespaced = _core(ref)
            if namespaced and ref.namespace:
                call = core_get(self.client, f"/api/v1/namespaces/{ref.namespace}/{ref.plural}")
            else:  # every namespace's, or a cluster-scoped resource's
                call = core_get(self.client, f"/api/v1/{ref.plural}")
        return _json(call(**options))

    def _served(self, ref: ObjectRef) -> bool:
        """Whether the cluster serves the resource at all; in doubt, it does."""
        if not ref.group:
            return True
        try:
            self._list(replace(ref, name="", label_selector=""), limit=1)
        except Exception as error:
            return api_error(error)[0] != 404
        return True

    @property
    def _timeouts(self) -> tuple[float, float]:
        return (self.timeout, self.timeout)


def judge(spec: CheckSpec, found: Found, source: str, at: datetime) -> CheckReading:
    """One check's reading from what was found for its object set."""
    assert spec.object is not None
    if spec.kind is CheckKind.K8S_EXISTS:
        reading = objects_reading(spec, found.objects, source, at, found.error)
    elif found.objects is None:
        reading = cronjob_reading(spec, None, source, at, found.error or "no answer")
    else:
        reading = cronjob_reading(spec, found.objects[0] if found.objects else None, source, at)
    if found.not_installed:
        ref = spec.object
        what = f"{ref.plural}.{ref.group}" if ref.group else ref.plural
        why = f"{what} not installed: the cluster serves no {ref.plural} in {ref.api_version}"
        return replace(reading, reason=why)
    return reading


def _core(ref: ObjectRef) -> tuple[str, bool]:
    try:
        return CORE[ref.plural]
    except KeyError:
        known = ", ".join(sorted(CORE))
        raise ValueError(
            f"v1/{ref.plural} is not a core resource; expected one of {known}"
        ) from None


def _json(response: Any) -> Obj:
    value = json.loads(response.data)
    return value if isinstance(value, dict) else {}


def _why(verb: str, ref: ObjectRef, status: int, message: str, error: Exception) -> str:
    what = f"{ref.plural}.{ref.group}" if ref.group else ref.plural
    where = f" in {ref.namespace}" if ref.namespace else ""
    if status == 403:
        return f"forbidden: {verb} {what}{where}"
    if status == 401:
        return f"unauthorized: check the kubeconfig's credentials ({message})"
    if status:
        return f"{verb} {what}{where}: {status} {message}"
    if isinstance(error, ValueError):
        return str(error)
    # urllib3 says where it tried, then why: "...: [Errno 111] Connection refused".
    cause = str(getattr(error, "reason", None) or error).rsplit(": ", 1)[-1][:120]
    return f"{verb} {what}{where}: cannot reach the API server ({cause})"
