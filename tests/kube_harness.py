"""Shared set-up for the Kubernetes tests: the fake server, a config pointing at it through
a kubeconfig, and a running source whose deliveries a test can await."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from maestro_control_room.cutover.config import Config
from maestro_control_room.cutover.rollouts import RolloutStatus
from maestro_control_room.cutover.updates import RolloutsUpdate, Update
from maestro_control_room.sources.rollouts import KubernetesSource, WatchTuning
from tests.conftest import config_document
from tests.kube_fake import CONFIGMAPS, FakeKube, cutover_configmap

#: Short intervals so reconnects and re-watches happen within a test.
FAST = WatchTuning(timeout_seconds=2, request_timeout=5.0, backoff_min=0.05, backoff_max=0.2)

T = TypeVar("T")


@contextlib.contextmanager
def running_fake() -> Iterator[FakeKube]:
    kube = FakeKube()
    kube.start()
    try:
        yield kube
    finally:
        kube.stop()


def kube_config(kube: FakeKube, tmp_path: Path, **section: Any) -> Config:
    kubeconfig = kube.write_kubeconfig(tmp_path / "kubeconfig")
    values = {
        "enabled": True,
        "kubeconfig": str(kubeconfig),
        "namespaces": ["maestro-system", "maestro-runners"],
        **section,
    }
    return Config.model_validate(config_document(sources__kubernetes=values))


def seed_configmap(kube: FakeKube, **data: str) -> str:
    return str(kube.put(CONFIGMAPS, cutover_configmap(**data))["metadata"]["resourceVersion"])


async def until(predicate: Callable[[], T | None], timeout: float = 10.0, what: str = "") -> T:
    """Await a condition, failing after `timeout` seconds (no fixed sleeps)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or predicate}")
        await asyncio.sleep(0.01)


class Delivered:
    """Everything a source delivered, and the latest of each kind."""

    def __init__(self) -> None:
        self.updates: list[Update] = []

    def __call__(self, updates: Any) -> None:
        self.updates.extend(updates)

    def latest(self, kind: type[T]) -> T | None:
        return next((u for u in reversed(self.updates) if isinstance(u, kind)), None)

    def rollouts_latest(self) -> tuple[RolloutStatus, ...]:
        update = self.latest(RolloutsUpdate)
        return () if update is None else update.rollouts

    def rollout(self, key: str) -> RolloutStatus | None:
        update = self.latest(RolloutsUpdate)
        if update is None:
            return None
        return next((r for r in update.rollouts if r.key == key), None)


@contextlib.asynccontextmanager
async def watching(source: KubernetesSource) -> AsyncIterator[Delivered]:
    delivered = Delivered()
    task = asyncio.create_task(source.run(delivered))
    try:
        yield delivered
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
