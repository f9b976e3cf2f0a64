"""`maestro-control-room sim`: the simulator as a standalone Maestro, on the real wire.

It runs the simulated platform in real time (times `time_scale`), serves the contract's
metrics at `/metrics` with `prometheus_client` for a real Prometheus to scrape, publishes the
contract's build and platform events over MQTT (QoS 1), and posts its active alerts (the
Watchdog always among them) to an Alertmanager as Prometheus would, until SIGINT or SIGTERM.

Everything it serves carries wall-clock time: Prometheus stamps samples at scrape time, and
event timestamps are mapped from the simulated clock onto the wall clock, so a time scale of
10 packs ten simulated seconds of events into each real second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiomqtt
import httpx
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from ...cutover.config import Config, start_offset
from ...cutover.cutover_configmap import rfc3339
from ...cutover.events import BuildEvent, PlatformEvent, StreamEvent
from ...cutover.payloads import (
    BUILD_EVENTS,
    PLATFORM_EVENTS,
    build_event_payload,
    platform_event_payload,
)
from ...cutover.smoke import SMOKE_LAST_RUN, SMOKE_SUCCESS, VerificationUpdate
from ...cutover.smoke_payloads import deploy_payload, drill_payload, smoke_payload
from ...cutover.updates import Alert, EventsUpdate
from ..workbook import load_workbook
from . import EXAMPLE_WORKBOOK, Simulator, load_scenario
from .metrics import MetricFamily

#: Wall seconds between two steps of the model.
TICK = 0.5
#: Events kept for the broker while it is away; older ones are dropped.
OUTBOX = 10_000
MAX_RECONNECT = 10.0
#: Wall seconds between two posts of the active alerts; each post's `endsAt` is four of
#: these ahead, as Prometheus does, so alerts resolve soon after the exporter stops.
ALERT_REPOST = 5.0

AlertKey = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class ExporterOptions:
    """What `maestro-control-room sim` was asked to do."""

    metrics_host: str
    metrics_port: int
    mqtt_host: str | None = None
    mqtt_port: int = 1883
    alertmanager_url: str | None = None
    seed: int | None = None
    scenario: str | None = None
    time_scale: float = 1.0
    config: Config | None = None
    config_dir: Path = Path(".")
    events_topic: str = "maestro/events"
    platform_topic: str = "maestro/platform"
    smoke_topic: str = "maestro/smoke"
    drill_topic: str = "maestro/drill"
    deploy_topic: str = "maestro/deploy"


def parse_address(text: str, default_port: int) -> tuple[str, int]:
    """`host:port` (or `host`) as a pair; ValueError with what was expected."""
    host, _, port = text.rpartition(":") if ":" in text else (text, ":", str(default_port))
    try:
        number = int(port)
    except ValueError:
        raise ValueError(f"expected HOST:PORT, got {text!r}") from None
    if not host or not 0 <= number <= 65535:
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host.strip("[]"), number


def build_simulator(options: ExporterOptions, now: datetime) -> Simulator:
    """The simulated platform, starting now, at the config's point on the cutover timeline."""
    config = options.config
    sim = config.sources.sim if config is not None else None
    workbook_path = EXAMPLE_WORKBOOK
    if config is not None:
        workbook_path = (options.config_dir / config.waves.workbook).resolve()
    scenario = options.scenario or (sim.scenario if sim else "brownout")
    offset = start_offset(sim.start if sim else "T+1d2h")
    return Simulator(
        load_workbook(workbook_path),
        load_scenario(scenario, options.config_dir),
        seed=options.seed if options.seed is not None else (sim.seed if sim else 7),
        start=now,
        go_live=now - offset,
        warmup=sim.warmup if sim else timedelta(minutes=30),
        green_period=config.thresholds.green_period if config else timedelta(hours=48),
        success_target=config.thresholds.success_rate_target if config else 0.98,
    )


class SimulatorCollector(Collector):
    """Yields the simulator's metric families under the contract's names, types and labels."""

    def __init__(
        self,
        simulator: Simulator,
        lock: threading.Lock,
        wall_time: Callable[[datetime], datetime] | None = None,
    ) -> None:
        self.simulator = simulator
        self.lock = lock
        self.wall_time = wall_time or (lambda simulated: simulated)

    def collect(self) -> Iterator[Metric]:
        # Scrapes come on the HTTP server's thread; the model steps on the event loop's.
        with self.lock:
            families = [_family(f) for f in self.simulator.platform.metrics.families]
            families += self._smoke()
        yield from families

    def _smoke(self) -> list[Metric]:
        """The contract's smoke metrics: each test's last run and whether it passed."""
        labels = ["suite", "test"]
        last_run = GaugeMetricFamily(
            SMOKE_LAST_RUN, "when the smoke test last ran (unix seconds)", labels=labels
        )
        success = GaugeMetricFamily(SMOKE_SUCCESS, "1 if its last run passed", labels=labels)
        for test, run in sorted(self.simulator.verification.latest.items()):
            last_run.add_metric([run.suite, test], self.wall_time(run.at).timestamp())
            success.add_metric([run.suite, test], 1.0 if run.passed else 0.0)
        return [last_run, success]


def _family(family: MetricFamily) -> Metric:
    labels = list(family.labelnames)
    if family.kind == "histogram":
        histogram = HistogramMetricFamily(family.name, family.help, labels=labels)
        bounds = [*(repr(float(b)) for b in family.bounds), "+Inf"]
        for values, series in sorted(family.histograms.items()):
            buckets = list(zip(bounds, series.cumulative(), strict=True))
            histogram.add_metric(list(values), buckets, series.total)
        return histogram
    metric: CounterMetricFamily | GaugeMetricFamily
    if family.kind == "counter":
        metric = CounterMetricFamily(family.name, family.help, labels=labels)
    else:
        metric = GaugeMetricFamily(family.name, family.help, labels=labels)
    for values, value in sorted(family.series.items()):
        metric.add_metric(list(values), value)
    return metric


class SimExporter:
    """Steps the simulator in real time and turns its events into MQTT messages."""

    def __init__(self, simulator: Simulator, options: ExporterOptions) -> None:
        self.simulator = simulator
        self.options = options
        self.lock = threading.Lock()
        self.wall_start = datetime.now(timezone.utc)
        self.sim_start = simulator.now
        self.outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue(OUTBOX)
        #: Topics whose last message the broker keeps for whoever subscribes later.
        self.retained_prefixes = tuple(
            f"{p}/" for p in (options.smoke_topic, options.drill_topic, options.deploy_topic)
        )
        self.published = 0
        self.alerts_posted = 0
        #: What was last posted of each active alert, by its labels, to end those that go.
        self._posted: dict[AlertKey, dict[str, Any]] = {}
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(SimulatorCollector(simulator, self.lock, self.wall_time))

    def wall_time(self, simulated: datetime) -> datetime:
        """Where a simulated instant falls on the wall clock."""
        scale = self.options.time_scale
        if scale <= 0:
            return datetime.now(timezone.utc)
        return self.wall_start + (simulated - self.sim_start) / scale

    def messages(self, events: tuple[StreamEvent, ...]) -> Iterator[tuple[str, bytes]]:
        """The contract's messages for a batch of simulated events, in wall-clock time."""
        for event in events:
            ts = self.wall_time(event.ts)
            if isinstance(event, BuildEvent) and event.event in BUILD_EVENTS:
                payload = build_event_payload(replace(event, ts=ts))
                topic = f"{self.options.events_topic}/{event.repo}"
            elif isinstance(event, PlatformEvent) and event.event in PLATFORM_EVENTS:
                payload = platform_event_payload(replace(event, ts=ts))
                topic = self.options.platform_topic
            else:
                continue  # the simulator's own notes on operator actions are not Maestro's
            yield topic, json.dumps(payload).encode()

    def results(self, update: VerificationUpdate) -> Iterator[tuple[str, bytes]]:
        """The smoke, drill and deploy results as the platform's CI publishes them."""
        o = self.options
        for run in update.smoke:
            body = smoke_payload(replace(run, at=self.wall_time(run.at)))
            yield f"{o.smoke_topic}/{run.suite}/{run.test}", json.dumps(body).encode()
        for drill in update.drills:
            body = drill_payload(replace(drill, at=self.wall_time(drill.at)))
            yield f"{o.drill_topic}/{drill.drill}", json.dumps(body).encode()
        for deploy in update.deploys:
            body = deploy_payload(replace(deploy, at=self.wall_time(deploy.at)))
            yield f"{o.deploy_topic}/{deploy.env}", json.dumps(body).encode()

    def step(self, seconds: float) -> None:
        with self.lock:
            updates = self.simulator.advance(seconds)
        if self.options.mqtt_host is None:
            return
        for update in updates:
            found: Iterable[tuple[str, bytes]] = ()
            if isinstance(update, EventsUpdate):
                found = self.messages(update.events)
            elif isinstance(update, VerificationUpdate):
                found = self.results(update)
            for message in found:
                if self.outbox.full():
                    self.outbox.get_nowait()  # the oldest goes: the broker is away
                self.outbox.put_nowait(message)

    async def run_model(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK)
            now = loop.time()
            self.step((now - last) * self.options.time_scale)
            last = now

    async def run_publisher(self, stop: asyncio.Event) -> None:
        host = self.options.mqtt_host
        assert host is not None
        delay = 0.5
        while not stop.is_set():
            try:
                async with aiomqtt.Client(
                    host,
                    self.options.mqtt_port,
                    identifier=f"maestro-sim-{os.getpid()}",
                    timeout=10,
                ) as client:
                    delay = 0.5
                    print(f"sim: publishing events to {host}:{self.options.mqtt_port}",
                          file=sys.stderr, flush=True)  # fmt: skip
                    while True:
                        topic, payload = await self.outbox.get()
                        retain = topic.startswith(self.retained_prefixes)
                        await client.publish(topic, payload, qos=1, retain=retain)
                        self.published += 1
            except aiomqtt.MqttError as error:
                print(f"sim: MQTT {error}; retrying in {delay:.1f}s", file=sys.stderr, flush=True)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(MAX_RECONNECT, delay * 2)

    def alert_payloads(self, now: datetime) -> list[dict[str, Any]]:
        """`POST /api/v2/alerts`: the active alerts, each ending a few reposts from now,
        and those gone since the last post, ended now."""
        with self.lock:
            active = self.simulator.active_alerts()
        ends = now + timedelta(seconds=4 * ALERT_REPOST)
        posting = {_key(alert): self._alert_payload(alert, now, ends) for alert in active}
        gone = [{**payload, "endsAt": rfc3339(now)}
                for key, payload in self._posted.items() if key not in posting]  # fmt: skip
        self._posted = posting
        return [*posting.values(), *gone]

    def _alert_payload(self, alert: Alert, now: datetime, ends: datetime) -> dict[str, Any]:
        starts = self.wall_time(alert.since) if alert.since is not None else self.wall_start
        return {
            "labels": {"alertname": alert.alertname, **alert.labels},
            "annotations": {"summary": alert.summary, **alert.annotations},
            # Never after now: Alertmanager refuses an alert that ends before it starts.
            "startsAt": rfc3339(min(starts, now)),
            "endsAt": rfc3339(ends),
        }

    async def run_alerts(self, stop: asyncio.Event) -> None:
        url = self.options.alertmanager_url
        assert url is not None
        failing = ""
        async with httpx.AsyncClient(base_url=url, timeout=5.0) as client:
            while not stop.is_set():
                try:
                    payloads = self.alert_payloads(datetime.now(timezone.utc))
                    response = await client.post("/api/v2/alerts", json=payloads)
                    response.raise_for_status()
                    if failing or not self.alerts_posted:
                        print(f"sim: posting alerts to {url}", file=sys.stderr, flush=True)
                    failing = ""
                    self.alerts_posted += 1
                except httpx.HTTPError as error:
                    reason = str(error) or type(error).__name__
                    if reason != failing:
                        print(f"sim: Alertmanager {reason}; retrying", file=sys.stderr, flush=True)
                    failing = reason
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), ALERT_REPOST)


def _key(alert: Alert) -> AlertKey:
    return tuple(sorted({"alertname": alert.alertname, **alert.labels}.items()))


async def serve(options: ExporterOptions, stop: asyncio.Event) -> None:
    """Run the exporter until `stop` is set."""
    from prometheus_client import start_http_server

    exporter = SimExporter(build_simulator(options, datetime.now(timezone.utc)), options)
    server, thread = start_http_server(
        options.metrics_port, addr=options.metrics_host, registry=exporter.registry
    )
    port = server.server_port
    print(f"sim: serving http://{options.metrics_host}:{port}/metrics", file=sys.stderr, flush=True)
    tasks = [asyncio.create_task(exporter.run_model(stop))]
    if options.mqtt_host is not None:
        tasks.append(asyncio.create_task(exporter.run_publisher(stop)))
    if options.alertmanager_url is not None:
        tasks.append(asyncio.create_task(exporter.run_alerts(stop)))
    try:
        await stop.wait()
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def run(options: ExporterOptions) -> int:
    """The `sim` command: serve until SIGINT or SIGTERM; 0 on a clean stop."""

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve(options, stop)

    try:
        asyncio.run(main())
    except OSError as error:  # the metrics port is taken, most often
        print(f"sim: {error}", file=sys.stderr)
        return 1
    return 0
