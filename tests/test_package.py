"""The distribution as a user gets it: sdist and wheel built from this checkout, the wheel
installed into a fresh venv outside it, and `--version`, `init`, `check` and `demo` run from
an empty directory with a home of their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

from bench.scenarios import FIRST_FRAME
from bench.terminal import PtyProgram
from maestro_control_room import __version__

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.timeout(900)


def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=600, **kwargs)  # type: ignore[call-overload, no-any-return]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sdist and the wheel, the wheel built from the sdist as an installer would."""
    out = tmp_path_factory.mktemp("dist")
    done = run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv outside the checkout with the wheel installed; its bin folder."""
    where = tmp_path_factory.mktemp("venv")
    venv.create(where, with_pip=True)
    (wheel,) = dist.glob("*.whl")
    done = run([str(where / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)])
    assert done.returncode == 0, done.stderr[-3000:]
    return where / "bin"


@pytest.fixture
def home(tmp_path: Path) -> dict[str, str]:
    """An environment whose home, config and state are empty folders of the test's own."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("MAESTRO_")}
    env.pop("PYTHONPATH", None)
    for name in ("HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME"):
        env[name] = str(tmp_path / name.lower())
    (tmp_path / "work").mkdir()
    return env


def test_the_wheel_installs_one_package_with_its_data(dist: Path) -> None:
    (wheel,) = dist.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {name.split("/")[0] for name in names} == {
        "maestro_control_room",
        f"maestro_control_room-{__version__}.dist-info",
    }
    for data in (
        "maestro_control_room/config.toml",
        "maestro_control_room/py.typed",
        "maestro_control_room/sources/sim/data/workbook.csv",
        "maestro_control_room/sources/sim/scenarios/brownout.toml",
        "maestro_control_room/tui/app.tcss",
    ):
        assert data in names
    assert len(list(dist.glob("*.tar.gz"))) == 1


def test_an_installed_copy_runs_version_init_and_check_anywhere(
    installed: Path, home: dict[str, str], tmp_path: Path
) -> None:
    command = str(installed / "maestro-control-room")
    work = tmp_path / "work"
    version = run([command, "--version"], cwd=work, env=home)
    assert version.stdout.strip() == f"maestro-control-room {__version__}"

    nothing = run([command, "check", "--json"], cwd=work, env=home)
    assert nothing.returncode == 2 and "no configuration found" in nothing.stderr
    assert "maestro-control-room init" in nothing.stderr

    written = run([command, "init"], cwd=work, env=home)
    config = Path(home["XDG_CONFIG_HOME"]) / "maestro-control-room" / "config.toml"
    assert written.returncode == 0, written.stderr
    assert str(config) in written.stdout
    text = config.read_text()
    assert "[sources.sim]" in text and "[ui.keymap]" in text  # the commented sections too
    again = run([command, "init"], cwd=work, env=home)
    assert again.returncode == 1 and "exists" in again.stderr
    assert config.read_text() == text

    check = run([command, "check", "--json", "--timeout", "60"], cwd=work, env=home)
    document = json.loads(check.stdout)
    assert document["format"] == "maestro-control-room/check/v1"
    # The simulator's brownout: a backup failing, three roles unsigned.
    assert (document["verdict"], check.returncode) == ("NO-GO", 1), check.stderr


def test_an_installed_copy_runs_the_demo_until_its_first_frame(
    installed: Path, home: dict[str, str], tmp_path: Path
) -> None:
    program = PtyProgram(
        [str(installed / "maestro-control-room"), "demo"],
        columns=120, lines=36, env=home, cwd=str(tmp_path / "work"),
    )  # fmt: skip
    try:
        program.wait_for(lambda screen: all(text in screen for text in FIRST_FRAME), 60)
    finally:
        code = program.close()
    assert code == 0
