"""The benchmark's harness works: a few seconds of the real app in a pseudo-terminal, with
the event load over a real broker. The figures are the benchmark's business, not CI's."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.servers import find_binary


# Each runs the benchmark's real programs in a pty for a few seconds each, beside real servers:
# the subprocess's own timeout bounds it, not the suite's per-test default.
@pytest.mark.timeout(260)
def test_a_smoke_run_measures_every_figure(tmp_path: Path) -> None:
    find_binary("mosquitto", "/usr/sbin/mosquitto")  # fails under CI (any truthy CI) when missing
    output = tmp_path / "smoke.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "smoke", "--sizes", "80x24", "--json", str(output)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    (figures,) = json.loads(output.read_text())["results"]
    assert figures["size"] == "80x24"
    for name in ("first_frame_s", "cpu_percent", "bytes_per_second", "rss_end_mb",
                 "key_p50_ms", "key_p95_ms", "event_p95_ms"):  # fmt: skip
        assert isinstance(figures[name], float) and figures[name] > 0, name
    assert figures["counters_exact"] is True
    assert "CPU %" in run.stdout and "smoke" in run.stdout


@pytest.mark.timeout(420)
def test_a_small_scale_run_measures_each_path_beside_the_demo(tmp_path: Path) -> None:
    find_binary("mosquitto", "/usr/sbin/mosquitto")
    find_binary("prometheus", "/usr/bin/prometheus")
    output = tmp_path / "scale.json"
    run = subprocess.run(
        [sys.executable, "-m", "bench", "scale", "--sizes", "80x24", "--seconds", "3",
         "--warmup", "1", "--scale-repos", "120", "--scale-waves", "6", "--scale-rollouts",
         "12", "--baseline", "--json", str(output)],
        cwd=ROOT, capture_output=True, text=True, timeout=400,
    )  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    results = {f["program"]: f for f in json.loads(output.read_text())["results"]}
    assert list(results) == ["sim", "app", "app scale", "app real", "baseline"]
    for program, figures in results.items():
        for name in ("first_frame_s", "cpu_percent", "rss_end_mb"):
            assert isinstance(figures[name], float) and figures[name] > 0, (program, name)
    for program in ("app", "app scale", "app real"):
        figures = results[program]
        assert figures["counters_exact"] is True, program
        # The event count was read off the screen, not left unread (the real path's was,
        # while its cluster refused the fleet's namespaces).
        assert figures["events_received"] == figures["events_published"] > 0, program
        assert figures["ready_s"] >= figures["first_frame_s"] > 0, program
        assert figures["bytes_per_second"] > 0 and figures["key_p95_ms"] > 0, program
    assert "app real" in run.stdout and "scale" in run.stdout


def test_a_bare_bench_runs_the_four_scenarios_and_refuses_an_unknown_one() -> None:
    from bench.__main__ import chosen, parser

    assert chosen(parser().parse_args([]).scenarios) == ["steady", "burst", "soak", "scale"]
    assert chosen(parser().parse_args(["burst"]).scenarios) == ["burst"]
    refused = subprocess.run(
        [sys.executable, "-m", "bench", "storm"], cwd=ROOT, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "no scenario storm" in refused.stderr


def test_the_codec_bench_measures_both_codecs_on_a_simulated_session() -> None:
    """`python -m bench.codec`, on a few records: the format's own lines decode back through
    the TypeAdapter too, and the lines it writes differ where the format says otherwise."""
    from bench.codec import measure

    figures = measure(40, rounds=1)
    assert figures["records"] == 40 and figures["updates"] > 40
    for name in ("codec_encode_s", "codec_decode_s", "typeadapter_encode_s",
                 "typeadapter_decode_s"):  # fmt: skip
        assert isinstance(figures[name], float) and figures[name] > 0, name
    assert figures["typeadapter_decodes_equal"] == 40
    # Ticks are alike; every batch holds a time and a nested object, which it writes apart.
    assert figures["typeadapter_lines_differing"] == figures["batches"] > 0
    assert '"type":"Signal"' in figures["typeadapter_first_difference_beyond_utc_z"]
