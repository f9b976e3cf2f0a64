"""`maestro-control-room check` against a real Prometheus scraping the simulator exporter:
exit 0 GO, 1 NO-GO, 2 UNKNOWN, and JSON whose shape does not move."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from maestro_control_room.tui.cli import main
from tests.conftest import CONFIG
from tests.servers import ServerProcess, free_port, maestro_sim, prometheus, wait_until
from tests.test_prometheus_source import ask

__all__ = ["maestro_sim", "prometheus"]  # the fixtures, imported for pytest

WORKBOOK = CONFIG.parent / "sources/sim/data/workbook.csv"


def config(tmp_path: Path, url: str, threshold: float) -> Path:
    """A config as an operator writes one for a CI job: Prometheus only, one trigger and
    one gate whose check passes or fails with `threshold`."""
    path = tmp_path / "check.toml"
    path.write_text(f'''
[cutover]
name = "Maestro core build platform"
go_live = 2026-12-01T09:00:00+00:00

[waves]
workbook = "{WORKBOOK}"

[sources.sim]
enabled = false

[sources.prometheus]
enabled = true
url = "{url}"
refresh = "500ms"
timeout = "2s"
backfill = "1m"

[[triggers]]
id = "success-rate"
title = "Success rate under target"
signal = "success_rate"
below = 0.5

[[gates]]
id = "A"
title = "Platform reliability & scale"

[[gates.checks]]
id = "saturation"
title = "Executor saturation under load"
kind = "promql"
query = "executor_saturation"
op = "<="
threshold = {threshold}
unit = "ratio"

[[gates.checks]]
id = "metrics"
title = "Metrics wired"
kind = "source_healthy"
source = "prometheus"
''')
    return path


@pytest.fixture
def scraped(prometheus: ServerProcess) -> ServerProcess:
    """Prometheus once it has the simulator's series to answer with."""

    def has_rates() -> bool:
        try:
            return (
                ask(prometheus, 'sum(rate(maestro_jobs_total{status="success"}[15m]))', time.time())
                > 0
            )
        except AssertionError:  # no series yet
            return False

    wait_until(has_rates, 60, "Prometheus to have the simulator's job rates")
    return prometheus


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["check", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_go_exits_0(
    scraped: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "--config", str(config(tmp_path, scraped.url, 1.0)))
    assert code == 0, out
    assert out.startswith("Go/No-Go: GO")
    assert "Executor saturation under load" in out and "pass" in out


def test_no_go_exits_1_and_names_the_blocker(
    scraped: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saturation = ask(
        scraped, "sum(maestro_executors_busy) / sum(maestro_executors_total)", time.time()
    )
    threshold = round(saturation / 2, 4)  # half what it is: cannot pass
    code, out, _ = run(capsys, "--config", str(config(tmp_path, scraped.url, threshold)))
    assert code == 1, out
    assert out.startswith("Go/No-Go: NO-GO")
    assert "Blocking:\n  - A Executor saturation under load: fail" in out


def test_unreachable_prometheus_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    down = f"http://127.0.0.1:{free_port()}"
    code, out, _ = run(capsys, "--config", str(config(tmp_path, down, 1.0)), "--json",
                       "--timeout", "15")  # fmt: skip
    document = json.loads(out)
    assert code == 2 and document["verdict"] == "UNKNOWN" and document["exit_code"] == 2
    assert document["unreachable_sources"] == ["prometheus"]
    checks = {c["id"]: c for c in document["gates"][0]["checks"]}
    assert checks["saturation"]["state"] == "unknown"
    assert checks["metrics"]["state"] == "unknown"
    assert [t["state"] for t in document["triggers"]] == ["unknown"]


def shape(document: object) -> object:
    """The document with every value but names, ids and states replaced by its type."""
    if isinstance(document, dict):
        return {k: v if k in ("id", "kind", "format") else shape(v) for k, v in document.items()}
    if isinstance(document, list):
        return [shape(item) for item in document]
    return type(document).__name__


def test_json_is_stable(
    scraped: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = str(config(tmp_path, scraped.url, 1.0))
    _, first, _ = run(capsys, "--config", path, "--json")
    _, second, _ = run(capsys, "--config", path, "--json")
    one, two = json.loads(first), json.loads(second)
    assert shape(one) == shape(two)
    assert list(one) == ["format", "at", "verdict", "exit_code", "unreachable_sources", "gates",
                         "signoffs", "triggers", "blockers", "definition_of_done",
                         "incidents"]  # fmt: skip
    done = one["definition_of_done"]
    assert list(done) == ["state", "line", "items", "slo_streaks"]
    assert [item["id"] for item in done["items"]] == ["on-maestro", "rollback", "slo", "signoffs"]
    assert list(one["incidents"]) == ["shift", "cutover"]
    assert list(one["incidents"]["cutover"]) == ["count", "open", "mttd_seconds",
                                                 "mtta_seconds", "mttr_seconds"]  # fmt: skip
    assert one["format"] == "maestro-control-room/check/v1"
    check = one["gates"][0]["checks"][0]
    assert list(check) == ["id", "title", "kind", "required", "state", "value", "criterion",
                           "reason", "source"]  # fmt: skip
    assert check["source"] == "prometheus" and check["value"].endswith("%")


def test_one_gate_and_an_unknown_gate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The default config: the simulator answers every check of the plan's matrix.
    code, out, _ = run(capsys, "--config", str(CONFIG), "--gate", "A", "--json")
    document = json.loads(out)
    assert [gate["id"] for gate in document["gates"]] == ["A"]
    assert document["triggers"] == []
    assert code == {"GO": 0, "NO-GO": 1, "UNKNOWN": 2}[document["verdict"]]
    code, _, err = run(capsys, "--config", str(CONFIG), "--gate", "Z")
    assert code == 2
    assert "no gate 'Z'; the gates are A, B, C, D, E, F, G, H, Sign-off" in err


def test_the_default_matrix_on_the_simulator_is_no_go_for_its_scripted_reasons(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, "--config", str(CONFIG), "--json")
    document = json.loads(out)
    assert code == 1 and document["verdict"] == "NO-GO"
    failing = {
        (gate["id"], check["id"])
        for gate in document["gates"]
        for check in gate["checks"]
        if check["state"] == "fail"
    }
    # The brownout scenario: the config backup has failed for two nights, and three roles
    # have not signed.
    assert ("E", "config-backup") in failing
    assert {("Sign-off", "app-eng"), ("Sign-off", "exec-sponsor")} <= failing
    assert not [c for g in document["gates"] for c in g["checks"] if c["state"] == "unknown"]
