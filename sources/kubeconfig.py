"""Reaching the cluster: a kubeconfig context (exec auth plugins included) or, inside a
pod, the service account.

The `kubernetes` package is imported inside these functions only, so a control room that
does not watch Kubernetes never pays for importing it.
"""

from __future__ import annotations

import json
import os
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
