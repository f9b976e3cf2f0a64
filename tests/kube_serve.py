"""`python -m tests.kube_fake serve`: the fake API server for people and scripts.

Serves HTTPS on loopback with the docs' RBAC, seeded with the demo's rollouts (the API
waiting at a pause step, the scheduler done, the executor controller just started) and the
`maestro-cutover` ConfigMap; writes a kubeconfig with a `viewer` and an `operator` context;
runs the Argo-like controller every `--reconcile-every` seconds, so a promote moves the
canary on; and serves until SIGTERM or SIGINT.
"""

from __future__ import annotations

import argparse
import functools
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from tests.kube_fake import (
    CONFIGMAPS,
    MAESTRO_STEPS,
    ROLLOUTS,
    FakeKube,
    canary_rollout,
    cutover_configmap,
)
from tests.kube_rbac import DOCS, NAMESPACES, from_docs


def namespaces_for(count: int) -> tuple[str, ...]:
    """The plan's two namespaces first, then `maestro-tenant-N` for any more."""
    extra = tuple(f"maestro-tenant-{n}" for n in range(3, count + 1))
    return (*NAMESPACES, *extra)[: max(count, 1)]


def seed_demo(kube: FakeKube) -> None:
    """The demo's control plane, as the simulator shows it."""
    kube.put(ROLLOUTS, canary_rollout("maestro-api"))
    kube.put(ROLLOUTS, canary_rollout("maestro-scheduler"))
    kube.put(ROLLOUTS, canary_rollout("executor-controller", "maestro-runners"))
    # The API at its indefinite pause (step 3), waiting for a promote; the scheduler done.
    for name, index in (("maestro-api", 3), ("maestro-scheduler", len(MAESTRO_STEPS))):
        kube.modify(ROLLOUTS, "maestro-system", name, functools.partial(_at_step, index=index))
        kube.settle("maestro-system", name)
    kube.reconcile("maestro-runners", "executor-controller")  # setWeight 10
    kube.put(CONFIGMAPS, cutover_configmap())


def _at_step(obj: dict[str, Any], index: int) -> None:
    obj["status"]["currentStepIndex"] = index


def seed_many(kube: FakeKube, rollouts: int, namespaces: Sequence[str]) -> None:
    """`rollouts` canaries spread over `namespaces`, for a board under load."""
    for n in range(rollouts):
        kube.put(ROLLOUTS, canary_rollout(f"maestro-svc-{n:03d}", namespaces[n % len(namespaces)]))
    kube.put(CONFIGMAPS, cutover_configmap())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.kube_fake")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the fake API server until SIGTERM")
    serve.add_argument("--kubeconfig", type=Path, required=True, help="the kubeconfig to write")
    serve.add_argument("--rbac", type=Path, default=DOCS, help="Markdown with the RBAC YAML")
    serve.add_argument("--rollouts", type=int, default=0, help="N rollouts instead of the demo's")
    serve.add_argument("--namespaces", type=int, default=2, help="spread over M namespaces")
    serve.add_argument("--port", type=int, default=0, help="0: any free port")
    serve.add_argument("--reconcile-every", type=float, default=1.0, metavar="SECONDS")
    serve.add_argument("--http", action="store_true", help="plain HTTP, no test CA")
    args = parser.parse_args(argv)

    namespaces = namespaces_for(args.namespaces)
    kube = FakeKube(rbac=from_docs(args.rbac, namespaces), tls=not args.http)
    if args.rollouts:
        seed_many(kube, args.rollouts, namespaces)
    else:
        seed_demo(kube)
    stopping = threading.Event()

    def stop(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    url = kube.start(args.port)
    kube.write_kubeconfig(args.kubeconfig)
    print(f"fake API server at {url}; kubeconfig {args.kubeconfig}", flush=True)
    try:
        while not stopping.wait(args.reconcile_every):
            for namespace, name in kube.rollout_keys():
                kube.reconcile(namespace, name)
    finally:
        kube.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
