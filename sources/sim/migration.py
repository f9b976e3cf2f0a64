"""The waves of the cutover as the simulated CD system records and carries them out.

An active wave moves its repositories shadow → canary → Maestro one at a time, every few
simulated minutes; a canary wave keeps a couple of repositories on canary; nothing moves while
the cutover is frozen. Operators promote and roll back waves through the effector.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from ...cutover.waves import (
    Recut,
    RepoState,
    WaveState,
    WaveStatus,
    Workbook,
    promoted_wave,
    recut_refusal,
)
from .platform import Platform

#: Seconds between two repository moves of an active wave (uniform between the two).
MOVE_EVERY = (180.0, 420.0)
#: A repository stays on canary at least this long before it moves to Maestro.
CANARY_SOAK = 300.0
#: How many repositories a canary wave builds on canary.
CANARY_REPOS = 2

Versions = Callable[[], str]
Announce = Callable[[str, str, str], None]  # event, severity, message


def initial_world(
    workbook: Workbook, go_live: datetime, start: datetime
) -> tuple[dict[str, WaveStatus], dict[str, RepoState]]:
    """Wave and repository states at `start`, following the plan's timeline.

    From T+1d: the first wave active since T-0 with every repository on Maestro, the second
    on canary since T+1d with a few repositories ahead, later waves planned in shadow (the
    last one partly still on legacy). Before that, the earlier phases of the same story.
    """
    waves = list(workbook.waves)
    offset = start - go_live
    statuses: dict[str, WaveStatus] = {}
    repos: dict[str, RepoState] = {}
    for index, wave in enumerate(waves):
        rows = workbook.repos(wave)
        last = index == len(waves) - 1 and index > 0
        shadowed = [
            RepoState.SHADOW if not last or i < len(rows) // 3 else RepoState.LEGACY
            for i in range(len(rows))
        ]
        state, since = WaveState.PLANNED, None
        if index == 0 and offset >= timedelta(0):
            state, since = WaveState.ACTIVE, go_live
            done = len(rows) if offset >= timedelta(days=1) else len(rows) // 2
            shadowed = [
                RepoState.MAESTRO if i < done else RepoState.SHADOW for i in range(len(rows))
            ]
        elif index == 0 and offset >= timedelta(days=-7):
            state, since = WaveState.CANARY, go_live - timedelta(days=7)
            shadowed = [RepoState.CANARY if i < CANARY_REPOS else RepoState.SHADOW
                        for i in range(len(rows))]  # fmt: skip
        elif index == 1 and offset >= timedelta(days=1):
            state, since = WaveState.CANARY, go_live + timedelta(days=1)
            ahead = [RepoState.MAESTRO, RepoState.MAESTRO, RepoState.CANARY, RepoState.CANARY]
            shadowed = [ahead[i] if i < len(ahead) else RepoState.SHADOW for i in range(len(rows))]
        statuses[wave] = WaveStatus(wave, state, since, "cutover-bot" if since else "")
        repos.update({row.repo: s for row, s in zip(rows, shadowed, strict=True)})
    return statuses, repos


class WaveLedger:
    """Wave statuses with versions, and the migration of repositories they drive."""

    def __init__(
        self,
        workbook: Workbook,
        statuses: dict[str, WaveStatus],
        platform: Platform,
        rng: random.Random,
        next_version: Versions,
        announce: Announce,
    ) -> None:
        self.workbook = workbook
        self.platform = platform
        self.rng = rng
        self._next_version = next_version
        self._announce = announce
        self.statuses = {
            wave: WaveStatus(s.wave, s.state, s.since, s.by, next_version())
            for wave, s in statuses.items()
        }
        self._canary_since: dict[str, float] = {}
        self._next_move: float | None = None

    def tick(self, t: float, frozen: bool) -> None:
        """Move one repository when one is due; a freeze holds every move."""
        if self._next_move is None:
            self._next_move = t + self.rng.uniform(*MOVE_EVERY)
            return
        if t < self._next_move:
            return
        self._next_move = t + self.rng.uniform(*MOVE_EVERY)
        if frozen:
            return
        for wave, status in sorted(self.statuses.items()):
            if status.state is WaveState.ACTIVE and self._move_active(wave, t):
                return
            if status.state is WaveState.CANARY and self._move_canary(wave, t):
                return

    def _move(self, repo: str, state: RepoState, t: float) -> None:
        before = self.platform.states[repo]
        self.platform.set_repo_state(repo, state)
        if state is RepoState.CANARY:
            self._canary_since[repo] = t
        self._announce("cutover.repo", "info", f"{repo} {before.value} → {state.value}")

    def _move_active(self, wave: str, t: float) -> bool:
        states = self.platform.states
        repos = [row.repo for row in self.workbook.repos(wave)]
        for repo in repos:
            soaked = t - self._canary_since.get(repo, -CANARY_SOAK) >= CANARY_SOAK
            if states[repo] is RepoState.CANARY and soaked:
                self._move(repo, RepoState.MAESTRO, t)
                return True
        for repo in repos:
            if states[repo] in (RepoState.LEGACY, RepoState.SHADOW):
                following = (
                    RepoState.SHADOW if states[repo] is RepoState.LEGACY else RepoState.CANARY
                )
                self._move(repo, following, t)
                return True
        return False

    def _move_canary(self, wave: str, t: float) -> bool:
        states = self.platform.states
        repos = [row.repo for row in self.workbook.repos(wave)]
        ahead = sum(1 for r in repos if states[r] in (RepoState.CANARY, RepoState.MAESTRO))
        if ahead >= CANARY_REPOS:
            return False
        for repo in repos:
            if states[repo] in (RepoState.LEGACY, RepoState.SHADOW):
                self._move(repo, RepoState.CANARY, t)
                return True
        return False

    def promote(self, wave: str, by: str, now: datetime, t: float) -> WaveStatus:
        """planned → canary → active → complete, and a re-cut rolled-back wave → canary
        once its time has come; raises ValueError when it cannot."""
        status = self.statuses[wave]
        after = promoted_wave(status.state, status.recut)
        if after is None:
            raise ValueError(f"{wave} is {status.state.value}: nothing to promote")
        refusal = recut_refusal(wave, status.recut, now)
        if refusal:
            raise ValueError(refusal)
        repos = [row.repo for row in self.workbook.repos(wave)]
        if after is WaveState.CANARY:
            for repo in repos:
                if self.platform.states[repo] is RepoState.LEGACY:
                    self.platform.set_repo_state(repo, RepoState.SHADOW)
        if after is WaveState.COMPLETE:
            for repo in repos:
                self.platform.set_repo_state(repo, RepoState.MAESTRO)
        return self._set(wave, after, by, now)

    def roll_back(self, wave: str, by: str, now: datetime) -> WaveStatus:
        """Every repository of the wave back to legacy."""
        status = self.statuses[wave]
        if status.state not in (WaveState.CANARY, WaveState.ACTIVE):
            raise ValueError(f"{wave} is {status.state.value}: nothing to roll back")
        for row in self.workbook.repos(wave):
            self.platform.set_repo_state(row.repo, RepoState.LEGACY)
        return self._set(wave, WaveState.ROLLED_BACK, by, now)

    def recut(self, wave: str, recut: Recut) -> WaveStatus:
        """Record when the wave may go again and why, beside its state, as the ConfigMap's
        `waves` keeps it."""
        status = replace(self.statuses[wave], recut=recut, version=self._next_version())
        self.statuses[wave] = status
        return status

    def _set(self, wave: str, state: WaveState, by: str, now: datetime) -> WaveStatus:
        status = WaveStatus(wave, state, now, by, self._next_version())
        self.statuses[wave] = status
        return status
