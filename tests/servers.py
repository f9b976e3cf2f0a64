"""Real servers for the tests: Prometheus, Mosquitto, Alertmanager and the simulator exporter.

Each runs from its OS package on a free loopback port with a temporary data directory, is
awaited until it answers (its ready endpoint or its port, with a deadline, never a fixed
sleep), and can be stopped and started again on the same port and data directory, which is
how the tests take a server away and bring it back. A missing binary fails the test under
CI (any truthy `CI`: `true`, `1`, `yes`, `on`, in any case; `.ci/run` exports `CI=true`) and
skips it otherwise.

Import the fixtures explicitly: `from tests.servers import prometheus, ...`.
"""

from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
START_DEADLINE = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


#: The spellings of a true `CI` that CI services and people use.
_TRUE = frozenset({"1", "true", "yes", "on", "y"})


def running_in_ci(environ: Mapping[str, str] | None = None) -> bool:
    """Whether `CI` is set to a true value: there, a missing server fails, never skips."""
    env = os.environ if environ is None else environ
    return env.get("CI", "").strip().lower() in _TRUE


def find_binary(name: str, *fallbacks: str) -> str:
    """The server binary, or fail (under CI) / skip (elsewhere) the test that needs it."""
    for candidate in (name, *fallbacks):
        found = shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
        if found:
            return found
    message = f"{name} is not installed (apt-get install {name.split('/')[-1]})"
    if running_in_ci():
        pytest.fail(message)
    pytest.skip(message)


def http_ready(url: str) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return bool(response.status == 200)
        except (OSError, urllib.error.URLError):
            return False

    return ready


def port_open(port: int) -> Callable[[], bool]:
    def ready() -> bool:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True
        except OSError:
            return False

    return ready


def wait_until(condition: Callable[[], bool], deadline: float, what: str) -> None:
    """Poll `condition` until it holds; fail with `what` past the deadline."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise TimeoutError(f"{what} within {deadline:g} s")
        time.sleep(0.05)


class ServerProcess:
    """One server process on a fixed port and data directory; `stop()` and `start()` again."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        port: int,
        ready: Callable[[], bool],
        workdir: Path,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.port = port
        self.ready = ready
        self.workdir = workdir
        self.log = workdir / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> ServerProcess:
        assert not self.running, f"{self.name} is already running"
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )

        def up() -> bool:
            if self.process is not None and self.process.poll() is not None:
                tail = self.log.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{tail}")
            return self.ready()

        try:
            wait_until(up, START_DEADLINE, f"{self.name} did not answer on port {self.port}")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def prometheus_server(workdir: Path, scrape: Sequence[str] = ()) -> ServerProcess:
    """Prometheus scraping `scrape` (host:port targets) every second."""
    binary = find_binary("prometheus", "/usr/bin/prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    targets = ", ".join(f'"{target}"' for target in scrape)
    config = workdir / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n  - job_name: maestro\n    scrape_interval: 1s\n"
        f"    static_configs:\n      - targets: [{targets}]\n"
    )
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    return ServerProcess("prometheus", argv, port, http_ready(f"http://127.0.0.1:{port}/-/ready"),
                         workdir)  # fmt: skip


def mosquitto_server(workdir: Path) -> ServerProcess:
    """Mosquitto with persistence, so persistent sessions survive a restart."""
    binary = find_binary("mosquitto", "/usr/sbin/mosquitto")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\n"
        "allow_anonymous true\n"
        # As root, mosquitto would switch to its own user, who cannot write our temp dir.
        f"user {getpass.getuser()}\n"
        "persistence true\n"
        f"persistence_location {workdir}/\n"
        f"log_dest file {workdir / 'mosquitto.log'}\n"
    )
    return ServerProcess("mosquitto", [binary, "-c", str(config)], port, port_open(port), workdir)


def alertmanager_server(workdir: Path) -> ServerProcess:
    """Alertmanager alone (no cluster), with a receiver that sends nothing anywhere."""
    binary = find_binary("prometheus-alertmanager", "/usr/bin/prometheus-alertmanager")
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    config = workdir / "alertmanager.yml"
    config.write_text(
        "route:\n  receiver: 'null'\n  group_wait: 1s\n  group_interval: 1s\n"
        "receivers:\n  - name: 'null'\n"
    )
    argv = [
        binary,
        f"--config.file={config}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=warn",
    ]
    return ServerProcess("alertmanager", argv, port,
                         http_ready(f"http://127.0.0.1:{port}/-/ready"), workdir)  # fmt: skip


def sim_exporter(
    workdir: Path,
    mqtt_port: int | None = None,
    time_scale: float = 10.0,
    alertmanager: str | None = None,
) -> ServerProcess:
    """`maestro-control-room sim` as its own process, as an operator would run it."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # This checkout's code, whichever checkout the virtualenv has installed.
    launcher = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r});"
        " from maestro_control_room.tui.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = [sys.executable, "-c", launcher, "sim", f"--metrics-addr=127.0.0.1:{port}",
            f"--time-scale={time_scale}", "--seed=7", "--scenario=calm"]  # fmt: skip
    if mqtt_port is not None:
        argv.append(f"--mqtt=127.0.0.1:{mqtt_port}")
    if alertmanager is not None:
        argv.append(f"--alertmanager={alertmanager}")
    return ServerProcess("sim", argv, port, http_ready(f"http://127.0.0.1:{port}/metrics"), workdir)


def _running(server: ServerProcess) -> Iterator[ServerProcess]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def mosquitto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A running Mosquitto; a test that stops it starts it again before it ends."""
    yield from _running(mosquitto_server(tmp_path_factory.mktemp("mosquitto")))


@pytest.fixture(scope="module")
def alertmanager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A running Alertmanager."""
    yield from _running(alertmanager_server(tmp_path_factory.mktemp("alertmanager")))


@pytest.fixture(scope="module")
def maestro_sim(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The simulator exporter serving /metrics (no MQTT), ten simulated seconds a second."""
    yield from _running(sim_exporter(tmp_path_factory.mktemp("sim")))


@pytest.fixture(scope="module")
def prometheus(
    tmp_path_factory: pytest.TempPathFactory, maestro_sim: ServerProcess
) -> Iterator[ServerProcess]:
    """A running Prometheus scraping the simulator exporter every second."""
    server = prometheus_server(
        tmp_path_factory.mktemp("prometheus"), [f"127.0.0.1:{maestro_sim.port}"]
    )
    yield from _running(server)
