"""A model of the Maestro build platform: jobs, executor pools, queues, failures and spend.

Jobs arrive per repository as Poisson processes, wait FIFO in their pool's queue for a free
executor, take time to start (image pull, checkout), run for a lognormal time around the
workbook's average build, and finish with a status drawn from the repository's failure and
flake rates. Queue waits, saturation and spend are not drawn: they emerge from load and
capacity. Every number goes into `MaestroMetrics` under the contract's names.
"""

from __future__ import annotations

import heapq
import math
import random
from bisect import bisect_left
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import accumulate

from ...cutover.events import BuildEvent
from ...cutover.routing import MAESTRO as ALL_ON_MAESTRO
from ...cutover.routing import Route, Routing
from ...cutover.waves import RepoState, Workbook, WorkbookRow
from .metrics import MaestroMetrics

#: Jobs per minute per repository by tier: tier 0 services build most often.
JOBS_PER_MINUTE = {0: 1.1, 1: 0.85, 2: 0.6, 3: 0.4}
#: The pool a tier builds in, and each pool's price per executor-second.
LARGE, SMALL = "linux-large", "linux-small"
POOL_PRICE = {LARGE: 0.00060, SMALL: 0.00040}
#: Executors are sized for this share of the expected load, the platform team's target.
TARGET_SATURATION = 0.7
#: Time from an executor being assigned to the job running (pod start, image pull, checkout).
STARTUP_MEDIAN_S = 14.0
STARTUP_SIGMA = 0.55
_LOG_STARTUP_MEDIAN = math.log(STARTUP_MEDIAN_S)
CANCEL_P = 0.02
ERROR_P = 0.001


def pool_of(tier: int) -> str:
    return LARGE if tier <= 1 else SMALL


def on_maestro(state: RepoState) -> bool:
    """Shadow, canary and Maestro repositories all build on Maestro's executors."""
    return state is not RepoState.LEGACY


@dataclass(frozen=True)
class RepoProfile:
    """What the model knows of one repository, from its workbook row."""

    repo: str
    wave: str
    tier: int
    pool: str
    jobs_per_second: float
    duration_median_s: float
    failure_p: float
    flake_p: float
    shadow_match_p: float
    #: Label values and logarithms every job of the repository uses, made once from the
    #: fields above.
    repo_labels: tuple[str, str] = field(init=False, repr=False, compare=False)
    tier_label: str = field(init=False, repr=False, compare=False)
    queue_labels: tuple[str, str] = field(init=False, repr=False, compare=False)
    log_duration_median: float = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        init = object.__setattr__  # frozen: set once, here
        init(self, "repo_labels", (self.repo, self.wave))
        init(self, "tier_label", str(self.tier))
        init(self, "queue_labels", (self.pool, self.tier_label))
        init(self, "log_duration_median", math.log(self.duration_median_s))

    @classmethod
    def from_row(cls, row: WorkbookRow) -> RepoProfile:
        flaky_pack = any("flaky" in blocker.lower() for blocker in row.blockers)
        tier = max(0, min(row.tier, 3))
        # Lognormal with sigma 0.3: the median sits a little under the mean the workbook gives.
        return cls(
            repo=row.repo,
            wave=row.wave,
            tier=row.tier,
            pool=pool_of(row.tier),
            jobs_per_second=JOBS_PER_MINUTE[tier] / 60,
            duration_median_s=row.avg_build_min * 60 / math.exp(0.3**2 / 2),
            failure_p=0.003 + 0.0008 * tier + (0.003 if flaky_pack else 0.0),
            flake_p=0.008 + (0.012 if flaky_pack else 0.0),
            shadow_match_p=row.shadow_pass if row.shadow_pass is not None else 0.97,
        )


@dataclass(slots=True)
class Job:
    """One job on Maestro."""

    id: str
    profile: RepoProfile
    queued_at: float
    runner: str = ""
    executor: int = -1
    started_at: float = -1.0  # not started yet
    status: str = ""
    duration: float = 0.0
    flaky: bool = False
    done: bool = False


@dataclass
class ExecutorPool:
    """Executors with one pool label, and the FIFO queue of jobs waiting for one."""

    name: str
    size: int
    free: list[int] = field(default_factory=list)
    running: dict[int, Job] = field(default_factory=dict)
    lost: set[int] = field(default_factory=set)
    queue: deque[Job] = field(default_factory=deque)
    cordoned: int = 0

    def __post_init__(self) -> None:
        self.free = list(range(self.size - 1, -1, -1))

    @property
    def total(self) -> int:
        return self.size - len(self.lost)

    @property
    def busy(self) -> int:
        return len(self.running)

    def can_start(self) -> bool:
        # Cordoned executors finish what they run but take nothing new.
        return bool(self.free) and len(self.running) < self.total - self.cordoned


@dataclass
class Conditions:
    """How incidents bend the platform right now; the calm defaults are all neutral."""

    pull_error_p: float = 0.0
    extra_failure_p: float = 0.0
    startup_factor: float = 1.0
    cordoned_share: float = 0.0


_START, _FINISH = 0, 1
#: Each state with its label value, read once: an enum's `.value` is a descriptor call.
_STATE_NAMES = tuple((state, state.value) for state in RepoState)


class Platform:
    """The Maestro platform model, advanced one simulated second at a time.

    Time `t` is in seconds since `epoch`. Repositories on legacy build elsewhere and put no
    load on Maestro; shadow and canary repositories also report shadow comparisons.
    """

    def __init__(
        self,
        workbook: Workbook,
        repo_states: dict[str, RepoState],
        rng: random.Random,
        epoch: datetime,
    ) -> None:
        self.rng = rng
        self.epoch = epoch
        self.t = 0.0
        self.metrics = MaestroMetrics()
        self.profiles = {row.repo: RepoProfile.from_row(row) for row in workbook.rows}
        self.states = {repo: repo_states.get(repo, RepoState.LEGACY) for repo in self.profiles}
        self.conditions = Conditions()
        self._states_shown: dict[str, RepoState] | None = None
        #: Where the dispatcher sends builds: a re-pointed wave builds on legacy.
        self.routing = ALL_ON_MAESTRO
        self.events: list[BuildEvent] = []
        #: Off while no one will read the build events (most of the warm-up).
        self.record_events = True
        #: Starts and finishes before `_horizon`, in time order; those after it wait in
        #: `_later` by whole second and join the heap when a step reaches their second.
        #: Tens of thousands of jobs run at an organisation's size: a heap of them all made
        #: every push and pop a walk through memory far apart.
        self._heap: list[tuple[float, int, int, Job]] = []
        self._later: dict[int, list[tuple[float, int, int, Job]]] = {}
        self._horizon = 0
        #: Pools whose busy and executor gauges are behind: set once a step, not per job.
        self._stale_gauges: set[str] = set()
        self._seq = 0
        self._job_counter = 0
        self.pools = self._size_pools()
        for pool in self.pools.values():
            self._gauges(pool)
        for repo in self.profiles:
            self._state_gauge(repo)
        self._arrivals: list[RepoProfile] = []
        self._cumulative: list[float] = []
        self._rate = 0.0
        self._next_arrival = math.inf
        self._reweigh()

    def _size_pools(self) -> dict[str, ExecutorPool]:
        """Executors for the expected busy time of every repository that could build here.

        Sized from the load of all repositories not on legacy at the start, so that the pools
        run near the target saturation; queues then come from bursts, not from the sizing.
        """
        busy: dict[str, float] = {LARGE: 0.0, SMALL: 0.0}
        for repo, profile in self.profiles.items():
            if on_maestro(self.states[repo]):
                mean = profile.duration_median_s * math.exp(0.3**2 / 2) + STARTUP_MEDIAN_S
                busy[profile.pool] += profile.jobs_per_second * mean
        return {
            name: ExecutorPool(name, max(4, round(load / TARGET_SATURATION)))
            for name, load in busy.items()
        }

    # --- repository states -------------------------------------------------------------

    def set_repo_state(self, repo: str, state: RepoState) -> None:
        if self.states[repo] is state:
            return
        self.states[repo] = state
        self._states_shown = None
        self._state_gauge(repo)
        self._reweigh()

    def _state_gauge(self, repo: str) -> None:
        wave, current, gauge = self.profiles[repo].wave, self.states[repo], self.metrics.repo_state
        for state, name in _STATE_NAMES:
            gauge.set((repo, wave, name), 1.0 if current is state else 0.0)

    def repo_states(self) -> dict[str, RepoState]:
        """Every repository's state, as one dict that stays the same object until a state
        changes: a reader of 5,000 states each second can tell "no change" by identity."""
        if self._states_shown is None:
            self._states_shown = dict(self.states)
        return self._states_shown

    def builds_here(self, repo: str) -> bool:
        """Whether the repository's builds come to Maestro: on Maestro, and not re-pointed."""
        profile = self.profiles[repo]
        return on_maestro(self.states[repo]) and self.routing.of(profile.wave) is Route.MAESTRO

    def set_routing(self, routing: Routing) -> None:
        """Obey the routing switch as the dispatcher does: the builds of a re-pointed wave go
        to legacy from now on, and its jobs still waiting leave Maestro's queues (legacy
        builds them); jobs already running finish here."""
        self.routing = routing
        for pool in self.pools.values():
            kept = [job for job in pool.queue if self.builds_here(job.profile.repo)]
            for job in pool.queue:
                if not self.builds_here(job.profile.repo):
                    job.done = True
            pool.queue = deque(kept)
            self._gauges(pool)
        self._reweigh()

    def _reweigh(self) -> None:
        """Recompute the arrival process after the set of repositories on Maestro changed."""
        self._arrivals = [p for r, p in self.profiles.items() if self.builds_here(r)]
        self._cumulative = list(accumulate(p.jobs_per_second for p in self._arrivals))
        self._rate = self._cumulative[-1] if self._cumulative else 0.0
        # Poisson arrivals are memoryless, so redrawing the next one is exact.
        self._next_arrival = (
            self.t + self.rng.expovariate(self._rate) if self._rate > 0 else math.inf
        )

    # --- capacity ------------------------------------------------------------------------

    def lose_runners(self, pool_name: str, count: int) -> list[str]:
        """Executors vanish; the jobs they ran end in error. Returns the runners lost."""
        pool = self.pools[pool_name]
        candidates = [i for i in range(pool.size - 1, -1, -1) if i not in pool.lost]
        lost = candidates[: max(0, min(count, len(candidates) - 1))]
        for index in lost:
            pool.lost.add(index)
            if index in pool.free:
                pool.free.remove(index)
            job = pool.running.pop(index, None)
            if job is not None:
                job.done = True  # its scheduled start or finish is void
                job.status = "error"
                job.duration = max(0.0, self.t - job.started_at) if job.started_at >= 0 else 0.0
                self._record_finish(job)
        self._gauges(pool)
        return [f"{pool_name}-{index:03d}" for index in lost]

    def replace_runners(self, pool_name: str) -> None:
        """The autoscaler brings lost executors back."""
        pool = self.pools[pool_name]
        pool.free.extend(sorted(pool.lost, reverse=True))
        pool.lost.clear()
        self._dispatch(pool)
        self._stale_gauges.add(pool.name)  # its executors came back, whether or not it ran one
        self._settle_gauges()

    def apply_conditions(self, conditions: Conditions) -> None:
        self.conditions = conditions
        for pool in self.pools.values():
            pool.cordoned = int(pool.total * conditions.cordoned_share)
            self._dispatch(pool)
        self._settle_gauges()

    # --- the clock -----------------------------------------------------------------------

    def step(self, seconds: float = 1.0) -> None:
        """Advance by `seconds`, processing arrivals, starts and finishes in time order."""
        end = self.t + seconds
        self._reach(end)
        heap, pop, expovariate = self._heap, heapq.heappop, self.rng.expovariate
        while True:
            next_event = heap[0][0] if heap else math.inf
            if self._next_arrival <= next_event and self._next_arrival <= end:
                self.t = self._next_arrival
                self._arrive()
                self._next_arrival = self.t + expovariate(self._rate)
            elif next_event <= end:
                when, _, kind, job = pop(heap)
                if job.done:
                    continue
                self.t = when
                if kind == _START:
                    self._start(job)
                else:
                    self._finish(job)
            else:
                break
        self.t = end
        for pool in self.pools.values():
            self.metrics.cost.inc((pool.name,), pool.total * POOL_PRICE[pool.name] * seconds)
        self._settle_gauges()

    def _schedule(self, when: float, kind: int, job: Job) -> None:
        self._seq += 1
        entry = (when, self._seq, kind, job)
        if when < self._horizon:
            heapq.heappush(self._heap, entry)
        else:
            self._later.setdefault(int(when), []).append(entry)

    def _reach(self, end: float) -> None:
        """Into the heap, everything due up to `end`: the heap then holds every entry before
        the horizon, which lies past `end`, so it pops them in the order one heap of all
        would."""
        horizon = math.floor(end) + 1
        if horizon <= self._horizon:
            return
        later, heap = self._later, self._heap
        due = [entry for second in range(self._horizon, horizon) for entry in later.pop(second, ())]
        if due:
            heap.extend(due)
            heapq.heapify(heap)
        self._horizon = horizon

    def _ts(self) -> datetime:
        return self.epoch + timedelta(seconds=self.t)

    def _arrive(self) -> None:
        index = bisect_left(self._cumulative, self.rng.random() * self._rate)
        profile = self._arrivals[min(index, len(self._arrivals) - 1)]
        self._job_counter += 1
        job = Job(f"j{self._job_counter:07d}", profile, self.t)
        pool = self.pools[profile.pool]
        pool.queue.append(job)
        if self.record_events:
            self.events.append(
                BuildEvent("job.queued", job.id, profile.repo, profile.wave, self._ts())
            )
        self._dispatch(pool)

    def _dispatch(self, pool: ExecutorPool) -> None:
        changed = False
        while pool.queue and pool.can_start():
            job = pool.queue.popleft()
            job.executor = pool.free.pop()
            job.runner = f"{pool.name}-{job.executor:03d}"
            pool.running[job.executor] = job
            startup = self.rng.lognormvariate(_LOG_STARTUP_MEDIAN, STARTUP_SIGMA)
            self._schedule(self.t + startup * self.conditions.startup_factor, _START, job)
            changed = True
        if changed:
            self._stale_gauges.add(pool.name)

    def _start(self, job: Job) -> None:
        rng, profile = self.rng, job.profile
        job.started_at = self.t
        wait = self.t - job.queued_at
        self.metrics.queue_wait.observe(profile.queue_labels, wait)
        if self.record_events:
            self._started_event(job, wait)
        median = profile.duration_median_s
        roll = rng.random()
        conditions = self.conditions
        if roll < conditions.pull_error_p:
            job.status, duration = "error", rng.uniform(10, 60)  # the image never arrives
        elif (roll := rng.random()) < CANCEL_P:
            job.status, duration = "cancelled", median * rng.uniform(0.05, 0.6)
        elif roll < CANCEL_P + ERROR_P:
            job.status, duration = "error", median * rng.uniform(0.05, 0.5)
        elif roll < CANCEL_P + ERROR_P + profile.failure_p + conditions.extra_failure_p:
            job.status, duration = "failure", median * rng.uniform(0.3, 1.0)
        else:
            job.status = "success"
            duration = rng.lognormvariate(profile.log_duration_median, 0.3)
            if rng.random() < profile.flake_p:
                job.flaky = True  # failed, retried, passed: the retry costs time
                duration *= 1.0 + rng.uniform(0.3, 0.8)
        job.duration = duration
        self._schedule(self.t + duration, _FINISH, job)

    def _started_event(self, job: Job, wait: float) -> None:
        profile = job.profile
        self.events.append(
            BuildEvent(
                "job.started",
                job.id,
                profile.repo,
                profile.wave,
                self._ts(),
                queue_wait_s=round(wait, 1),
                runner=job.runner,
            )
        )

    def _finish(self, job: Job) -> None:
        job.done = True
        pool = self.pools[job.profile.pool]
        del pool.running[job.executor]
        pool.free.append(job.executor)
        self._record_finish(job)
        self._dispatch(pool)
        self._stale_gauges.add(pool.name)

    def _record_finish(self, job: Job) -> None:
        profile = job.profile
        metrics = self.metrics
        metrics.jobs.inc((job.status, profile.repo, profile.wave, profile.tier_label))
        if job.status != "cancelled":
            metrics.duration.observe(profile.repo_labels, job.duration)
        if job.flaky:
            metrics.flaky.inc(profile.repo_labels)
        state = self.states[profile.repo]
        if job.status != "cancelled" and state in (RepoState.SHADOW, RepoState.CANARY):
            # The legacy build of the same commit ran too; did they agree?
            matched = self.rng.random() < profile.shadow_match_p
            metrics.shadow.inc((profile.repo, profile.wave, "match" if matched else "mismatch"))
        if not self.record_events:
            return
        event = "job.cancelled" if job.status == "cancelled" else "job.finished"
        self.events.append(
            BuildEvent(
                event,
                job.id,
                profile.repo,
                profile.wave,
                self._ts(),
                status=job.status,
                queue_wait_s=round(job.started_at - job.queued_at, 1)
                if job.started_at >= 0
                else 0.0,
                duration_s=round(job.duration, 1),
                runner=job.runner,
            )
        )

    def _gauges(self, pool: ExecutorPool) -> None:
        self.metrics.busy.set((pool.name,), float(pool.busy))
        self.metrics.executors.set((pool.name,), float(pool.total))

    def _settle_gauges(self) -> None:
        """The gauges of the pools that changed, as of now: read between steps and calls,
        so setting them once then shows the same values as setting them at every job."""
        for name in self._stale_gauges:
            self._gauges(self.pools[name])
        self._stale_gauges.clear()

    # --- views ---------------------------------------------------------------------------

    @property
    def arrival_rate(self) -> float:
        """Jobs per second arriving on Maestro now."""
        return self._rate

    @property
    def in_flight(self) -> int:
        return sum(pool.busy + len(pool.queue) for pool in self.pools.values())

    def drain_events(self) -> list[BuildEvent]:
        events, self.events = self.events, []
        return events

    def repos_in(self, wave: str) -> Iterable[str]:
        return (repo for repo, profile in self.profiles.items() if profile.wave == wave)
