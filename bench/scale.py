"""The scale scenario: an organisation's workbook (5,000 repos in 50 waves by default) and
200 rollouts in 20 namespaces, beside the 60-repo demo and the naive baseline of the same run.

Rows: the simulator alone in-process (`sim`); the app on the simulator at 60 repos (`app`)
and at the large size (`app scale`); the app through the real path (`app real`): the sim
exporter's 5,000 repo series scraped by a real Prometheus, and the loopback Kubernetes API of
the tests holding the rollouts; the naive baseline.

The real path is set up as a production one stands: the cluster grants the docs' Roles in
every namespace the room watches (deny by default otherwise), and the room starts once
Prometheus has scraped the exporter, so its first frame is the room's, not the first scrape's.
"""

from __future__ import annotations

import importlib
import json
import re
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.broker import Broker
from bench.scenarios import FIRST_FRAME, ROOT, Figures, Run, Scenario, app_argv, bench_config
from bench.workbook import write_workbook

#: The first frame at scale: the rollouts' own count line stands for the rollouts board.
SCALE_FRAME = ("Freeze", "Wave-1", "rollouts out of view")
#: Beside Maestro's own two namespaces, the fleet's (sources/sim/rollouts.py names them).
FLEET_NAMESPACES = 18


@dataclass(frozen=True)
class ScaleSize:
    repos: int = 5000
    waves: int = 50
    rollouts: int = 200

    @property
    def label(self) -> str:
        return f"{self.repos} repos / {self.waves} waves / {self.rollouts} rollouts"


def set_key(text: str, section: str, key: str, value: str) -> str:
    """`key = value` in `[section]` of a config text, as shipped."""
    start = text.index(f"[{section}]\n")
    end = text.find("\n[", start + 1)
    end = len(text) if end < 0 else end
    block, count = re.subn(
        rf"(?m)^{re.escape(key)} = [^\n#]*", f"{key} = {value} ", text[start:end], count=1
    )
    if not count:
        block = block.rstrip("\n") + f"\n{key} = {value}\n"
    return text[:start] + block + text[end:]


def scale_config(directory: Path, broker_port: int | None, workbook: Path, rollouts: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = bench_config(directory, broker_port)
    text = set_key(path.read_text(), "waves", "workbook", f'"{workbook}"')
    path.write_text(set_key(text, "sources.sim", "rollouts", str(rollouts)))
    return path


def simulator_alone(size: ScaleSize) -> Figures:
    figures = Figures("sim", "scale", "in-process", 60.0)
    run = subprocess.run(
        [sys.executable, "-m", "bench.simscale", str(size.repos), str(size.waves),
         str(size.rollouts)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if run.returncode != 0:
        figures.notes.append(f"bench.simscale failed: {run.stderr.strip()[-300:]}")
        return figures
    for name, value in json.loads(run.stdout).items():
        setattr(figures, name, value)
    return figures


@contextmanager
def real_stack(
    directory: Path, broker: Broker | None, workbook: Path, scale: ScaleSize
) -> Iterator[Path]:
    """The real path's servers, running: the sim exporter scraped by a real Prometheus, and
    the loopback Kubernetes API holding the rollouts, granting the control room's Roles in
    every namespace it watches. Yields the app's config; stops the servers after."""
    # The tests' own servers: the same Prometheus set-up, the same fake API server. Looked
    # up at run time: tests/ is not one of the packages the type checker reads.
    fake: Any = importlib.import_module("tests.kube_fake")
    rbac: Any = importlib.import_module("tests.kube_rbac")
    servers: Any = importlib.import_module("tests.servers")
    ServerProcess, free_port = servers.ServerProcess, servers.free_port
    port_open, prometheus_server = servers.port_open, servers.prometheus_server
    # The exporter warms 5,000 repositories up before it listens: more than the tests allow.
    servers.START_DEADLINE = max(servers.START_DEADLINE, 180.0)
    ROLLOUTS, FakeKube, canary_rollout = fake.ROLLOUTS, fake.FakeKube, fake.canary_rollout

    exporter_config = scale_config(directory / "exporter", None, workbook, scale.rollouts)
    port = free_port()
    exporter = ServerProcess(
        "sim",
        [sys.executable, "-m", "maestro_control_room", "sim", f"--metrics-addr=127.0.0.1:{port}",
         "--time-scale=1", "--scenario=calm", f"--config={exporter_config}"],
        # Listening is enough: one /metrics of 5,000 repositories takes a second or more.
        port, port_open(port), directory / "exporter",
    )  # fmt: skip
    prometheus = prometheus_server(directory / "prometheus", [f"127.0.0.1:{port}"])
    # Every 15 s as in production, not the tests' every second: 5,000 repos are ~100,000 series.
    yml = prometheus.workdir / "prometheus.yml"
    yml.write_text(yml.read_text().replace("1s", "15s"))
    namespaces = fleet_namespaces()
    # The fake denies by default, as a cluster does: the operator has applied the docs'
    # Roles and RoleBindings in each namespace the room watches (docs/kubernetes.md).
    # Bookmarks about once a minute, as an API server sends them; the tests' fake sends
    # them five times a second to exercise the client.
    kube = FakeKube(bookmark_every=60.0, rbac=rbac.from_docs(namespaces=namespaces))
    try:
        exporter.start()
        prometheus.start()
        kube.start()
        scraped(prometheus.url, deadline=60.0)
        for index in range(scale.rollouts):
            namespace = namespaces[index % len(namespaces)]
            kube.put(ROLLOUTS, canary_rollout(f"runner-{index:03d}", namespace))
        kubeconfig = kube.write_kubeconfig(directory / "kubeconfig")
        config = scale_config(
            directory / "app-real", broker.port if broker else None, workbook, scale.rollouts
        )
        text = set_key(config.read_text(), "sources.sim", "enabled", "false")
        text = set_key(text, "sources.prometheus", "enabled", "true")
        text = set_key(text, "sources.prometheus", "url", f'"{prometheus.url}"')
        text = set_key(text, "sources.kubernetes", "enabled", "true")
        text = set_key(text, "sources.kubernetes", "kubeconfig", f'"{kubeconfig}"')
        text = set_key(text, "sources.kubernetes", "namespaces", json.dumps(namespaces))
        config.write_text(text)
        yield config
    finally:
        kube.stop()
        prometheus.stop()
        exporter.stop()


def scraped(url: str, deadline: float) -> None:
    """Wait until Prometheus has scraped the exporter once. A production Prometheus has
    been scraping long before the control room starts; without this the real path's first
    frame would measure the first scrape (up to one 15 s interval), not the room."""
    query = urllib.parse.urlencode({"query": 'up{job="maestro"} == 1'})
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"{url}/api/v1/query?{query}", timeout=5) as answer:
                if json.loads(answer.read())["data"]["result"]:
                    return
        except (OSError, ValueError, KeyError):
            pass  # not answering yet
        time.sleep(0.5)  # Prometheus's scrape, in another process: nothing to await
    raise TimeoutError(f"Prometheus did not scrape the exporter within {deadline:g} s")


def fleet_namespaces() -> list[str]:
    """Maestro's own two namespaces (the docs' Roles name the first), then the fleet's."""
    namespaces = ["maestro-system", "maestro-runners"]
    return namespaces + [f"maestro-fleet-{n:02d}" for n in range(FLEET_NAMESPACES)]


def real_path(
    directory: Path, scenario: Scenario, size: tuple[int, int], broker: Broker | None,
    workbook: Path, scale: ScaleSize,
) -> Figures:  # fmt: skip
    """The app on Prometheus (scraping the sim exporter) and the loopback Kubernetes API."""
    figures = Figures("app real", "scale", f"{size[0]}x{size[1]}", scenario.seconds)
    try:
        with real_stack(directory, broker, workbook, scale) as config:
            run = Run("app real", app_argv(config), scenario, size, first_frame=SCALE_FRAME,
                      ready=("prometheus ok", "kubernetes ok"))  # fmt: skip
            run.figures = figures
            return run.execute(broker)
    except Exception as error:  # a server that would not start is a note, not a crash
        figures.notes.append(f"real path: {type(error).__name__}: {str(error)[:300]}")
        return figures


def run_scale(
    scenario: Scenario,
    size: tuple[int, int],
    *,
    baseline: bool,
    with_broker: bool,
    scale: ScaleSize,
    real: bool = True,
) -> list[Figures]:
    results = [simulator_alone(scale)]
    broker = Broker() if with_broker else None
    try:
        with tempfile.TemporaryDirectory(prefix="maestro-bench-scale-") as name:
            directory = Path(name)
            workbook = write_workbook(directory / "workbook.csv", scale.repos, scale.waves)
            small = bench_config(directory, broker.port if broker else None)
            small_run = Run("app", app_argv(small), scenario, size, first_frame=FIRST_FRAME,
                            ready=("sim ok",))  # fmt: skip
            results.append(small_run.execute(broker))
            large = scale_config(
                directory / "app-scale", broker.port if broker else None, workbook, scale.rollouts
            )
            large_run = Run("app scale", app_argv(large), scenario, size, first_frame=SCALE_FRAME,
                            ready=("sim ok",))  # fmt: skip
            results.append(large_run.execute(broker))
            if real:
                results.append(real_path(directory, scenario, size, broker, workbook, scale))
            if baseline:
                results.append(
                    Run("baseline", [sys.executable, "-m", "bench.baseline"], scenario, size)
                    .execute(None)
                )  # fmt: skip
    finally:
        if broker is not None:
            broker.close()
    return results
