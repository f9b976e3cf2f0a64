"""What Enter on a wave shows: every repository of the wave with where it builds, its shadow
pass rate, owner, tier and blocking issues in full, and a filter over them. Pure: the screen
renders it."""

from __future__ import annotations

from dataclasses import dataclass

from .waves import RepoState, WaveProgress, Workbook


@dataclass(frozen=True)
class RepoLine:
    """One repository of a wave, as the workbook and the repository states have it."""

    repo: str
    state: RepoState
    shadow_pass: float | None
    owner: str
    tier: int
    blockers: tuple[str, ...]

    @property
    def words(self) -> str:
        """What the filter matches against, lower case: name, state, owner, tier (`t0`),
        the blockers, and `blocked` for a repository with any."""
        blocked = ("blocked",) if self.blockers else ()
        parts = (self.repo, self.state.value, self.owner, f"t{self.tier}", *blocked, *self.blockers)
        return " ".join(parts).lower()


@dataclass(frozen=True)
class WaveDetail:
    """Everything the wave detail screen shows about one wave."""

    wave: WaveProgress
    repos: tuple[RepoLine, ...]

    def matching(self, text: str) -> tuple[RepoLine, ...]:
        """The repositories whose words hold every word of `text` (any case); all of them
        for an empty filter."""
        wanted = text.lower().split()
        if not wanted:
            return self.repos
        return tuple(line for line in self.repos if all(w in line.words for w in wanted))

    def count_by_state(self) -> dict[RepoState, int]:
        counts = {state: 0 for state in RepoState}
        for line in self.repos:
            counts[line.state] += 1
        return counts


#: Repositories in the order an operator works through them: blocked first, then by tier
#: (Tier-0 first), then by name.
def _order(line: RepoLine) -> tuple[bool, int, str]:
    return not line.blockers, line.tier, line.repo


def wave_detail(wave: WaveProgress, workbook: Workbook) -> WaveDetail:
    """The detail of one wave: its repositories from the workbook, with the states the
    room holds (legacy for one no source has reported)."""
    states = wave.repo_states
    lines = [
        RepoLine(
            repo=row.repo,
            state=states.get(row.repo, RepoState.LEGACY),
            shadow_pass=row.shadow_pass,
            owner=row.owner,
            tier=row.tier,
            blockers=row.blockers,
        )
        for row in workbook.repos(wave.wave)
    ]
    return WaveDetail(wave, tuple(sorted(lines, key=_order)))
