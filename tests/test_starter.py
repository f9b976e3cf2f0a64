"""`init` and `demo` in-process: the starter configuration as written and as read back."""

from __future__ import annotations

from pathlib import Path

import pytest

from maestro_control_room.tui.cli import main
from maestro_control_room.tui.configfile import load_config
from maestro_control_room.tui.starter import DEMO_CONFIG, DEMO_WORKBOOK


def test_init_writes_a_starter_that_loads_with_the_packaged_workbook(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "deep" / "er" / "config.toml"
    assert main(["init", str(target)]) == 0
    assert str(target) in capsys.readouterr().out
    loaded = load_config(target)
    assert loaded.resolve(loaded.config.waves.workbook).samefile(DEMO_WORKBOOK)
    # Everything else is the packaged configuration, comments included.
    assert DEMO_CONFIG.read_text().count("\n#") == target.read_text().count("\n#") - 3


def test_init_never_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "config.toml"
    target.write_text("# mine\n")
    assert main(["init", str(target)]) == 1
    assert "exists" in capsys.readouterr().err
    assert target.read_text() == "# mine\n"


def test_init_into_a_folder_it_cannot_write_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    assert main(["init", str(blocker / "config.toml")]) == 2
    assert "cannot write" in capsys.readouterr().err


def test_init_defaults_to_the_xdg_config_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert main(["init"]) == 0
    assert (tmp_path / "maestro-control-room" / "config.toml").is_file()


def test_demo_refuses_another_config(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--config", "elsewhere.toml", "demo"]) == 2
    assert "packaged configuration" in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.startswith("maestro-control-room 0.")
