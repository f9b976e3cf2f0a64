"""Exporter down, Prometheus up: the KPIs read STALE, not their last numbers, and the health
row names the scrape target that is down; all comes back when the exporter does."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.realstack import health_text, real_app, tile_text, until
from tests.servers import ServerProcess, prometheus_server, sim_exporter
from tests.test_prometheus_source import NUMBER_WORDS, prometheus_section

TILES = ("queue_wait_p95", "success_rate", "executor_saturation")
#: Rates over a window, which Prometheus goes on answering from the samples it holds.
RATES = ("queue_wait_p95", "success_rate")


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """This test's own simulator exporter, and a Prometheus scraping it every second."""
    exporter = sim_exporter(tmp_path / "sim").start()
    try:
        server = prometheus_server(tmp_path / "prometheus", [f"127.0.0.1:{exporter.port}"])
        server.start()
        try:
            yield exporter, server
        finally:
            server.stop()
    finally:
        exporter.stop()


async def test_exporter_down_reads_stale_and_is_named(
    stack: tuple[ServerProcess, ServerProcess],
) -> None:
    exporter, prometheus = stack
    app = real_app(sources__prometheus=prometheus_section(prometheus))
    target = f"maestro/127.0.0.1:{exporter.port}"
    async with app.run_test(size=(160, 48)) as pilot:
        await until(
            pilot,
            lambda: all(tile_text(app, t).split()[-1] in NUMBER_WORDS for t in TILES),
            "numbers on the tiles",
            deadline=30,
        )
        assert "exporter ok" in health_text(app)
        exporter.stop()
        try:
            await until(
                pilot,
                lambda: all(tile_text(app, t).split()[-1] == "STALE" for t in RATES),
                "the tiles to read STALE",
                deadline=15,
            )
            health = health_text(app)
            assert "prometheus ok" in health, "Prometheus itself still answers"
            assert f"exporter error: {target} down" in health
            for name in RATES:
                signal = app.room.signal(name, "", app.clock.now())
                assert signal.reason == f"exporter down: {target}"
                assert tile_text(app, name).split()[0] == "—", "never the last number"
            # A gauge's series is marked stale by Prometheus itself: no data, never a number.
            assert tile_text(app, "executor_saturation").endswith(("STALE", "NO DATA"))
        finally:
            exporter.start()
        await until(
            pilot,
            lambda: all(tile_text(app, t).split()[-1] in NUMBER_WORDS for t in TILES),
            "the tiles to read numbers again",
            deadline=30,
        )
        assert "exporter ok" in health_text(app)
