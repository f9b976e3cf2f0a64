"""The benchmark's scenarios: steady, burst, soak, scale, and a smoke run of the harness."""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.broker import Broker
from bench.load import EventLoad
from bench.probe import cpu_seconds, rss_bytes
from bench.terminal import PtyProgram, ScreenTimeout

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"mk\d{6}")
RECEIVED = re.compile(r"mqtt (\d+)")
#: On screen once the dashboard is complete: the footer, a KPI verdict, waves and rollouts.
FIRST_FRAME = ("Freeze", "Wave-1", "maestro-system/maestro-api")
HELP_OPEN = "keymap id"


@dataclass(frozen=True)
class Scenario:
    name: str
    seconds: float
    events_per_second: float
    #: Keys pressed during the measured window (burst); otherwise in a phase after it, so
    #: CPU and bytes are those of an operator watching.
    keys_during: bool
    warmup: float = 5.0
    key_presses: int = 20


SCENARIOS = {
    "steady": Scenario("steady", 60.0, 20.0, keys_during=False),
    "burst": Scenario("burst", 30.0, 5000.0, keys_during=True),
    # Fifteen minutes of warm-up: at 50 events/s the 500-line event view fills in about
    # four, the MQTT source's window of 20,000 events heard (to know a redelivery) in
    # about seven, and the allocator settles after that; the slope is the growth after.
    # Measured from five minutes the slope was 30 MB/h, from eight 10, from fifteen 2.
    "soak": Scenario("soak", 600.0, 50.0, keys_during=False, warmup=900.0),
    "smoke": Scenario("smoke", 4.0, 20.0, keys_during=False, warmup=1.0, key_presses=3),
    # The steady load at an organisation's size (bench/scale.py), beside the 60-repo demo.
    "scale": Scenario("scale", 40.0, 20.0, keys_during=False, warmup=5.0, key_presses=10),
}

#: Seconds allowed for the key phase after the measured window.
KEY_PHASE = 15.0


@dataclass
class Figures:
    """What one run measured."""

    program: str
    scenario: str
    size: str
    seconds: float
    first_frame_s: float | None = None
    cpu_percent: float | None = None
    bytes_per_second: float | None = None
    rss_start_mb: float | None = None
    rss_end_mb: float | None = None
    rss_slope_mb_per_hour: float | None = None
    key_p50_ms: float | None = None
    key_p95_ms: float | None = None
    event_p95_ms: float | None = None
    events_published: int | None = None
    events_received: int | None = None
    counters_exact: bool | None = None
    #: Until every panel is live (a large simulator's warm-up, a real source's answer).
    ready_s: float | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def slope_per_hour(samples: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) samples, in MB per hour."""
    if len(samples) < 3:
        return None
    xs = [t for t, _ in samples]
    ys = [m for _, m in samples]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return slope * 3600


def bench_config(directory: Path, broker_port: int | None) -> Path:
    """config.toml as shipped, with the broker enabled on the bench's port, and the
    simulator calm and in real time: the event rate is the load's (plus the simulator's own
    few builds a second), not the demo's ten-times-accelerated incident."""
    text = (ROOT / "config.toml").read_text()
    for old, new in (
        ('scenario = "brownout"', 'scenario = "calm"'),
        ("time_scale = 10 ", "time_scale = 1 "),
    ):
        assert old in text, f"config.toml no longer has {old!r}"
        text = text.replace(old, new)
    workbook = ROOT / "sources" / "sim" / "data" / "workbook.csv"
    text = text.replace('workbook = "sources/sim/data/workbook.csv"', f'workbook = "{workbook}"')
    text = text.replace("bell = true ", "bell = false")
    if broker_port is not None:
        section = "# Build and platform events, the retained freeze state and operator presence.\n"
        assert section + "enabled = false" in text, "config.toml's [sources.mqtt] moved"
        text = text.replace(section + "enabled = false", section + "enabled = true")
        text = text.replace("port = 1883", f"port = {broker_port}")
    path = directory / "config.toml"
    path.write_text(text)
    return path


def app_argv(config: Path) -> list[str]:
    return [sys.executable, "-m", "maestro_control_room", "--config", str(config)]


def baseline_argv() -> list[str]:
    return [sys.executable, "-m", "bench.baseline"]


class Run:
    """One program under one scenario: starts it, loads it, measures it."""

    def __init__(
        self,
        program: str,
        argv: list[str],
        scenario: Scenario,
        size: tuple[int, int],
        *,
        first_frame: tuple[str, ...] = FIRST_FRAME,
        ready: tuple[str, ...] = (),
    ):
        self.program = program
        self.argv = argv
        self.scenario = scenario
        self.size = size
        #: On screen for the first frame; then on screen before the measured window (a
        #: simulator warmed up, a real source answering).
        self.first_frame = first_frame
        self.ready = ready
        self.figures = Figures(program, scenario.name, f"{size[0]}x{size[1]}", scenario.seconds)
        self._event_latencies: list[float] = []
        self._seen: set[str] = set()

    def _scan_markers(self, load: EventLoad, pty: PtyProgram, now: float) -> None:
        # Runs in the reader thread after every chunk: only the lines that chunk changed
        # are read, so the reader never falls behind the program.
        screen = pty.screen
        changed = sorted(screen.dirty)
        screen.dirty.clear()
        if len(self._seen) == len(load.report.markers):
            return
        for row in changed:
            if row >= len(screen.buffer):
                continue
            line = "".join(screen.buffer[row][column].data for column in range(screen.columns))
            for marker in MARKER.findall(line):
                sent = load.report.markers.get(marker)
                if sent is not None and marker not in self._seen:
                    self._seen.add(marker)
                    self._event_latencies.append(now - sent)

    def execute(self, broker: Broker | None) -> Figures:
        figures = self.figures
        columns, lines = self.size
        pty = PtyProgram(self.argv, columns=columns, lines=lines, cwd=str(ROOT))
        load: EventLoad | None = None
        try:
            if self.program != "baseline":
                frame = pty.wait_for(lambda s: all(t in s for t in self.first_frame), 30)
            else:
                frame = pty.wait_for(lambda s: "metric 5" in s, 30)
            figures.first_frame_s = frame - pty.started
            if self.ready:
                live = pty.wait_for(lambda s: all(t in s for t in self.ready), 180)
                figures.ready_s = live - pty.started
            figures.rss_start_mb = rss_bytes(pty.pid) / 1e6
            if broker is not None and self.program != "baseline":
                # Publish only once the control room listens: earlier events are not its.
                pty.wait_for(lambda s: "mqtt ok" in s, 30)
                load = EventLoad("127.0.0.1", broker.port)
                current = load
                pty.watch(lambda now: self._scan_markers(current, pty, now))
                scenario = self.scenario
                load.run(scenario.events_per_second, scenario.warmup + scenario.seconds + KEY_PHASE)
            time.sleep(self.scenario.warmup)
            keys = self._measure(pty)
            if not self.scenario.keys_during:
                keys = [self._toggle_help(pty) for _ in range(self.scenario.key_presses)]
            self._key_figures([t for pair in keys for t in pair])
            if load is not None:
                load.stop()
                self._check_counters(pty, load)
        except ScreenTimeout as timeout:
            exited = pty.process.poll()
            ended = "" if exited is None else f" (it exited with {exited})"
            figures.notes.append(f"{timeout}{ended}")
            results = ROOT / "bench" / "results"
            results.mkdir(parents=True, exist_ok=True)
            name = self.program.replace(" ", "-")
            (results / f"last-screen-{name}-{self.scenario.name}.txt").write_text(pty.text())
        finally:
            if load is not None:
                load.close()
            pty.close()
        if self._event_latencies:
            figures.event_p95_ms = percentile(self._event_latencies, 0.95) * 1000  # type: ignore[operator]
        return figures

    def _measure(self, pty: PtyProgram) -> list[tuple[float, float]]:
        """CPU, bytes and memory over the scenario's window; key latencies if keys_during."""
        figures = self.figures
        start_cpu, start_bytes, start = cpu_seconds(pty.pid), pty.bytes_written, time.monotonic()
        samples: list[tuple[float, float]] = []
        keys: list[tuple[float, float]] = []
        every = self.scenario.seconds / max(self.scenario.key_presses, 1)
        next_key = start + every / 2
        next_sample = start
        end = start + self.scenario.seconds
        while (now := time.monotonic()) < end:
            if now >= next_sample:
                samples.append((now - start, rss_bytes(pty.pid) / 1e6))
                next_sample += 2.0
            if self.scenario.keys_during and now >= next_key:
                keys.append(self._toggle_help(pty))
                next_key += every
            time.sleep(0.01)
        wall = time.monotonic() - start
        figures.cpu_percent = 100 * (cpu_seconds(pty.pid) - start_cpu) / wall
        figures.bytes_per_second = (pty.bytes_written - start_bytes) / wall
        figures.rss_end_mb = rss_bytes(pty.pid) / 1e6
        figures.rss_slope_mb_per_hour = slope_per_hour(samples)
        return keys

    def _key_figures(self, latencies: list[float]) -> None:
        if latencies:
            self.figures.key_p50_ms = 1000 * (percentile(latencies, 0.5) or 0.0)
            self.figures.key_p95_ms = 1000 * (percentile(latencies, 0.95) or 0.0)

    def _toggle_help(self, pty: PtyProgram) -> tuple[float, float]:
        """Open help and close it again; the time each took to show on screen."""
        opened = pty.press(b"?")
        shown = pty.wait_for(lambda s: HELP_OPEN in s, 5)
        time.sleep(0.2)  # an operator reads before closing; also lets the frame settle
        # `?` closes help too; Escape would add the terminal's escape delay (ESCDELAY, 100 ms)
        # that every program reading keys must wait to tell Esc from Alt+key.
        closed = pty.press(b"?")
        gone = pty.wait_for(lambda s: HELP_OPEN not in s, 5)
        time.sleep(0.2)
        return shown - opened, gone - closed

    def _check_counters(self, pty: PtyProgram, load: EventLoad) -> None:
        figures = self.figures
        figures.events_published = load.report.published

        def received(screen: str) -> int | None:
            match = RECEIVED.search(screen)
            return int(match.group(1)) if match else None

        deadline = time.monotonic() + 30
        while load.report.acknowledged < load.report.published and time.monotonic() < deadline:
            time.sleep(0.05)  # the broker's acknowledgements, over a socket: nothing to await
        try:
            pty.wait_for(lambda s: received(s) == load.report.published, 30)
        except ScreenTimeout:
            figures.notes.append(
                "the received count never matched what was published"
                f" ({load.report.acknowledged} acknowledged by the broker)"
            )
            (ROOT / "bench" / "results").mkdir(parents=True, exist_ok=True)
            (ROOT / "bench" / "results" / "last-screen.txt").write_text(pty.text())
        figures.events_received = received(pty.text())
        figures.counters_exact = figures.events_received == figures.events_published


def run_scenario(
    scenario: Scenario, size: tuple[int, int], *, baseline: bool, with_broker: bool
) -> list[Figures]:
    results = []
    broker = Broker() if with_broker else None
    try:
        with tempfile.TemporaryDirectory(prefix="maestro-bench-") as directory:
            config = bench_config(Path(directory), broker.port if broker else None)
            results.append(Run("app", app_argv(config), scenario, size).execute(broker))
            if baseline:
                results.append(Run("baseline", baseline_argv(), scenario, size).execute(None))
    finally:
        if broker is not None:
            broker.close()
    return results
