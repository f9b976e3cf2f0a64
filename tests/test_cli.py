"""The command line: config lookup, and errors that name the file and key with exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro_control_room.tui.cli import main
from maestro_control_room.tui.configfile import ConfigError, find_config
from tests.conftest import CONFIG


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def bad_config(tmp_path: Path, old: str, new: str) -> Path:
    text = CONFIG.read_text()
    assert old in text
    workbook = str(CONFIG.parent / "sources/sim/data/workbook.csv")
    text = text.replace('workbook = "sources/sim/data/workbook.csv"', f'workbook = "{workbook}"')
    return write(tmp_path, text.replace(old, new))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "success_rate_target = 0.98 ",
            "success_rate_target = 1.5 ",
            "thresholds.success_rate_target: expected a fraction between 0 and 1",
        ),
        (
            "go_live = 2026-12-01T09:00:00+00:00",
            "go_live = 2026-12-01T09:00:00",
            "cutover.go_live: go_live needs a timezone",
        ),
        ('for = "5m"', 'for = "five minutes"', "triggers[1].for: 'five minutes' is not a duration"),
        ("time_scale = 10 ", "time_scale = 10\ncolour = 3 ", "sources.sim.colour: unknown key"),
        (
            'host = "127.0.0.1"',
            'host = "127.0.0.1"\npassword = "hunter2"',
            "sources.mqtt.password: secrets are never written in the config",
        ),
        ("[waves]", "[waves\n", "not valid TOML"),
    ],
)
def test_bad_config_names_file_key_and_expectation(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str
) -> None:
    path = bad_config(tmp_path, old, new)
    assert main(["--config", str(path)]) == 2
    error = capsys.readouterr().err
    assert str(path) in error
    assert expected in error


def test_unknown_key_lists_the_keys_expected(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bad_config(tmp_path, "[thresholds]", "[thresholds]\nsucess_rate_target = 0.9")
    assert main(["--config", str(path)]) == 2
    error = capsys.readouterr().err
    assert "thresholds.sucess_rate_target: unknown key; expected one of:" in error
    assert "success_rate_target" in error


def test_unreadable_workbook_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = CONFIG.read_text().replace(
        'workbook = "sources/sim/data/workbook.csv"', 'workbook = "missing.csv"'
    )
    path = write(tmp_path, text)
    assert main(["--config", str(path)]) == 2
    assert "waves.workbook" in capsys.readouterr().err


def test_lookup_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    explicit = write(tmp_path, "")
    monkeypatch.chdir(tmp_path)
    env = {"MAESTRO_CONTROL_ROOM_CONFIG": "/from/env.toml", "XDG_CONFIG_HOME": str(tmp_path)}
    assert find_config("given.toml", env) == Path("given.toml")
    assert find_config(None, env) == Path("/from/env.toml")
    assert find_config(None, {"XDG_CONFIG_HOME": str(tmp_path)}) == Path("config.toml")
    explicit.unlink()
    xdg = tmp_path / "maestro-control-room" / "config.toml"
    xdg.parent.mkdir()
    xdg.write_text("")
    assert find_config(None, {"XDG_CONFIG_HOME": str(tmp_path)}) == xdg
    xdg.unlink()
    with pytest.raises(ConfigError, match="no configuration found"):
        find_config(None, {"XDG_CONFIG_HOME": str(tmp_path)})


def test_a_cluster_out_of_reach_is_a_config_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "no-such-kubeconfig"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    marker = "# Argo Rollouts of Maestro itself, and the shared `maestro-cutover` ConfigMap.\n"
    path = bad_config(tmp_path, marker + "enabled = false", marker + "enabled = true")
    assert main(["--config", str(path)]) == 2
    error = capsys.readouterr().err
    assert str(path) in error
    assert "sources.kubernetes" in error and "kubeconfig" in error


def test_a_missing_secret_is_a_config_error_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NO_SUCH_PROMETHEUS_TOKEN", raising=False)
    marker = "# PromQL against Prometheus, Thanos or Mimir.\n"
    path = bad_config(
        tmp_path,
        marker + "enabled = false",
        marker + 'enabled = true\nbearer_token_env = "NO_SUCH_PROMETHEUS_TOKEN"',
    )
    assert main(["--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert "sources.prometheus.bearer_token_env" in err
    assert "NO_SUCH_PROMETHEUS_TOKEN is not set" in err


def test_sim_refuses_an_alertmanager_that_is_not_a_url(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["sim", "--alertmanager", "127.0.0.1:9093"]) == 2
    error = capsys.readouterr().err
    assert "--alertmanager: expected an http(s) URL, got '127.0.0.1:9093'" in error
