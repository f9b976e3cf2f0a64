"""A server that answers a byte at a time: the timeout bounds the whole answer, not each
read, so a trickling Prometheus is a timeout, never a refresh (or an exit) held for ever."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from maestro_control_room.cutover.config import PrometheusSection
from maestro_control_room.sources.prometheus import connect


class Trickle(BaseHTTPRequestHandler):
    stop = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        while not self.stop.is_set():  # a byte every 0.2 s: no single read waits long
            try:
                self.wfile.write(b" ")
                self.wfile.flush()
            except OSError:
                return
            self.stop.wait(0.2)


@pytest.fixture
def trickling() -> Iterator[str]:
    Trickle.stop = threading.Event()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Trickle)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        Trickle.stop.set()
        server.shutdown()
        server.server_close()


def test_an_answer_that_trickles_is_a_timeout(trickling: str) -> None:
    client = connect(PrometheusSection(enabled=True, url=trickling), environ={})
    started = time.monotonic()
    result = client.fetch("/api/v1/query", {"query": "up"}, 1.0)
    took = time.monotonic() - started
    assert result.error.startswith("timed out after 1 s"), result
    assert not result.reached
    assert took < 3.0, f"the 1 s timeout held the query {took:.1f} s"


async def test_an_alertmanager_answer_that_trickles_is_a_timeout(trickling: str) -> None:
    import asyncio

    from maestro_control_room.cutover.config import AlertmanagerSection
    from maestro_control_room.cutover.updates import HealthState, SourceHealth
    from maestro_control_room.sources.alertmanager import AlertmanagerSource

    section = AlertmanagerSection(enabled=True, url=trickling, timeout=timedelta(seconds=1))
    source = AlertmanagerSource.from_config(section, ["MaestroCriticalCVE"])
    started = time.monotonic()
    try:
        updates = await asyncio.wait_for(source.poll(), 10)
    finally:
        await source.client.aclose()
    took = time.monotonic() - started
    (health,) = [u for u in updates if isinstance(u, SourceHealth)]
    assert health.state is HealthState.ERROR and "timed out" in health.reason, health
    assert took < 3.0, f"the 1 s timeout held the poll {took:.1f} s"
