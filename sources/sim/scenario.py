"""Scenarios: timed incidents on the simulated platform, read from TOML files.

Times are relative to the simulation's start (the moment the control room opens), e.g.
`at = "2m"`. A bare name such as `brownout` finds the packaged `scenarios/brownout.toml`.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ...cutover.durations import parse_duration
from .cluster import BACKUPS
from .rollouts import MAESTRO_ROLLOUTS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SCENARIO_DIR = Path(__file__).parent / "scenarios"


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message names the file and the key."""


def _duration(value: object) -> timedelta:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    if isinstance(value, str):
        return parse_duration(value)
    raise ValueError("expected a duration such as '90s', '5m' or '1h'")


Duration = Annotated[timedelta, BeforeValidator(_duration)]
Share = Annotated[float, Field(ge=0, le=1)]

IncidentKind = Literal[
    "registry.brownout",
    "runner.lost",
    "cve.detected",
    "audit.failed",
    "chaos.drill",
    "backup.failed",
    "rollout.unsigned",
]


class Incident(BaseModel):
    """`[[incidents]]`: one thing that happens to the platform at `at` after the start."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at: Duration
    event: IncidentKind
    severity: Literal["info", "warning", "critical"] = "warning"
    message: str = ""
    #: How long the incident lasts; for alerts, how long the alert stays active.
    duration: Duration = timedelta(minutes=5)
    # registry.brownout
    pull_error_rate: Share = 0.1
    extra_failure_rate: Share = 0.04
    startup_factor: Annotated[float, Field(ge=1)] = 4.0
    cordoned_share: Share = 0.3
    # runner.lost
    pool: str = "linux-large"
    executors: Annotated[int, Field(ge=1)] = 6
    # cve.detected
    cve: str = ""
    #: The image the CVE is in, carried as the alert's `image` label.
    image: str = ""
    # backup.failed: the CronJob whose runs fail from `since` before `at` until `duration`
    # after it (a daily backup fails at its next run, so `since` can reach back a night).
    cronjob: str = ""
    since: Duration = timedelta(0)
    # rollout.unsigned: `namespace/name` of the rollout whose new revision lacks its SBOM.
    rollout: str = ""

    @model_validator(mode="after")
    def _named(self) -> Incident:
        if self.event == "cve.detected" and not self.cve:
            raise ValueError("a 'cve.detected' incident needs 'cve', e.g. 'CVE-2026-1234'")
        if self.event == "backup.failed" and self.cronjob not in BACKUPS:
            raise ValueError(
                f"a 'backup.failed' incident needs 'cronjob', one of {', '.join(BACKUPS)}"
            )
        if self.event == "rollout.unsigned" and self.rollout not in MAESTRO_ROLLOUTS:
            raise ValueError(
                "a 'rollout.unsigned' incident needs 'rollout', one of "
                + ", ".join(MAESTRO_ROLLOUTS)
            )
        return self


class Signed(BaseModel):
    """`[[signoffs]]`: a Go/No-Go sign-off already recorded when the simulation starts."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    role: str
    by: str
    note: str = ""
    #: How long before the start it was signed.
    ago: Duration = timedelta(days=1)


class Scenario(BaseModel):
    """A scenario file: a name, what it shows, and its incidents."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    description: str = ""
    incidents: tuple[Incident, ...] = ()
    signoffs: tuple[Signed, ...] = ()

    @model_validator(mode="after")
    def _signed_once(self) -> Scenario:
        roles = [signed.role for signed in self.signoffs]
        repeated = sorted({role for role in roles if roles.count(role) > 1})
        if repeated:
            raise ValueError(f"signoffs: each role signs once; repeated: {', '.join(repeated)}")
        return self

    @property
    def timeline(self) -> tuple[Incident, ...]:
        return tuple(sorted(self.incidents, key=lambda incident: incident.at))


CALM = Scenario(name="calm", description="No incidents.")


def _where(loc: tuple[int | str, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def parse_scenario(text: str, origin: str) -> Scenario:
    """Validate a scenario's TOML; errors name `origin`, the key and what was expected."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ScenarioError(f"{origin}: not valid TOML: {error}") from error
    try:
        return Scenario.model_validate(document)
    except ValidationError as error:
        problems = "; ".join(
            f"{_where(tuple(item['loc']))}: {item['msg']}" for item in error.errors()
        )
        raise ScenarioError(f"{origin}: {problems}") from None


def scenario_path(name_or_path: str, base: Path | None = None) -> Path:
    """A bare name is a packaged scenario; anything else is a path (relative to `base`)."""
    if "/" not in name_or_path and not name_or_path.endswith(".toml"):
        return SCENARIO_DIR / f"{name_or_path}.toml"
    path = Path(name_or_path).expanduser()
    return path if path.is_absolute() or base is None else base / path


def load_scenario(name_or_path: str, base: Path | None = None) -> Scenario:
    """Read and validate a scenario by packaged name or by path."""
    path = scenario_path(name_or_path, base)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        known = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
        raise ScenarioError(
            f"{path}: cannot read the scenario ({error.strerror}); packaged ones: {known}"
        ) from error
    return parse_scenario(text, str(path))
