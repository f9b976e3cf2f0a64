"""The cluster at an organisation's size: 200 rollouts in 20 namespaces, each namespace with
the docs' Roles applied, as an operator applies them where the room watches."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro_control_room.cutover.updates import RolloutsUpdate
from maestro_control_room.sources.rollouts import build_kubernetes
from tests.conftest import ROOT
from tests.kube_fake import ROLLOUTS, FakeKube, canary_rollout
from tests.kube_harness import FAST, kube_config, seed_configmap, until, watching
from tests.kube_rbac import from_docs

NAMESPACES = ["maestro-system", "maestro-runners"] + [f"maestro-fleet-{n:02d}" for n in range(18)]
ROLLOUT_COUNT = 200


@pytest.fixture
def fleet() -> Iterator[FakeKube]:
    kube = FakeKube(rbac=from_docs(namespaces=NAMESPACES))
    kube.start()
    try:
        for index in range(ROLLOUT_COUNT):
            namespace = NAMESPACES[index % len(NAMESPACES)]
            kube.put(ROLLOUTS, canary_rollout(f"runner-{index:03d}", namespace))
        seed_configmap(kube)
        yield kube
    finally:
        kube.stop()


async def test_one_rollout_changing_makes_one_status_again(fleet: FakeKube, tmp_path: Path) -> None:
    config = kube_config(fleet, tmp_path, namespaces=NAMESPACES)
    source, _ = build_kubernetes(config, tuning=FAST)
    async with watching(source) as seen:

        def board() -> tuple[RolloutsUpdate, ...]:
            return tuple(u for u in seen.updates if isinstance(u, RolloutsUpdate))

        await until(lambda: board() and len(board()[-1].rollouts) == ROLLOUT_COUNT, what="all")
        before = {r.key: r for r in board()[-1].rollouts}
        fleet.reconcile("maestro-fleet-03", "runner-005")
        moved = await until(
            lambda: (r := {s.key: s for s in board()[-1].rollouts}) and
            r["maestro-fleet-03/runner-005"].step == 1 and r,
            what="the change",
        )  # fmt: skip
        remade = [key for key, status in moved.items() if status is not before[key]]
        assert remade == ["maestro-fleet-03/runner-005"]


async def test_the_rollouts_are_listed_before_the_configmap_loads_the_core_api(
    fleet: FakeKube, tmp_path: Path
) -> None:
    config = kube_config(fleet, tmp_path, namespaces=NAMESPACES)
    source, _ = build_kubernetes(config, tuning=FAST)
    async with watching(source) as seen:
        await until(lambda: seen.rollouts_latest(), what="the rollouts")
        await until(
            lambda: any("/configmaps" in r.path for r in fleet.requests), what="the ConfigMap"
        )
    requests = list(fleet.requests)
    first_configmap = next(i for i, r in enumerate(requests) if "/configmaps" in r.path)
    lists = [
        i
        for i, r in enumerate(requests)
        if r.path.endswith("/rollouts")
        and "/namespaces/" in r.path
        and r.query.get("watch") != "true"
    ]
    # Each namespace listed, and listed first, before the ConfigMap; nothing refused. (A
    # watch that outlives its request timeout on a busy machine is listed again, and a
    # list across every namespace is not one of these: no fault.)
    first_list: dict[str, int] = {}
    for i in lists:
        first_list.setdefault(requests[i].path, i)
    assert len(first_list) == len(NAMESPACES), sorted(first_list)
    assert all(requests[i].status == 200 for i in lists)
    assert max(first_list.values()) < first_configmap


#: Watches the cluster until the cutover ConfigMap and a core-group gate check (the
#: runbooks' ConfigMap) have been read, then says whether the client's CoreV1Api module was loaded.
CORE_API_PROBE = """
import asyncio, sys, tempfile
from pathlib import Path
from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.updates import FreezeUpdate, GateReadingsUpdate
from maestro_control_room.sources.rollouts import build_kubernetes
from tests.conftest import config_document
from tests.kube_fake import ROLLOUTS, FakeKube, canary_rollout
from tests.kube_harness import FAST, seed_configmap

kube = FakeKube()
kube.start()
kube.put(ROLLOUTS, canary_rollout("maestro-api"))
seed_configmap(kube)
kubeconfig = kube.write_kubeconfig(Path(tempfile.mkdtemp()) / "kubeconfig")
# The shipped gates read the runbooks' ConfigMap (`v1/configmaps`) among the others.
document = config_document(sources__kubernetes={"enabled": True, "kubeconfig": str(kubeconfig)})
source, _ = build_kubernetes(Config.model_validate(document), tuning=FAST)

async def main():
    seen = []
    task = asyncio.create_task(source.run(seen.extend))
    def read():
        readings = [r for u in seen if isinstance(u, GateReadingsUpdate) for r in u.readings]
        frozen = [u for u in seen if isinstance(u, FreezeUpdate) and u.state.version]
        core = [r for r in readings if r.check.endswith("runbooks")]
        return bool(frozen and core)
    for _ in range(400):
        if read():
            break
        await asyncio.sleep(0.05)
    task.cancel()
    print("read" if read() else "not read", "kubernetes.client.api.core_v1_api" in sys.modules)

asyncio.run(main())
# The source's threads end once it stops them; the server goes only after they have, so
# none is left retrying it, and logging, while the interpreter shuts down (which aborts).
import threading
for thread in threading.enumerate():
    if thread.name.startswith("kube-"):
        thread.join(10)
kube.stop()
"""


def test_the_configmap_and_core_checks_are_read_without_loading_core_v1_api() -> None:
    # In a process of its own: another test's effector may have loaded it into this one.
    run = subprocess.run(
        [sys.executable, "-c", CORE_API_PROBE], cwd=ROOT, capture_output=True, text=True,
        timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.split() == ["read", "False"], run.stdout + run.stderr[-2000:]


def test_a_core_read_by_path_answers_as_core_v1_api_does(fleet: FakeKube, tmp_path: Path) -> None:
    from maestro_control_room.sources.kubeconfig import _core_v1_get, api_client, core_get

    client = api_client(str(fleet.write_kubeconfig(tmp_path / "kubeconfig")), None)
    listing = "/api/v1/namespaces/maestro-system/configmaps"
    one = f"{listing}/maestro-cutover"
    options = {"_preload_content": False, "_request_timeout": (5.0, 5.0)}
    for path, query in ((listing, {"field_selector": "metadata.name=maestro-cutover"}), (one, {})):
        by_path = json.loads(core_get(client, path)(**query, **options).data)
        by_api = json.loads(_core_v1_get(client, path, **query, **options).data)
        for answer in (by_path, by_api):
            answer.get("metadata", {}).pop("resourceVersion", None)  # the list's own
        assert by_path == by_api
    assert json.loads(core_get(client, one)(**options).data)["metadata"]["name"] == (
        "maestro-cutover"
    )
