"""PromQL against Prometheus, Thanos or Mimir: the KPI signals, wave metrics and their history.

Every `[queries]` entry and every `promql` gate check is asked at each refresh, all at once on
a small thread pool (the client is blocking `requests`), so a refresh takes as long as its
slowest query; an expression asked by both (the 7-day success rate) is asked once. The next poll
is scheduled after the last one ends, so polls never overlap. The library's own retries are
switched off: a slow server would otherwise be asked three times per query while the tile
still looked current. After a failed poll we back off ourselves.

What a query returns is judged here, never passed on as a number that looks fine: an empty
result is no data, `NaN` / `±Inf` is not a number, several series where one is expected is an
error, an error envelope is shown with its text, a proxy's HTML page is an error with a short
reason, and Thanos' partial-response `warnings` mark the value.
"""

from __future__ import annotations

import asyncio
import json
import math
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

import requests
from prometheus_api_client import PrometheusConnect
from urllib3.util.retry import Retry

from ..cutover.config import SIGNAL_UNITS, PrometheusSection, QueriesSection
from ..cutover.gates import CheckKind, CheckReading, CheckSpec, CheckState, GateSpec, promql_reading
from ..cutover.signals import Signal, SignalStatus
from ..cutover.smoke import (
    FAILED,
    PASSED,
    SMOKE_LAST_RUN,
    SMOKE_SUCCESS,
    SmokeRun,
    VerificationUpdate,
)
from ..cutover.updates import (
    GapBackfill,
    GateReadingsUpdate,
    HealthState,
    HistoryBackfill,
    SignalUpdate,
    SourceHealth,
    Update,
    WaveMetricsUpdate,
)
from ..cutover.waves import RepoState
from .base import Deliver, address_of
from .secrets import SecretError, read_secret

SOURCE = "prometheus"
#: The health row's entry for the scrape targets behind the KPIs (`exporter_up`).
EXPORTER = "exporter"
#: Queries that are breakdowns by a label, not one number: several series are expected.
SHADOW_PASS_BY_WAVE = "shadow_pass_by_wave"
REPO_STATES = "repo_states"
BY_LABEL = frozenset({SHADOW_PASS_BY_WAVE, REPO_STATES})
#: Backoff never grows past this many refresh intervals, nor past MAX_BACKOFF: a poll is a
#: handful of cheap requests, and waiting longer only delays showing the recovery.
BACKOFF_REFRESHES = 4
MAX_BACKOFF = timedelta(seconds=30)
#: Points a backfilled sparkline gets at most; the range query's step follows from it.
BACKFILL_POINTS = 240
#: An outage up to this long is filled in from Prometheus once it answers again, so the
#: triggers see its readings; after a longer one the triggers start over.
GAP_LIMIT = timedelta(minutes=15)
#: Points one gap's range query asks for at most (Prometheus refuses more than 11,000).
GAP_POINTS = 1000
#: How much of a proxy's non-JSON body goes into the reason.
SNIPPET = 60


def wall_now() -> datetime:
    return datetime.now(timezone.utc)


# --- what a query returned ---------------------------------------------------------------------


@dataclass(frozen=True)
class Series:
    """One series of a result: its labels and (unix time, value) points, oldest first."""

    labels: Mapping[str, str]
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class QueryResult:
    """A query's answer: series, or an error; `reached` is False when no server answered."""

    series: tuple[Series, ...] = ()
    error: str = ""
    warnings: tuple[str, ...] = ()
    reached: bool = True
    kind: str = ""

    @property
    def warning(self) -> str:
        return "; ".join(self.warnings)


def _sample(pair: Any) -> tuple[float, float]:
    time, value = pair
    # Prometheus sends values as strings: "NaN", "+Inf" and "-Inf" parse as floats too.
    return float(time), float(value)


def _labels(item: object) -> dict[str, str]:
    if not isinstance(item, dict):
        raise TypeError(f"a series is {type(item).__name__}, not an object")
    metric = item.get("metric") or {}
    if not isinstance(metric, dict):
        raise TypeError(f"a series' metric is {type(metric).__name__}, not an object")
    return {str(k): str(v) for k, v in metric.items()}


def parse_answer(status: int, content_type: str, body: bytes) -> QueryResult:
    """Judge one HTTP answer of `/api/v1/query` or `/api/v1/query_range`."""
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        snippet = " ".join(body[:SNIPPET].decode("utf-8", "replace").split())
        kind = content_type.split(";")[0].strip() or "no content type"
        reason = f"HTTP {status}: not a Prometheus answer ({kind})"
        return QueryResult(error=f"{reason}: {snippet}" if snippet else reason, reached=False)
    if not isinstance(document, dict) or document.get("status") not in ("success", "error"):
        return QueryResult(error=f"HTTP {status}: not a Prometheus answer (JSON)", reached=False)
    warnings = tuple(str(w) for w in document.get("warnings") or ())
    if document["status"] == "error":
        kind = str(document.get("errorType") or "error")
        text = str(document.get("error") or f"HTTP {status}")
        return QueryResult(error=f"{kind}: {text}", warnings=warnings)
    try:
        data = document["data"]
        if not isinstance(data, dict):
            raise TypeError(f"data is {type(data).__name__}, not an object")
        kind = str(data["resultType"])
        result = data["result"]
        if kind in ("vector", "matrix") and not isinstance(result, list):
            raise TypeError(f"result is {type(result).__name__}, not a list")
        if kind == "vector":
            series = tuple(Series(_labels(i), (_sample(i["value"]),)) for i in result)
        elif kind == "scalar":
            series = (Series({}, (_sample(result),)),)
        elif kind == "matrix":
            series = tuple(
                Series(_labels(i), tuple(_sample(p) for p in i["values"])) for i in result
            )
        else:
            return QueryResult(error=f"a {kind} result, expected a number", warnings=warnings)
    except KeyError as missing:
        # e.g. a native histogram sample, which has "histogram" where "value" would be.
        return QueryResult(error=f"malformed answer: no {missing}", warnings=warnings)
    except (TypeError, ValueError) as error:
        return QueryResult(error=f"malformed answer: {error}", warnings=warnings)
    return QueryResult(series, warnings=warnings, kind=kind)


def signal_of(name: str, unit: str, result: QueryResult, at: datetime) -> Signal:
    """The signal a single-number query's answer means."""
    if result.error:
        signal = Signal.failed(name, unit, at, result.error, SOURCE)
    elif len(result.series) > 1:
        count = len(result.series)
        signal = Signal.failed(name, unit, at, f"{count} series, expected 1", SOURCE)
    elif not result.series or not result.series[0].points:
        signal = Signal.measured(name, None, unit, at, SOURCE)
    else:
        signal = Signal.measured(name, result.series[0].points[-1][1], unit, at, SOURCE)
    return replace(signal, warning=result.warning) if result.warnings else signal


def check_reading_of(spec: CheckSpec, result: QueryResult, at: datetime) -> CheckReading:
    """A promql gate check's reading from its expression's answer. A partial response is
    unknown: a store was missing from the answer, and a gate is not passed on part of the data."""
    value: float | None = None
    error = result.error
    if not error and len(result.series) > 1:
        error = f"{len(result.series)} series, expected 1"
    elif not error and result.series and result.series[0].points:
        value = result.series[0].points[-1][1]
    reading = promql_reading(spec, value, SOURCE, at, error)
    if result.warnings and reading.state is not CheckState.UNKNOWN:
        return replace(
            reading, state=CheckState.UNKNOWN, reason="partial response: " + result.warning
        )
    return reading


def shadow_pass_of(result: QueryResult) -> dict[str, float]:
    """Shadow pass rate by wave; a wave without shadow builds (0/0) is left out."""
    out: dict[str, float] = {}
    for series in result.series:
        wave = series.labels.get("wave")
        if wave and series.points and math.isfinite(series.points[-1][1]):
            out[wave] = series.points[-1][1]
    return out


def repo_states_of(result: QueryResult) -> dict[str, RepoState]:
    """Where each repository builds, from `maestro_repo_cutover_state == 1`."""
    known = {state.value: state for state in RepoState}
    out: dict[str, RepoState] = {}
    for series in result.series:
        repo, state = series.labels.get("repo"), known.get(series.labels.get("state", ""))
        if repo and state is not None:
            out[repo] = state
    return out


def exporters_down(result: QueryResult) -> tuple[str, ...] | None:
    """The scrape targets (`job/instance`) an `up{...}` answer says are down; one entry
    naming the selector's absence when no target answers it; None when unknown (an error)."""
    if result.error:
        return None
    if not result.series:
        return ("no scrape target",)
    down = []
    for series in result.series:
        if series.points and series.points[-1][1] == 1:
            continue
        job = series.labels.get("job", "?")
        instance = series.labels.get("instance", "?")
        down.append(f"{job}/{instance}")
    return tuple(sorted(down))


def history_of(result: QueryResult) -> tuple[tuple[datetime, float], ...] | None:
    """A range query's one series as sparkline points, or None when it is not one series."""
    if result.error or len(result.series) != 1:
        return None
    return tuple(
        (datetime.fromtimestamp(t, timezone.utc), v)
        for t, v in result.series[0].points
        if math.isfinite(v)
    )


def _timed_out(error: requests.RequestException) -> bool:
    """Whether urllib3 gave up waiting. With its retries off, a read timeout reaches
    requests as MaxRetryError, which requests raises as a ConnectionError, not a Timeout."""
    from urllib3.exceptions import MaxRetryError, NewConnectionError
    from urllib3.exceptions import TimeoutError as Urllib3Timeout

    for arg in error.args:
        reason = arg.reason if isinstance(arg, MaxRetryError) else arg
        # A refused connection is a NewConnectionError, which urllib3 derives from its
        # connect timeout: it is no timeout.
        if isinstance(reason, Urllib3Timeout) and not isinstance(reason, NewConnectionError):
            return True
    return False


_ERRNO = re.compile(r"\[Errno -?\d+\] ([^'\")]+)")


def smoke_runs_of(last_run: QueryResult, success: QueryResult, suite: str) -> tuple[SmokeRun, ...]:
    """Each test's last run from the two smoke metrics: a test whose timestamp or result is
    missing, not a number or not 0/1 is left out rather than guessed."""
    if last_run.error or success.error:
        return ()
    passed = {}
    for series in success.series:
        if series.points and series.points[-1][1] in (0.0, 1.0):
            key = (series.labels.get("suite", ""), series.labels.get("test", ""))
            passed[key] = series.points[-1][1] == 1.0
    runs = []
    for series in last_run.series:
        key = (series.labels.get("suite", ""), series.labels.get("test", ""))
        if key[0] != suite or not key[1] or key not in passed or not series.points:
            continue
        stamp = series.points[-1][1]
        if not math.isfinite(stamp) or stamp <= 0:
            continue
        at = datetime.fromtimestamp(stamp, timezone.utc)
        result = PASSED if passed[key] else FAILED
        runs.append(SmokeRun(suite, key[1], result, at, source=SOURCE))
    return tuple(runs)


def transport_reason(error: requests.RequestException, timeout: float) -> str:
    """A short reason for a request that reached no server."""
    if isinstance(error, requests.Timeout) or _timed_out(error):
        return f"timed out after {timeout:g} s"
    text = str(error)
    if isinstance(error, requests.exceptions.SSLError):
        return "TLS: " + (text.rsplit(":", 1)[-1].strip(" ')\"") or "handshake failed")
    found = _ERRNO.search(text)
    if found:
        return found.group(1).strip().lower()
    return type(error).__name__


# --- the client ----------------------------------------------------------------------------------


class PromQLClient(PrometheusConnect):  # type: ignore[misc]
    """`PrometheusConnect` that hands back the whole answer envelope.

    `custom_query` keeps only `data.result`: it drops the result type, the `warnings` of a
    partial response and the `errorType` of an error envelope, all of which the panel shows.
    The session, auth, TLS and retry setup stay the library's.
    """

    def fetch(self, path: str, params: Mapping[str, str], timeout: float) -> QueryResult:
        """GET `path` with `params`; never raises for what a server or network can do.

        `timeout` bounds the whole answer: requests' own timeout is per read, so a server
        sending a byte at a time would hold the query (and the process's exit) for ever."""
        from urllib3.exceptions import HTTPError as Urllib3Error

        deadline = time.monotonic() + timeout
        try:
            response = self._session.request(
                method=self._method,
                url=f"{self.url}{path}",
                params=dict(params),
                verify=self._session.verify,
                headers=self.headers,
                auth=self.auth,
                cert=self._session.cert,
                timeout=timeout,
                stream=True,
            )
        except requests.RequestException as error:
            return QueryResult(error=transport_reason(error, timeout), reached=False)
        with response:
            chunks: list[bytes] = []
            try:
                while chunk := response.raw.read1(64 * 1024, decode_content=True):
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        reason = f"timed out after {timeout:g} s (the answer kept trickling)"
                        return QueryResult(error=reason, reached=False)
            except (Urllib3Error, OSError) as error:
                return QueryResult(error=transport_reason(
                    requests.ConnectionError(error), timeout), reached=False)  # fmt: skip
        content_type = response.headers.get("content-type", "")
        return parse_answer(response.status_code, content_type, b"".join(chunks))


def connect(section: PrometheusSection, environ: Mapping[str, str] | None = None) -> PromQLClient:
    """A client configured from `[sources.prometheus]`; SecretError when a secret is missing."""
    key = "sources.prometheus"
    token = read_secret(
        f"{key}.bearer_token",
        file=section.bearer_token_file,
        env=section.bearer_token_env,
        environ=environ,
    )
    password = read_secret(
        f"{key}.password", file=section.password_file, env=section.password_env, environ=environ
    )
    if token and section.username:
        raise SecretError(f"{key}: give either a bearer token or username/password, not both")
    if password and not section.username:
        raise SecretError(f"{key}.username: a password is configured but no username")
    if section.insecure and section.ca_bundle:
        raise SecretError(f"{key}: give either ca_bundle or insecure = true, not both")
    session = requests.Session()
    if section.insecure:
        session.verify = False
        # The operator asked for it explicitly; a warning per request would flood the log.
        import urllib3

        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    elif section.ca_bundle:
        session.verify = str(section.ca_bundle)
    headers = {"Authorization": f"Bearer {token}"} if token else None
    auth = (section.username, password or "") if section.username else None
    return PromQLClient(
        url=section.url.rstrip("/"),
        headers=headers,
        auth=auth,
        session=session,
        # No retries under ours: one attempt per query per refresh, bounded by the timeout.
        retry=Retry(total=0, raise_on_status=False),
        timeout=section.timeout.total_seconds(),
    )


# --- the source ----------------------------------------------------------------------------------


@dataclass
class _Known:
    """The last good answer of each by-label query, so one failing does not blank the other."""

    shadow_pass: dict[str, float] = field(default_factory=dict)
    repo_states: dict[str, RepoState] = field(default_factory=dict)
    any: bool = False


class PrometheusSource:
    """Polls `[queries]` and the `promql` gate checks; delivers signals, wave metrics, gate
    readings, history and health.

    A poll that reaches no server turns every signal into an error with the reason (never the
    last number) and the source's health to error; the next poll backs off.
    """

    name = SOURCE

    def __init__(
        self,
        client: PromQLClient,
        queries: Mapping[str, str],
        *,
        refresh: timedelta,
        timeout: timedelta,
        backfill: timedelta,
        gates: Sequence[GateSpec] = (),
        now: Callable[[], datetime] = wall_now,
        smoke_suite: str = "",
        exporter_up: str = "",
    ) -> None:
        self.client = client
        self.queries = dict(queries)
        self.checks = tuple(c for g in gates for c in g.checks if c.kind is CheckKind.PROMQL)
        #: With a suite, the smoke metrics are asked too, at every poll.
        self.smoke_suite = smoke_suite
        smoke = [SMOKE_LAST_RUN, SMOKE_SUCCESS] if smoke_suite else []
        #: The `up` series of the scrape job behind the KPIs: a rate keeps its last value
        #: for its whole window after the exporter stops, so the KPIs' freshness is judged
        #: by whether the exporter is still scraped, not by the numbers.
        self.exporter_up = exporter_up
        #: Every expression asked at a poll, each once: a check may reuse a query's.
        self.expressions = tuple(
            dict.fromkeys(
                [
                    *self.queries.values(),
                    *(c.expr for c in self.checks),
                    *smoke,
                    *([exporter_up] if exporter_up else []),
                ]
            )
        )
        self.refresh = refresh
        self.timeout = timeout
        self.backfill = backfill
        self.now = now
        self.failures = 0
        self.polls = 0
        self._backfilled = backfill <= timedelta(0)
        self._known = _Known()
        #: When a poll last reached a server: where a gap after an outage begins.
        self._last_reached: datetime | None = None

    @classmethod
    def from_config(
        cls,
        section: PrometheusSection,
        queries: QueriesSection,
        environ: Mapping[str, str] | None = None,
        gates: Sequence[GateSpec] = (),
        smoke_suite: str = "",
    ) -> PrometheusSource:
        return cls(
            connect(section, environ),
            queries.model_dump(),
            refresh=section.refresh,
            timeout=section.timeout,
            backfill=section.backfill,
            gates=gates,
            smoke_suite=smoke_suite,
            exporter_up=section.exporter_up,
        )

    async def run(self, deliver: Deliver) -> None:
        # One thread per expression, so that a refresh is as slow as its slowest query only
        # (asyncio.to_thread's shared pool has cpu+4 threads, fewer than the queries).
        pool = ThreadPoolExecutor(len(self.expressions) or 1, thread_name_prefix="prometheus")
        try:
            while True:
                updates, reached = await self.poll(pool)
                self.failures = 0 if reached else self.failures + 1
                delay = self.delay()
                if not reached:
                    last = updates[-1]
                    assert isinstance(last, SourceHealth)
                    retry_at = last.at + timedelta(seconds=delay)
                    updates[-1] = replace(
                        last, address=address_of(self.client.url), retry_at=retry_at
                    )
                deliver(updates)
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            # The session is closed only when the app stops this source: after any other
            # end the supervisor runs it again, on the same client.
            self.client.close()
            raise
        finally:
            pool.shutdown(wait=False, cancel_futures=True)

    def kpi_range(
        self, name: str, start: datetime, end: datetime, step: timedelta
    ) -> tuple[tuple[tuple[datetime, float], ...], str]:
        """A signal's points from `start` to `end`, one range query; and why there are none,
        when there are none. Blocking: for a thread worker (a chart), never the event loop."""
        expr = self.queries.get(name)
        if expr is None:
            return (), f"no query for {name}"
        params = {
            "query": expr,
            "start": f"{start.timestamp():.3f}",
            "end": f"{end.timestamp():.3f}",
            "step": f"{step.total_seconds():g}",
            "timeout": f"{self.timeout.total_seconds():g}s",
        }
        result = self.client.fetch("/api/v1/query_range", params, self.timeout.total_seconds())
        if result.error:
            return (), result.error
        points = history_of(result)
        if points is None:
            return (), f"{len(result.series)} series where one was expected"
        return points, ""

    @property
    def address(self) -> str:
        return address_of(self.client.url)

    def delay(self) -> float:
        """Seconds until the next poll: the refresh, or a jittered backoff after failures."""
        refresh = self.refresh.total_seconds()
        if self.failures == 0:
            return refresh
        cap = max(refresh, min(MAX_BACKOFF.total_seconds(), BACKOFF_REFRESHES * refresh))
        backoff = min(cap, refresh * 2 ** (self.failures - 1))
        # Jitter, so that many control rooms do not hit a recovering server in step.
        return float(backoff * random.uniform(0.8, 1.0))

    async def _ask(
        self, pool: ThreadPoolExecutor, path: str, params: Sequence[Mapping[str, str]]
    ) -> list[QueryResult]:
        loop = asyncio.get_running_loop()
        timeout = self.timeout.total_seconds()
        futures = [loop.run_in_executor(pool, self.client.fetch, path, p, timeout) for p in params]
        return list(await asyncio.gather(*futures))

    async def poll(self, pool: ThreadPoolExecutor) -> tuple[list[Update], bool]:
        """One refresh: every query at once. Returns the updates and whether a server answered."""
        now = self.now()
        self.polls += 1
        updates: list[Update] = []
        if not self._backfilled:
            updates += await self._history(pool, now)
        names = list(self.queries)
        server_timeout = f"{self.timeout.total_seconds():g}s"
        params = [
            {"query": expr, "time": f"{now.timestamp():.3f}", "timeout": server_timeout}
            for expr in self.expressions
        ]
        answers = await self._ask(pool, "/api/v1/query", params)
        by_expr = dict(zip(self.expressions, answers, strict=True))
        results = {name: by_expr[self.queries[name]] for name in names}
        reached = [r for r in answers if r.reached]
        if reached:
            since, self._last_reached = self._last_reached, now
            if self.failures and since is not None and now - since <= GAP_LIMIT:
                updates += await self._gap(pool, since, now)
        if not reached:
            reason = answers[0].error if answers else "no queries"
            for name in names:
                if name not in BY_LABEL:
                    signal = Signal.failed(name, SIGNAL_UNITS.get(name, ""), now, reason, SOURCE)
                    updates.append(SignalUpdate(signal))
            if self.checks:
                failed = QueryResult(error=reason, reached=False)
                readings = tuple(check_reading_of(c, failed, now) for c in self.checks)
                updates.append(GateReadingsUpdate(SOURCE, readings, now))
            updates.append(SourceHealth(SOURCE, HealthState.ERROR, now, reason))
            return updates, False
        down = exporters_down(by_expr[self.exporter_up]) if self.exporter_up else None
        stale = f"exporter down: {', '.join(down)}" if down else ""
        for name, result in results.items():
            if name not in BY_LABEL:
                unit = SIGNAL_UNITS.get(name, "")
                signal = signal_of(name, unit, result, now)
                if stale and signal.status is SignalStatus.OK:
                    # Prometheus answers with what it still holds; the exporter does not.
                    signal = replace(signal, status=SignalStatus.STALE, reason=stale)
                updates.append(SignalUpdate(signal))
        waves = self._wave_metrics(results, now)
        if waves is not None:
            updates.append(waves)
        if self.checks:
            readings = tuple(check_reading_of(c, by_expr[c.expr], now) for c in self.checks)
            if stale:
                readings = tuple(
                    replace(r, state=CheckState.UNKNOWN, reason=stale)
                    if r.state is not CheckState.UNKNOWN
                    else r
                    for r in readings
                )
            updates.append(GateReadingsUpdate(SOURCE, readings, now))
        if self.smoke_suite:
            updates += self._smoke(by_expr[SMOKE_LAST_RUN], by_expr[SMOKE_SUCCESS], now)
        if down is not None:
            state = HealthState.ERROR if down else HealthState.CONNECTED
            reason = f"{', '.join(down)} down ({self.exporter_up})" if down else ""
            updates.append(SourceHealth(EXPORTER, state, now, reason))
        warnings = sorted({w for r in reached for w in r.warnings})
        reason = "partial response: " + "; ".join(warnings) if warnings else ""
        updates.append(SourceHealth(SOURCE, HealthState.CONNECTED, now, reason))
        return updates, True

    def _smoke(self, last_run: QueryResult, success: QueryResult, now: datetime) -> list[Update]:
        """The smoke runs, when both metrics were answered: even with no series, as a
        suite that never ran is never passed, and `check` need not wait for results that
        Prometheus says do not exist."""
        if not (last_run.reached and success.reached) or last_run.error or success.error:
            return []
        runs = smoke_runs_of(last_run, success, self.smoke_suite)
        return [VerificationUpdate(SOURCE, now, smoke=runs)]

    def _wave_metrics(
        self, results: Mapping[str, QueryResult], now: datetime
    ) -> WaveMetricsUpdate | None:
        shadow, states = results.get(SHADOW_PASS_BY_WAVE), results.get(REPO_STATES)
        known = self._known
        if shadow is not None and shadow.reached and not shadow.error:
            known.shadow_pass, known.any = shadow_pass_of(shadow), True
        if states is not None and states.reached and not states.error:
            known.repo_states, known.any = repo_states_of(states), True
        if not known.any:
            return None
        return WaveMetricsUpdate(SOURCE, dict(known.repo_states), dict(known.shadow_pass), now)

    def _step(self, span: float, points: int) -> float:
        """A range query's step: `points` over `span`, never finer than the poll nor 1 s."""
        return max(self.refresh.total_seconds(), span / points, 1.0)

    async def _ranges(
        self, pool: ThreadPoolExecutor, start: float, now: datetime, step: float
    ) -> tuple[list[str], list[QueryResult]]:
        """Each signal's readings from `start` (epoch seconds) to `now`, one range query
        each; the signals and their answers, in order."""
        names = [n for n in self.queries if n not in BY_LABEL]
        params = [
            {
                "query": self.queries[n],
                "start": f"{start:.3f}",
                "end": f"{now.timestamp():.3f}",
                "step": f"{step:g}",
            }
            for n in names
        ]
        return names, await self._ask(pool, "/api/v1/query_range", params)

    async def _gap(self, pool: ThreadPoolExecutor, since: datetime, now: datetime) -> list[Update]:
        """Each signal's readings between the last poll that was answered and this one, as
        Prometheus recorded them while it could not be asked."""
        span = (now - since).total_seconds()
        step = self._step(span, GAP_POINTS)
        names, results = await self._ranges(pool, since.timestamp() + step, now, step)
        updates: list[Update] = []
        for name, result in zip(names, results, strict=True):
            points = history_of(result)
            if points:
                updates.append(GapBackfill(name, points))
        return updates

    async def _history(self, pool: ThreadPoolExecutor, now: datetime) -> list[Update]:
        """Each signal's recent past, from one range query each, so sparklines start full."""
        span = self.backfill.total_seconds()
        step = self._step(span, BACKFILL_POINTS)
        names, results = await self._ranges(pool, now.timestamp() - span, now, step)
        if not any(r.reached for r in results):
            return []  # asked again at the next poll
        self._backfilled = True
        updates: list[Update] = []
        for name, result in zip(names, results, strict=True):
            points = history_of(result)
            if points:
                updates.append(HistoryBackfill(name, points))
        return updates
