"""Reaching the cluster: a kubeconfig context (exec auth plugins included) or, inside a
pod, the service account.

The `kubernetes` package is imported inside these functions only, so a control room that
does not watch Kubernetes never pays for importing it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any


class KubernetesConfigError(Exception):
    """No way to reach the cluster: a missing kubeconfig, an unknown context, and so on."""


def api_client(kubeconfig: str | None, context: str | None) -> Any:
    """An `ApiClient` for the context (the kubeconfig's current one when None).

    The kubeconfig is `kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config`; with none of
    them, the in-cluster service account. Exec auth plugins (`aws eks get-token`,
    `gke-gcloud-auth-plugin`, `kubelogin`) are run by the client itself.
    """
    from kubernetes import client, config
    from kubernetes.config.config_exception import ConfigException

    path = _kubeconfig_path(kubeconfig)
    configuration = client.Configuration()
    if path is None:
        if context:
            raise KubernetesConfigError(
                f"context {context!r} asked for, but there is no kubeconfig"
                " (set sources.kubernetes.kubeconfig or $KUBECONFIG)"
            )
        try:
            config.load_incluster_config(client_configuration=configuration)
        except ConfigException as error:
            raise KubernetesConfigError(
                "no kubeconfig (sources.kubernetes.kubeconfig, $KUBECONFIG, ~/.kube/config)"
                f" and not running in a cluster: {error}"
            ) from None
        return client.ApiClient(configuration)
    try:
        config.load_kube_config(
            config_file=str(path),
            context=context,
            client_configuration=configuration,
            persist_config=False,
        )
    except ConfigException as error:
        raise KubernetesConfigError(f"{path}: {error}{_contexts_hint(path, context)}") from None
    except OSError as error:
        raise KubernetesConfigError(f"{path}: {error}") from None
    return client.ApiClient(configuration)


#: The client's keyword arguments for a list or watch, and their names in the query.
_QUERY = {
    "field_selector": "fieldSelector",
    "label_selector": "labelSelector",
    "limit": "limit",
    "watch": "watch",
    "resource_version": "resourceVersion",
    "allow_watch_bookmarks": "allowWatchBookmarks",
    "timeout_seconds": "timeoutSeconds",
}


def core_get(client: Any, path: str) -> Callable[..., Any]:
    """GET a path of the core group (`/api/v1/...`) as CoreV1Api's methods do, taking the
    same keyword arguments (`label_selector`, `watch`, `_preload_content`, ...).

    CoreV1Api is one 2 MB module: loading it costs 0.4 s of CPU with the GIL held and some
    20 MB, to read one ConfigMap. The client's own request path (auth, TLS, the errors it
    raises) is used without it where the client has one (`param_serialize`, since v31);
    an older client falls back to CoreV1Api."""
    if not hasattr(client, "param_serialize") or not hasattr(client, "_call_with_legacy_options"):
        return partial(_core_v1_get, client, path)

    def get(*, _preload_content: bool = True, _request_timeout: Any = None, **query: Any) -> Any:
        unknown = set(query) - set(_QUERY)
        if unknown:
            raise TypeError(f"unexpected arguments: {', '.join(sorted(unknown))}")
        request = client.param_serialize(
            method="GET",
            resource_path=path,
            query_params=[(_QUERY[k], v) for k, v in query.items() if v is not None],
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        return client._call_with_legacy_options(
            request, {"200": "object", "401": None}, None, _preload_content, _request_timeout, True
        )

    return get


#: The core group's resources the checks can read: plural → CoreV1Api's name for one, and
#: whether it lives in a namespace.
CORE: dict[str, tuple[str, bool]] = {
    "configmaps": ("config_map", True),
    "secrets": ("secret", True),
    "services": ("service", True),
    "serviceaccounts": ("service_account", True),
    "pods": ("pod", True),
    "persistentvolumeclaims": ("persistent_volume_claim", True),
    "endpoints": ("endpoints", True),
    "resourcequotas": ("resource_quota", True),
    "limitranges": ("limit_range", True),
    "namespaces": ("namespace", False),
    "nodes": ("node", False),
    "persistentvolumes": ("persistent_volume", False),
}


def _core_v1_get(client: Any, path: str, **options: Any) -> Any:
    """The same GET through CoreV1Api, for a client without `param_serialize`."""
    from kubernetes import client as kube

    parts = path.strip("/").split("/")[2:]  # after api/v1
    core = kube.CoreV1Api(client)
    if parts[0] == "namespaces" and len(parts) >= 3:
        namespace, plural, name = parts[1], parts[2], parts[3] if len(parts) > 3 else ""
        singular = CORE[plural][0]
        if name:
            return getattr(core, f"read_namespaced_{singular}")(name, namespace, **options)
        return getattr(core, f"list_namespaced_{singular}")(namespace, **options)
    plural, name = parts[0], parts[1] if len(parts) > 1 else ""
    singular, namespaced = CORE[plural]
    if name:
        return getattr(core, f"read_{singular}")(name, **options)
    if not namespaced:
        return getattr(core, f"list_{singular}")(**options)
    return getattr(core, f"list_{singular}_for_all_namespaces")(**options)


def _kubeconfig_path(kubeconfig: str | None) -> Path | None:
    if kubeconfig:
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise KubernetesConfigError(f"sources.kubernetes.kubeconfig: {path} does not exist")
        return path
    # $KUBECONFIG may list several files; the first that exists is the one used here.
    for entry in os.environ.get("KUBECONFIG", "").split(os.pathsep):
        if entry and Path(entry).expanduser().is_file():
            return Path(entry).expanduser()
    default = Path("~/.kube/config").expanduser()
    return default if default.is_file() else None


def _contexts_hint(path: Path, context: str | None) -> str:
    if not context:
        return ""
    try:
        from kubernetes import config

        contexts, _ = config.list_kube_config_contexts(str(path))
    except Exception:
        return ""
    names = ", ".join(str(c.get("name")) for c in contexts or ())
    return f" (contexts in the file: {names})" if names else ""


def api_error(error: Exception) -> tuple[int, str]:
    """The HTTP status and the API server's own message of a client error."""
    status = int(getattr(error, "status", 0) or 0)
    body = getattr(error, "body", None)
    message = ""
    if body:
        try:
            message = str(json.loads(body).get("message", ""))
        except (ValueError, AttributeError, TypeError):
            message = str(body)[:200]
    return status, message or str(getattr(error, "reason", "") or error)


def context_in_use(kubeconfig: str | None, context: str | None) -> str:
    """The context the client talks to: the one asked for, or the kubeconfig's current one
    ("in-cluster" inside a pod, "" when it cannot be told)."""
    if context:
        return context
    path = _kubeconfig_path(kubeconfig)
    if path is None:
        return "in-cluster"
    try:
        from kubernetes import config

        _, current = config.list_kube_config_contexts(str(path))
    except Exception:
        return ""
    return str((current or {}).get("name", ""))
