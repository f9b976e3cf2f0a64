"""The event load: build events published to the broker at a steady rate, with markers.

A marker is a platform event whose message carries a unique id; the benchmark times it from
publication until the id is on screen.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone

from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

#: The outcomes of the load's builds, one in a hundred each but for success: about what
#: Maestro's own simulator sees at its baseline (failures are the lines the stream lists).
STATUSES = ("success",) * 96 + ("failure", "failure", "error", "cancelled")


@dataclass
class LoadReport:
    """What the load generator sent, and when each marker went out."""

    published: int = 0
    acknowledged: int = 0
    markers: dict[str, float] = field(default_factory=dict)


class EventLoad:
    """Publishes `rate` contract events per second (QoS 1) until stopped."""

    def __init__(self, host: str, port: int, *, marker_every: float = 1.0) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="maestro-bench-load")
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.on_publish = self._acknowledged
        self.client.connect(host, port)
        self.client.loop_start()
        self.marker_every = marker_every
        self.report = LoadReport()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._sequence = 0

    def _acknowledged(self, *_: object) -> None:
        with self._lock:
            self.report.acknowledged += 1

    def run(self, rate: float, seconds: float) -> None:
        """Publish at `rate` for `seconds` in the background."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._publish, args=(rate, seconds), daemon=True)
        self._thread.start()

    def wait(self) -> None:
        if self._thread is not None:
            self._thread.join()

    def stop(self) -> None:
        self._stop.set()
        self.wait()

    def close(self) -> None:
        self.stop()
        self.client.loop_stop()
        self.client.disconnect()

    def _publish(self, rate: float, seconds: float) -> None:
        start = time.monotonic()
        next_marker = start
        sent = 0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - start >= seconds:
                break
            due = int((now - start) * rate) - sent
            for _ in range(max(0, due)):
                self._job_event()
                sent += 1
            if self.marker_every and now >= next_marker:
                self._marker()
                next_marker += self.marker_every
            time.sleep(0.002)

    def _send(self, topic: str, payload: dict[str, object]) -> None:
        self.client.publish(topic, json.dumps(payload), qos=1)
        self.report.published += 1

    def _job_event(self) -> None:
        self._sequence += 1
        n = self._sequence
        repo = f"bench/repo-{n % 40:02d}"
        self._send(
            f"maestro/events/{repo}",
            {
                "event": "job.finished",
                "id": f"b{n:08d}",
                "repo": repo,
                "wave": f"Wave-{1 + n % 4}",
                "status": STATUSES[n % len(STATUSES)],
                "queue_wait_s": float(n % 90),
                "duration_s": float(60 + n % 600),
                "runner": f"bench-{n % 16:02d}",
                "ts": datetime.now(timezone.utc).isoformat(),
            },
        )

    def _marker(self) -> None:
        marker = f"mk{len(self.report.markers):06d}"
        self.report.markers[marker] = time.monotonic()
        self._send(
            "maestro/platform",
            {
                "event": "chaos.drill",
                "severity": "info",
                "message": f"bench marker {marker}",
                "ts": datetime.now(timezone.utc).isoformat(),
            },
        )
