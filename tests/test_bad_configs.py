"""Every bad config ends the command with exit 2 and one message naming the file, the key
and what was expected: never a traceback, never a config quietly taken."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from maestro_control_room.tui import cli
from maestro_control_room.tui.app import ControlRoomApp
from tests.conftest import CONFIG

WORKBOOK = CONFIG.parent / "sources" / "sim" / "data" / "workbook.csv"


def base_text() -> str:
    text = CONFIG.read_text()
    return text.replace('workbook = "sources/sim/data/workbook.csv"', f'workbook = "{WORKBOOK}"')


def edited(old: str, new: str, count: int = 1) -> str:
    text = base_text()
    assert text.count(old) >= count, f"config.toml no longer has {old!r}"
    return text.replace(old, new, count)


def appended(extra: str) -> str:
    return base_text() + "\n" + extra + "\n"


KEYMAP = "[ui.keymap]\n"
MQTT_PASSWORD = '# password_env = "MQTT_PASSWORD"'

#: (id, the config's text, the key the message names, what it says was expected)
CASES: list[tuple[str, str, str, str]] = [
    # URLs without a scheme, for every URL setting.
    ("prometheus-url", edited('url = "http://127.0.0.1:9090"', 'url = "htp//127.0.0.1:9090"'),
     "sources.prometheus.url", "http:// or https:// URL"),
    ("alertmanager-url", edited('url = "http://127.0.0.1:9093"', 'url = "127.0.0.1:9093"'),
     "sources.alertmanager.url", "http:// or https:// URL"),
    ("grafana-url", edited('url = "http://127.0.0.1:3000"', 'url = "grafana:3000"'),
     "announce.grafana.url", "http:// or https:// URL"),
    ("serve-public-url", edited('public_url = ""', 'public_url = "localhost:8566"'),
     "serve.public_url", "http:// or https:// URL"),
    # A trigger on a signal nothing measures.
    ("trigger-signal", edited('signal = "success_rate"', 'signal = "sucess_rate"'),
     "triggers[1]", "expected one of queue_wait_p95"),
    # Warning levels on the wrong side of their limit.
    ("warn-beyond-limit", edited("queue_wait_p95_warn_s = 90", "queue_wait_p95_warn_s = 150"),
     "thresholds.queue_wait_p95_warn_s", "at or below the limit"),
    ("warn-below-target", edited("success_rate_warn = 0.985", "success_rate_warn = 0.97"),
     "thresholds.success_rate_warn", "at or above the target"),
    ("flake-warn", edited("flake_rate_warn = 0.01", "flake_rate_warn = 0.05"),
     "thresholds.flake_rate_warn", "at or below the limit"),
    # Zero where a positive duration is needed.
    ("ui-refresh-zero", edited('refresh = "1s"\ntheme', 'refresh = "0s"\ntheme'),
     "ui.refresh", "more than 0"),
    ("sim-refresh-zero",
     edited('refresh = "1s"\nmax_age = "10s"', 'refresh = "0ms"\nmax_age = "10s"'),
     "sources.sim.refresh", "more than 0"),
    ("max-age-zero", edited('max_age = "60s"', 'max_age = "0s"'),
     "sources.prometheus.max_age", "more than 0"),
    ("green-period-zero", edited('green_period = "48h"', 'green_period = "0h"'),
     "thresholds.green_period", "more than 0"),
    ("timeout-zero", edited('timeout = "5s"', 'timeout = "0s"'),
     "sources.prometheus.timeout", "more than 0"),
    ("handover-period-zero", edited('period = "12h"', 'period = "0m"'),
     "handover.period", "more than 0"),
    # A bare number where a duration is expected.
    ("integer-duration", edited('green_period = "48h"', "green_period = 48"),
     "thresholds.green_period", "duration string with its unit"),
    ("integer-for", edited('for = "5m"', "for = 300"), "triggers[1].for", "'300s'"),
    ("negative-duration", edited('max_age = "120s"', "max_age = -5"),
     "sources.mqtt.max_age", "duration string"),
    ("float-duration", edited('keepalive = "15s"', "keepalive = 1.5"),
     "sources.mqtt.keepalive", "duration string"),
    # Keymap clashes.
    ("keymap-freeze-q", edited(KEYMAP, KEYMAP + 'freeze = "q"\n'),
     "ui.keymap.freeze", "also the key of quit"),
    ("keymap-two-actions", edited(KEYMAP, KEYMAP + 'promote = "z"\nabort = "z"\n'),
     "ui.keymap.promote", "also the key of abort"),
    ("keymap-reserved", edited(KEYMAP, KEYMAP + 'help = "enter"\n'),
     "ui.keymap.help", "kept by the control room"),
    ("keymap-cursor-key", edited(KEYMAP, KEYMAP + 'freeze = "j"\n'),
     "ui.keymap.freeze", "kept by the control room"),
    ("keymap-empty", edited(KEYMAP, KEYMAP + 'audit = ""\n'), "ui.keymap.audit", "expected a key"),
    ("keymap-no-such-key", edited(KEYMAP, KEYMAP + 'freeze = "zz"\n'), "ui.keymap.freeze",
     "not a key"),
    ("keymap-no-such-modifier", edited(KEYMAP, KEYMAP + 'audit = "cmd+a"\n'), "ui.keymap.audit",
     "not a key"),
    ("keymap-unknown-action", edited(KEYMAP, KEYMAP + 'launch = "l"\n'), "ui.keymap",
     "unknown action"),
    # An unknown scenario.
    ("unknown-scenario", edited('scenario = "brownout"', 'scenario = "meltdown"'),
     "sources.sim.scenario", "meltdown"),
    # Wrong types.
    ("bool-as-string", edited("enabled = true\nseed", 'enabled = "yes"\nseed'),
     "sources.sim.enabled", "true or false"),
    ("bool-as-number", edited("mouse = false", "mouse = 1"), "ui.mouse", "true or false"),
    ("port-as-string", edited("port = 1883", 'port = "1883"'), "sources.mqtt.port",
     "whole number"),
    ("int-as-float", edited("event_lines = 500", "event_lines = 500.5"), "ui.event_lines",
     "whole number"),
    ("number-as-string", edited("success_rate_target = 0.98", 'success_rate_target = "0.98"'),
     "thresholds.success_rate_target", "a number"),
    ("string-as-number", edited('name = "Maestro core build platform"', "name = 5"),
     "cutover.name", "a string"),
    ("list-as-string", edited('namespaces = ["maestro-system", "maestro-runners"]',
                              'namespaces = "maestro-system"'),
     "sources.kubernetes.namespaces", "tuple"),
    ("seed-as-bool", edited("seed = 7", "seed = true"), "sources.sim.seed", "whole number"),
    ("fraction-out-of-range", edited("flake_rate_limit = 0.02", "flake_rate_limit = 2"),
     "thresholds.flake_rate_limit", "fraction between 0 and 1"),
    ("port-out-of-range", edited("port = 8566", "port = 0"), "serve.port", "greater than"),
    ("no-timezone", edited("go_live = 2026-12-01T09:00:00+00:00", "go_live = 2026-12-01T09:00:00"),
     "cutover.go_live", "timezone"),
    # Unknown keys, missing keys, bad TOML, inline secrets.
    ("unknown-key", edited("[ui]\n", "[ui]\ncolour = 1\n"), "ui.colour", "unknown key"),
    ("unknown-section", appended("[sources.jenkins]\nenabled = true"), "sources.jenkins",
     "unknown key"),
    ("missing-cutover", edited("[cutover]\n", "[not_cutover]\n"), "cutover",
     "required key is missing"),
    ("bad-toml", appended("[[triggers]\nid = 'x'"), "not valid TOML", "line"),
    ("duplicate-key", edited("seed = 7", "seed = 7\nseed = 8"), "not valid TOML", "seed"),
    ("inline-secret", edited(MQTT_PASSWORD, 'password = "hunter2"'), "sources.mqtt.password",
     "password_file"),
    ("trigger-two-conditions", edited("below = 0.98", "below = 0.98\nabove = 0.99"),
     "triggers[1]", "exactly one of"),
    ("no-source", edited("enabled = true\nseed", "enabled = false\nseed"), "(top level)",
     "no source is enabled"),
]  # fmt: skip


@pytest.fixture(autouse=True)
def never_start_the_app(monkeypatch: pytest.MonkeyPatch) -> None:
    def run(self: ControlRoomApp, **kwargs: object) -> None:
        raise AssertionError("a bad config was accepted: the app started")

    monkeypatch.setattr(ControlRoomApp, "run", run)


@pytest.mark.parametrize(("text", "key", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])  # fmt: skip
def test_a_bad_config_exits_2_naming_file_key_and_expectation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, key: str, expected: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    assert cli.main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert str(path) in err, err
    assert key in err, err
    assert expected in err, err


def broken_workbook(tmp_path: Path, line: int) -> Path:
    """The example workbook with a quote opened and never closed on `line`."""
    lines = WORKBOOK.read_text().splitlines(keepends=True)
    cells = lines[line - 1].split(",")
    cells[2] = '"' + cells[2]
    lines[line - 1] = ",".join(cells)
    path = tmp_path / "workbook.csv"
    path.write_text("".join(lines))
    return path


def test_a_workbook_with_an_unterminated_quote_names_its_real_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    workbook = broken_workbook(tmp_path, 20)
    path = tmp_path / "config.toml"
    path.write_text(base_text().replace(str(WORKBOOK), str(workbook)))
    assert cli.main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{path}: waves.workbook: {workbook}: line 20: unreadable CSV" in err
    assert "line 2" not in err.replace("line 20", ""), "only the broken line is named"


def test_the_rows_after_an_unterminated_quote_are_all_read(tmp_path: Path) -> None:
    from maestro_control_room.cutover.waves import parse_workbook

    rows = len([line for line in WORKBOOK.read_text().splitlines()[1:] if line.strip()])
    book = parse_workbook(broken_workbook(tmp_path, 20).read_text())
    assert [(p.line, p.structural) for p in book.problems] == [(20, True)]
    assert len(book.rows) == rows - 1, "one bad line costs one row, and says so"


def test_an_unknown_scenario_is_a_message_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text(edited('scenario = "brownout"', 'scenario = "meltdown"'))
    done = subprocess.run(
        [sys.executable, "-m", "maestro_control_room", "--config", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert f"{path}: sources.sim.scenario:" in done.stderr


@pytest.mark.parametrize("command", ["check", "handover", "sim"])
def test_the_other_commands_name_an_unknown_scenario_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(edited('scenario = "brownout"', 'scenario = "meltdown"'))
    argv = ["sim", "--config", str(path)] if command == "sim" else ["--config", str(path), command]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{path}: sources.sim.scenario:" in err


def test_every_default_key_is_a_key_textual_delivers() -> None:
    from maestro_control_room.tui.bindings import CONTROL_ROOM_BINDINGS, is_a_key

    keys = [k.strip() for b in CONTROL_ROOM_BINDINGS for k in b.key.split(",")]  # type: ignore[union-attr]
    assert keys and all(is_a_key(key) for key in keys), [k for k in keys if not is_a_key(k)]
    assert not any(is_a_key(key) for key in ("zz", "F5", "cmd+a", "ctrl+", ""))
