"""Under CI a missing test server fails the suite: any truthy `CI` counts, and `.ci/run`
sets it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.servers import ROOT, find_binary, running_in_ci

MISSING = "maestro-no-such-server-binary"


@pytest.mark.parametrize("value", ["true", "TRUE", "True", "1", "yes", "YES", "on", " true "])
def test_a_truthy_ci_counts(value: str) -> None:
    assert running_in_ci({"CI": value})


@pytest.mark.parametrize("value", ["", "0", "false", "no", "off", "False"])
def test_a_false_or_empty_ci_does_not(value: str) -> None:
    assert not running_in_ci({"CI": value})


def test_no_ci_variable_is_not_ci() -> None:
    assert not running_in_ci({})


@pytest.mark.parametrize("value", ["1", "yes", "True"])
def test_a_missing_server_fails_under_any_truthy_ci(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("CI", value)
    with pytest.raises(pytest.fail.Exception, match=MISSING):
        find_binary(MISSING)


def test_a_missing_server_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=MISSING):
        find_binary(MISSING)


def test_the_ci_entry_point_exports_ci_before_running_the_tests() -> None:
    lines = [line.strip() for line in Path(ROOT, ".ci", "run").read_text().splitlines()]
    assert "export CI=true" in lines
    assert lines.index("export CI=true") < lines.index("make test")
