"""The simulated platform's CI: the smoke suite on a schedule, the drills' records, and the
CD deploys with (and without) their evidence.

The suite runs every `interval` of simulated time, every test side by side. What an incident
breaks fails: during a registry brownout the artifact publish cannot push and the staging
deploy cannot pull, while the registry-outage negative test passes (the platform degrades
as it should); a lost runner pool fails the build-caching test of that pool. Deterministic
for a seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from ...cutover.smoke import (
    FAILED,
    PASSED,
    SMOKE_TESTS,
    DeployRun,
    DrillRun,
    SmokeRun,
    VerificationUpdate,
)

#: Simulated seconds between two runs of the suite.
SUITE_INTERVAL = 60.0
POOLS = ("linux-small", "linux-large")
IMAGE = "ghcr.io/brianclong/maestro-control-plane"


@dataclass(frozen=True)
class Weather:
    """What the incidents are doing to the platform at this moment."""

    registry_down: bool = False
    runners_lost: bool = False


def _digest(rng: random.Random) -> str:
    return f"{IMAGE}@sha256:" + "".join(rng.choice("0123456789abcdef") for _ in range(64))


class SimVerification:
    """The suite's schedule and the records of drills and deploys, as of the simulator's t."""

    def __init__(
        self, rng: random.Random, epoch: datetime, start_t: float, suite: str = "maestro"
    ) -> None:
        self.rng = rng
        self.epoch = epoch
        self.suite = suite
        self._next = start_t
        self._runs = 0
        self._smoke: list[SmokeRun] = []
        self._drills: list[DrillRun] = []
        self._deploys: list[DeployRun] = []
        #: Each test's last run, as the smoke metrics export it.
        self.latest: dict[str, SmokeRun] = {}
        self._history(start_t)

    def at(self, t: float) -> datetime:
        return self.epoch + timedelta(seconds=t)

    def _history(self, start_t: float) -> None:
        """What CI had recorded before the control room opened: a suite run a minute before,
        drills of the last days, and the week's deploys, one of them without evidence."""
        start = self.at(start_t)
        self.run_suite(start_t - SUITE_INTERVAL, Weather())
        drills = (
            ("cancel-retry", 2), ("agent-loss", 3), ("registry-brownout", 5), ("runner-kill", 4),
            ("broker-loss", 6), ("dr-restore", 10), ("rollback", 1),
        )  # fmt: skip
        for name, days in drills:
            at = start - timedelta(days=days, hours=self.rng.randint(1, 9))
            evidence = f"witness-{name}-{at:%Y%m%d}"
            self._drills.append(DrillRun(name, PASSED, at, evidence, "drill passed", "sim"))
        deploys = (
            ("cd.yml", "staging", "v2.14.0", 3, True),
            ("cd.yml", "prod", "v2.14.0", 2, True),
            ("cd.yml", "staging", "", 1, True),
            ("auto-pin-and-deploy.yml", "prod", "", 1, True),
        )
        for workflow, env, tag, days, evidenced in deploys:
            at = start - timedelta(days=days, hours=self.rng.randint(1, 6))
            self.deploy(workflow, env, tag or _digest(self.rng), at, evidenced=evidenced)
        self.deploy("cd.yml", "staging", "main", start - timedelta(hours=5), no_op=True)

    def deploy(
        self,
        workflow: str,
        env: str,
        ref: str,
        at: datetime,
        *,
        evidenced: bool = True,
        no_op: bool = False,
        actor: str = "release-bot",
    ) -> DeployRun:
        run_id = str(9_000_000 + len(self._deploys) * 17 + self.rng.randint(0, 16))
        run = DeployRun(
            workflow=workflow,
            env=env,
            ref=ref,
            actor=actor,
            result="success",
            at=at,
            run_id=run_id,
            url=f"https://github.com/brianclong/maestro/actions/runs/{run_id}",
            no_op=no_op,
            witness=None if no_op else evidenced,
            cosign_verified=None if no_op else evidenced,
            sbom=None if no_op else evidenced,
            source="sim",
        )
        self._deploys.append(run)
        return run

    def tick(self, t: float, weather: Callable[[], Weather]) -> None:
        if t >= self._next:
            self.run_suite(t, weather())

    def run_suite(self, t: float, weather: Weather) -> None:
        """Every test of the suite, as of `t`."""
        self._next = t + SUITE_INTERVAL
        self._runs += 1
        run_id = f"smoke-{self._runs:05d}"
        # The tests run side by side and report when the suite ends, at `t`.
        for index, test in enumerate(SMOKE_TESTS):
            duration = round(self.rng.uniform(8, 40), 1)
            passed = self._passes(test.id, weather)
            pool = POOLS[index % len(POOLS)]
            run = SmokeRun(self.suite, test.id, PASSED if passed else FAILED, self.at(t),
                           duration, pool, f"{run_id}/{test.id}", source="sim")  # fmt: skip
            self._smoke.append(run)
            self.latest[test.id] = run

    def _passes(self, test: str, weather: Weather) -> bool:
        if weather.registry_down and test in ("artifact-publish", "staging-deploy"):
            return False
        # Negative tests pass when the platform degrades gracefully, which it does here.
        return not (weather.runners_lost and test == "build-caching")

    def dispatch(self, t: float, workflow: str, ref: str, no_op: bool, weather: Weather) -> None:
        """A `workflow_dispatch` from the control room: the suite runs now, or a dry run of
        the CD workflow is recorded."""
        if no_op:
            self.deploy(workflow, "staging", ref, self.at(t), no_op=True, actor="control-room")
        else:
            self.run_suite(t, weather)

    def drain(self, now: datetime) -> list[VerificationUpdate]:
        if not (self._smoke or self._drills or self._deploys):
            return []
        update = VerificationUpdate(
            "sim", now, tuple(self._smoke), tuple(self._drills), tuple(self._deploys)
        )
        self._smoke, self._drills, self._deploys = [], [], []
        return [update]
