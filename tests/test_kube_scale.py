"""The cluster at an organisation's size: 200 rollouts in 20 namespaces, each namespace with
the docs' Roles applied, as an operator applies them where the room watches."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from maestro_control_room.cutover.updates import RolloutsUpdate
from maestro_control_room.sources.rollouts import build_kubernetes
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
        if r.path.endswith("/rollouts") and r.query.get("watch") != "true"
    ]
    assert len(lists) == len(NAMESPACES)  # each namespace listed once, nothing refused
    assert max(lists) < first_configmap
