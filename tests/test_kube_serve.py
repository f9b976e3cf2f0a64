"""`python -m tests.kube_fake serve`: the fake API server as a process, as the local stack
runs it, read with the real client through the kubeconfig it writes."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

from maestro_control_room.sources.kubeconfig import api_client

ROOT = Path(__file__).resolve().parent.parent


def _wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "no kubeconfig written"
        time.sleep(0.05)


def _rollouts(kubeconfig: Path, context: str, namespace: str = "") -> list[str]:
    from kubernetes import client

    api = client.CustomObjectsApi(api_client(str(kubeconfig), context))
    if namespace:
        listed = api.list_namespaced_custom_object("argoproj.io", "v1alpha1", namespace, "rollouts")
    else:
        listed = api.list_cluster_custom_object("argoproj.io", "v1alpha1", "rollouts")
    return [f"{i['metadata']['namespace']}/{i['metadata']['name']}" for i in listed["items"]]


def test_serve_writes_a_kubeconfig_serves_the_rollouts_and_stops_on_sigterm(
    tmp_path: Path,
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    args = [sys.executable, "-m", "tests.kube_fake", "serve", "--kubeconfig", str(kubeconfig)]
    args += ["--rollouts", "6", "--namespaces", "3"]
    with subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True) as served:
        try:
            _wait_for(kubeconfig, served)
            everywhere = _rollouts(kubeconfig, "operator")
            assert len(everywhere) == 6
            assert {key.split("/")[0] for key in everywhere} == {
                "maestro-system",
                "maestro-runners",
                "maestro-tenant-3",
            }
            # The docs' viewer Role is made in every namespace served.
            assert len(_rollouts(kubeconfig, "viewer", "maestro-tenant-3")) == 2
        finally:
            served.send_signal(signal.SIGTERM)
            served.wait(timeout=20)
    assert served.returncode == 0


def test_serve_seeds_the_demos_control_plane(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    args = [sys.executable, "-m", "tests.kube_fake", "serve", "--kubeconfig", str(kubeconfig)]
    with subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, text=True) as served:
        try:
            _wait_for(kubeconfig, served)
            assert sorted(_rollouts(kubeconfig, "viewer", "maestro-system")) == [
                "maestro-system/maestro-api",
                "maestro-system/maestro-scheduler",
            ]
            assert _rollouts(kubeconfig, "viewer", "maestro-runners") == [
                "maestro-runners/executor-controller"
            ]
        finally:
            served.send_signal(signal.SIGTERM)
            served.wait(timeout=20)
    assert served.returncode == 0
