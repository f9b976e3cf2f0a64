"""The Kubernetes source: Argo Rollouts of Maestro, their AnalysisRuns, and the shared
`maestro-cutover` ConfigMap, listed and then watched; and the gate checks the cluster answers,
read every `refresh`.

The official client blocks, so each watch runs in its own daemon thread that only posts
what it read back to the event loop; the loop owns the state and delivers updates. A watch
asks for bookmarks, ends every `timeout_seconds` and resumes from the last resourceVersion
it saw, so a dropped connection loses nothing; a `410 Expired` means that version is gone,
and the watch lists again before watching on. Failures back off exponentially.

The `kubernetes` package is imported only when this source is built (`build_kubernetes`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from ..cutover.acknowledgements import Acknowledgements, acknowledgements
from ..cutover.argo import rollout_status
from ..cutover.cutover_configmap import freeze_state, read_wave_statuses, signoffs
from ..cutover.freeze import FreezeState
from ..cutover.gates import CheckReading, GateSpec, Signoffs
from ..cutover.payloads import PayloadRejected
from ..cutover.permissions import Permissions
from ..cutover.playbook import NO_RUN, read_playbook_data
from ..cutover.rollouts import RolloutPhase, RolloutStatus
from ..cutover.routing import Routing, read_routing_data
from ..cutover.updates import (
    AcknowledgementsUpdate,
    FreezeUpdate,
    GateReadingsUpdate,
    HealthState,
    PayloadDiagnostics,
    PermissionsUpdate,
    PlaybookUpdate,
    RejectedPayload,
    RolloutsUpdate,
    RoutingUpdate,
    SignoffsUpdate,
    SourceHealth,
    Update,
    WavesUpdate,
)
from .base import Deliver
from .cluster_checks import ClusterChecks
from .kubeconfig import api_client, api_error, core_get

if TYPE_CHECKING:
    from ..cutover.config import Config, KubernetesSection
    from .kubernetes_effector import KubernetesEffector

GROUP, VERSION = "argoproj.io", "v1alpha1"
ROLLOUTS, ANALYSISRUNS, CONFIGMAP = "rollouts", "analysisruns", "configmap"
#: Only the step analyses matter to the board; background and experiment runs do not.
STEP_RUNS = "rollout-type=Step"

Obj = dict[str, Any]
#: Seconds after which the ConfigMap, gate checks and access review start even when the
#: rollouts streams have not all answered (a slow cluster).
LATER_AFTER = 2.0
#: Put in the watch queue at LATER_AFTER, so the loop looks again then.
_WAKE = object()


@dataclass(frozen=True)
class WatchTuning:
    """How the watches talk to the API server. Tests shorten every interval."""

    #: The server ends each watch after this long; the source then watches on.
    timeout_seconds: int = 30
    #: Connect timeout; the read timeout is the watch's own timeout plus this.
    request_timeout: float = 10.0
    backoff_min: float = 0.5
    backoff_max: float = 30.0


@dataclass(frozen=True)
class _Listed:
    stream: tuple[str, str]
    items: tuple[Obj, ...]


@dataclass(frozen=True)
class _Changed:
    stream: tuple[str, str]
    type: str
    obj: Obj


@dataclass(frozen=True)
class _Alive:
    stream: tuple[str, str]


@dataclass(frozen=True)
class _Failed:
    stream: tuple[str, str]
    reason: str


@dataclass(frozen=True)
class _Readings:
    readings: tuple[CheckReading, ...]
    at: datetime


@dataclass
class _Streams:
    """What the loop knows, by stream: objects by name, and each stream's last word."""

    objects: dict[tuple[str, str], dict[str, Obj]] = field(default_factory=dict)
    failures: dict[tuple[str, str], str] = field(default_factory=dict)
    listed: set[tuple[str, str]] = field(default_factory=set)


class KubernetesSource:
    """Watches Argo Rollouts, their step AnalysisRuns and the cutover ConfigMap."""

    name = "kubernetes"

    def __init__(
        self,
        client: Any,
        section: KubernetesSection,
        *,
        tuning: WatchTuning | None = None,
        review: Callable[[], Permissions] | None = None,
        gates: Sequence[GateSpec] = (),
    ) -> None:
        self.client = client
        self.section = section
        self.tuning = tuning or WatchTuning(
            timeout_seconds=max(1, int(section.refresh.total_seconds()))
        )
        self._review = review
        checks = [check for gate in gates for check in gate.checks]
        self.checks = ClusterChecks(client, checks, self.name, timeout=self.tuning.request_timeout)
        self._stop = threading.Event()
        self._responses: set[Any] = set()
        self._lock = threading.Lock()
        self._state = _Streams()
        self._configmap_reads = 0
        self._configmap_rejected: Counter[str] = Counter()
        self._configmap_recent: deque[RejectedPayload] = deque(maxlen=20)
        #: Each rollout's status, with the object and the namespace's runs it was made from.
        self._made: dict[tuple[str, str], tuple[Obj, tuple[Obj, ...], RolloutStatus]] = {}

    # ---- the loop side ------------------------------------------------------------------

    async def run(self, deliver: Deliver) -> None:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[object] = asyncio.Queue()
        # A fresh event each run: threads of a run that ended keep the set one, and end,
        # even when the supervisor has already started the next run.
        stop = self._stop = threading.Event()

        def post(item: object) -> None:
            # Called from the watch threads; the queue belongs to the loop.
            if not loop.is_closed():
                with contextlib.suppress(RuntimeError):
                    loop.call_soon_threadsafe(queue.put_nowait, item)

        deliver([SourceHealth(self.name, HealthState.CONNECTING, _now())])
        threads = [
            threading.Thread(
                target=self._watch,
                args=(stream, post, stop),
                daemon=True,
                name=f"kube-watch-{stream[0]}-{stream[1]}",
            )
            for stream in self.streams()
        ]
        # The rollouts first: the ConfigMap's stream, the gate checks and the access review
        # load the client's core API (CoreV1Api, 0.4 s of CPU holding the GIL), which would
        # hold the rollouts board up. They start once every rollouts stream has answered,
        # or after LATER_AFTER whatever the rollouts do.
        later = [t for t in threads if not t.name.startswith(f"kube-watch-{ROLLOUTS}-")]
        later = [t for t in later if not t.name.startswith(f"kube-watch-{ANALYSISRUNS}-")]
        if self._review is not None:
            later.append(
                threading.Thread(
                    target=self._permissions, args=(post,), daemon=True, name="kube-permissions"
                )
            )
        if self.checks.checks:
            later.append(
                threading.Thread(
                    target=self._probe, args=(post, stop), daemon=True, name="kube-gates"
                )
            )
        for thread in threads:
            if thread not in later:
                thread.start()
        start_later_by = loop.time() + LATER_AFTER
        # A wake-up in the queue at LATER_AFTER rather than a `wait_for` on it, which on
        # Python 3.11 can swallow the task's cancellation when an item comes at that moment.
        waking = loop.call_later(LATER_AFTER, queue.put_nowait, _WAKE)
        try:
            while True:
                if later and (self._answered(ROLLOUTS) or loop.time() >= start_later_by):
                    for thread in later:
                        thread.start()
                    later = []
                batch = [await queue.get()]
                while not queue.empty():
                    batch.append(queue.get_nowait())
                batch = [item for item in batch if item is not _WAKE]
                updates = self._take(batch)
                if updates:
                    deliver(updates)
        finally:
            waking.cancel()
            self.stop()

    def stop(self) -> None:
        """End every watch now: the blocked reads are woken by shutting their sockets."""
        self._stop.set()
        with self._lock:
            responses = list(self._responses)
        for response in responses:
            _shut(response)

    def streams(self) -> list[tuple[str, str]]:
        section = self.section
        streams = [(ROLLOUTS, ns) for ns in section.namespaces]
        streams += [(ANALYSISRUNS, ns) for ns in section.namespaces]
        streams.append((CONFIGMAP, section.configmap_namespace))
        return streams

    def _take(self, batch: Sequence[object]) -> list[Update]:
        """Fold what the threads read into the state; the updates it makes, coalesced."""
        state = self._state
        touched: set[str] = set()
        health_changed = False
        extra: list[Update] = []
        readings: list[Update] = []
        for item in batch:
            if isinstance(item, PermissionsUpdate):
                # Not yet a member of `Update`: the lead adds it to the union (see report).
                extra.append(cast(Update, item))
                continue
            if isinstance(item, _Readings):
                readings.append(GateReadingsUpdate(self.name, item.readings, item.at))
                # The room takes a delivery as word that the source is up; the health sent
                # after it keeps an error the watches reported while the cluster is down.
                health_changed = True
                continue
            if not isinstance(item, _Listed | _Changed | _Alive | _Failed):
                continue
            stream = item.stream
            if isinstance(item, _Failed):
                if state.failures.get(stream) != item.reason:
                    health_changed = True
                    touched.add(stream[0])  # a rollouts stream's error is a row on the board
                state.failures[stream] = item.reason
                continue
            if stream in state.failures:
                del state.failures[stream]
                health_changed = True
            if isinstance(item, _Alive):
                health_changed = True  # a heartbeat: the room hears the source is current
                continue
            objects = state.objects.setdefault(stream, {})
            if isinstance(item, _Listed):
                state.listed.add(stream)
                objects.clear()
                objects.update({_name(obj): obj for obj in item.items})
                health_changed = True
            elif item.type == "DELETED":
                objects.pop(_name(item.obj), None)
            else:
                objects[_name(item.obj)] = item.obj
            touched.add(stream[0])
        updates: list[Update] = []
        now = _now()
        if touched & {ROLLOUTS, ANALYSISRUNS} and self._answered(ROLLOUTS):
            updates.append(RolloutsUpdate(self.name, self.rollouts(), now))
        if CONFIGMAP in touched:
            updates.extend(self.cutover_state(now))
        updates += readings
        if health_changed:
            updates.append(self.health(now))
        return updates + extra

    def _answered(self, kind: str) -> bool:
        """Every stream of `kind` has been listed or has failed: enough to show the board,
        so one forbidden namespace does not blank the others."""
        state = self._state
        return all(s in state.listed or s in state.failures for s in self.streams() if s[0] == kind)

    def rollouts(self) -> tuple[Any, ...]:
        objects = self._state.objects
        statuses = []
        made = self._made
        for namespace in self.section.namespaces:
            runs = tuple(objects.get((ANALYSISRUNS, namespace), {}).values())
            for obj in objects.get((ROLLOUTS, namespace), {}).values():
                # A rollout's status is made again only when it or its namespace's runs
                # changed (each event brings new objects): one change among 200 rollouts
                # is one status made, and the others stay the objects the room holds.
                key = (namespace, _name(obj))
                cached = made.get(key)
                if cached is None or cached[0] is not obj or not _same(cached[1], runs):
                    cached = made[key] = (obj, runs, rollout_status(obj, runs))
                statuses.append(cached[2])
            stream = (ROLLOUTS, namespace)
            failure = self._state.failures.get(stream)
            if failure and stream not in self._state.listed:
                statuses.append(_error_row(namespace, failure))
        return tuple(sorted(statuses, key=lambda s: s.key))

    def cutover_state(self, now: datetime) -> list[Update]:
        """The freeze, the recorded wave states and the sign-offs from the ConfigMap.
        Repository states and shadow pass rates come from Prometheus, so they are left empty
        here."""
        stream = (CONFIGMAP, self.section.configmap_namespace)
        configmap = self._state.objects.get(stream, {}).get(self.section.configmap_name)
        if configmap is None:
            return [
                FreezeUpdate(self.name, FreezeState(False), now),
                WavesUpdate(self.name, (), {}, {}, now),
                SignoffsUpdate(self.name, Signoffs(), now),
                AcknowledgementsUpdate(self.name, Acknowledgements(), now),
                PlaybookUpdate(self.name, NO_RUN, now),
                RoutingUpdate(self.name, Routing(), now),
            ]
        data = configmap.get("data") or {}
        self._check_strings(data)
        version = str(configmap.get("metadata", {}).get("resourceVersion", ""))
        run, run_problem = read_playbook_data(data, version, now)
        routing, routing_problem = read_routing_data(data, version, now)
        waves, wave_problems = read_wave_statuses(data, version)
        diagnostics = self._configmap_diagnostics(
            data,
            now,
            (
                ("playbook", run_problem),
                ("routing", routing_problem),
                *(("waves", problem) for problem in wave_problems),
            ),
        )
        return [
            *diagnostics,
            FreezeUpdate(self.name, freeze_state(data, version), now),
            WavesUpdate(self.name, waves, {}, {}, now),
            SignoffsUpdate(self.name, signoffs(data, version), now),
            AcknowledgementsUpdate(self.name, acknowledgements(data, version), now),
            PlaybookUpdate(self.name, run, now),
            RoutingUpdate(self.name, routing, now),
        ]

    def _configmap_diagnostics(
        self,
        data: dict[str, str],
        now: datetime,
        problems: Sequence[tuple[str, PayloadRejected | None]],
    ) -> list[Update]:
        """A ConfigMap key the limits refuse (anyone with patch rights may write it) is
        counted and shown in the diagnostics view, by its reason, as a topic's would be."""
        where = f"ConfigMap {self.section.configmap_namespace}/{self.section.configmap_name}"
        self._configmap_reads += 1
        for key, rejected in problems:
            if rejected is None:
                continue
            self._configmap_rejected[rejected.reason] += 1
            excerpt = data.get(key, "")[:120]
            self._configmap_recent.append(
                RejectedPayload(
                    f"{where} data.{key}", rejected.reason, rejected.detail, excerpt, now
                )
            )
        if not self._configmap_rejected:
            return []
        rejected_reads = sum(self._configmap_rejected.values())
        return [
            PayloadDiagnostics(
                self.name,
                self._configmap_reads,
                max(0, self._configmap_reads - rejected_reads),
                dict(self._configmap_rejected),
                tuple(self._configmap_recent),
                now,
            )
        ]

    def _check_strings(self, data: object) -> None:
        """A ConfigMap's data is strings only; anything else is named, not misread. The
        error ends this run, and the supervisor shows it and runs the source again."""
        where = f"ConfigMap {self.section.configmap_namespace}/{self.section.configmap_name}"
        if not isinstance(data, dict):
            raise ValueError(f"{where}: data is {type(data).__name__}, not an object")
        for key, value in data.items():
            if not isinstance(value, str):
                kind = type(value).__name__
                raise ValueError(f"{where}: data.{key} is {kind}, not a string")

    def health(self, now: datetime) -> SourceHealth:
        failures = self._state.failures
        if failures:
            stream = sorted(failures)[0]
            return SourceHealth(self.name, HealthState.ERROR, now, failures[stream])
        if all(s in self._state.listed for s in self.streams()):
            return SourceHealth(self.name, HealthState.CONNECTED, now)
        return SourceHealth(self.name, HealthState.CONNECTING, now)

    # ---- the thread side ----------------------------------------------------------------

    def _list_function(self, stream: tuple[str, str]) -> tuple[Callable[..., Any], dict[str, str]]:
        from kubernetes import client

        kind, namespace = stream
        if kind == CONFIGMAP:
            selector = {"field_selector": f"metadata.name={self.section.configmap_name}"}
            return core_get(self.client, f"/api/v1/namespaces/{namespace}/configmaps"), selector
        custom = client.CustomObjectsApi(self.client)
        function = partial(custom.list_namespaced_custom_object, GROUP, VERSION, namespace, kind)
        label = self.section.label_selector if kind == ROLLOUTS else STEP_RUNS
        return function, ({"label_selector": label} if label else {})

    def _watch(
        self, stream: tuple[str, str], post: Callable[[object], None], stop: threading.Event
    ) -> None:
        """List, then watch from the list's resourceVersion, until the source stops."""
        tuning = self.tuning
        function, selector = self._list_function(stream)
        timeouts = (tuning.request_timeout, tuning.timeout_seconds + tuning.request_timeout)
        version: str | None = None
        delay = tuning.backoff_min
        while not stop.is_set():
            connected = False
            verb = "list" if version is None else "watch"
            try:
                if version is None:
                    response = function(
                        **selector, _preload_content=False, _request_timeout=timeouts
                    )
                    listing = _json(response)
                    version = str(listing.get("metadata", {}).get("resourceVersion", ""))
                    post(_Listed(stream, tuple(listing.get("items") or ())))
                verb = "watch"
                response = function(
                    **selector,
                    watch=True,
                    resource_version=version,
                    allow_watch_bookmarks=True,
                    timeout_seconds=tuning.timeout_seconds,
                    _preload_content=False,
                    _request_timeout=timeouts,
                )
                connected = True
                post(_Alive(stream))
                delay = tuning.backoff_min
                version = self._follow(stream, response, version, post, stop)
                # The server ended the watch at its timeout: watch on from `version`.
            except _Expired:
                version = None  # that version is gone: list again, then watch on
            except Exception as error:
                if stop.is_set():
                    return
                if verb == "watch" and api_error(error)[0] == 410:
                    # The server refused the version with the status itself rather than an
                    # ERROR event (some servers and proxies do): the same answer, list again.
                    version = None
                    continue
                if connected and not isinstance(error, _HttpError):
                    # A watch cut mid-stream (a proxy's idle timeout, a restart) is routine:
                    # watch again shortly from the last version; nothing is lost.
                    if stop.wait(tuning.backoff_min):
                        return
                    continue
                status, message = api_error(error)
                post(_Failed(stream, _reason(stream, verb, status, message, error)))
                # Waiting on the stop event, so stopping never waits out a backoff.
                if stop.wait(delay):
                    return
                delay = min(delay * 2, tuning.backoff_max)

    def _follow(
        self,
        stream: tuple[str, str],
        response: Any,
        version: str,
        post: Callable[[object], None],
        stop: threading.Event,
    ) -> str:
        """Read one watch response to its end; the last resourceVersion seen."""
        from kubernetes.watch.watch import iter_resp_lines

        status = int(getattr(response, "status", 200))
        if not 200 <= status <= 299:
            body = response.data
            response.release_conn()
            if status == 410:
                raise _Expired(str(body[:200]))  # as an ERROR event would say it
            raise _HttpError(status, body)
        with self._lock:
            self._responses.add(response)
        try:
            if stop.is_set():
                return version
            for line in iter_resp_lines(response):
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    if obj.get("code") == 410:
                        raise _Expired(obj.get("message", ""))
                    raise _HttpError(int(obj.get("code") or 500), json.dumps(obj).encode())
                seen = (obj.get("metadata") or {}).get("resourceVersion")
                if seen:
                    version = str(seen)
                if kind == "BOOKMARK":
                    post(_Alive(stream))
                else:
                    post(_Changed(stream, str(kind), obj))
            return version
        finally:
            with self._lock:
                self._responses.discard(response)
            response.release_conn()

    def _probe(self, post: Callable[[object], None], stop: threading.Event) -> None:
        """The cluster's gate checks: read at once, then every `refresh`, until stopped."""
        interval = max(self.section.refresh.total_seconds(), 0.05)
        while not stop.is_set():
            readings = self.checks.readings()
            post(_Readings(readings, readings[0].at if readings else _now()))
            if stop.wait(interval):
                return

    def _permissions(self, post: Callable[[object], None]) -> None:
        assert self._review is not None
        try:
            permissions = self._review()
        except Exception as error:
            status, message = api_error(error)
            permissions = Permissions(error=f"access review failed: {status or ''} {message}")
        post(PermissionsUpdate(self.name, permissions, _now()))


class _Expired(Exception):
    """The watch's resourceVersion is older than the server keeps (410 Expired)."""


class _HttpError(Exception):
    """A non-2xx answer to a streamed request, shaped as the client's ApiException."""

    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"{status}")
        self.status = status
        self.body = body


def _json(response: Any) -> Obj:
    status = int(getattr(response, "status", 200))
    if not 200 <= status <= 299:
        raise _HttpError(status, response.data)
    value = json.loads(response.data)
    return value if isinstance(value, dict) else {}


def _shut(response: Any) -> None:
    """Wake a thread blocked reading this response by shutting its socket."""
    with contextlib.suppress(Exception):
        sock = getattr(getattr(response, "connection", None), "sock", None)
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)


def _same(these: Sequence[Obj], those: Sequence[Obj]) -> bool:
    return len(these) == len(those) and all(a is b for a, b in zip(these, those, strict=True))


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name", ""))


def _reason(stream: tuple[str, str], verb: str, status: int, message: str, error: Exception) -> str:
    """A failed list or watch in the cutover's words: what was refused, or what is missing."""
    kind, namespace = stream
    what = "configmaps" if kind == CONFIGMAP else kind
    if status == 403:
        qualified = what if kind == CONFIGMAP else f"{what}.{GROUP}"
        return f"forbidden: {verb} {qualified} in {namespace}"
    if status == 404 and kind != CONFIGMAP:
        # Only a resource the server does not serve makes a list 404: the CRD is missing.
        return (
            f"Argo Rollouts ({GROUP}/{VERSION} {kind}) is not installed: the cluster serves"
            f" no {kind} in {GROUP}/{VERSION}"
        )
    if status == 401:
        return f"unauthorized: check the kubeconfig's credentials ({message})"
    if status:
        return f"{what} in {namespace}: {status} {message}"
    return f"{what} in {namespace}: {type(error).__name__}: {error}"[:200]


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _error_row(namespace: str, reason: str) -> RolloutStatus:
    """The board's row for a namespace whose rollouts cannot be read: shown, never acted on
    (it counts as aborted, so no action plans it)."""
    return RolloutStatus(
        namespace=namespace,
        name="—",
        phase=RolloutPhase.DEGRADED,
        step=0,
        steps=0,
        weight=0,
        message=reason,
        aborted=True,
    )


def build_kubernetes(
    config: Config, context: str | None = None, *, tuning: WatchTuning | None = None
) -> tuple[KubernetesSource, KubernetesEffector]:
    """The source and effector for `[sources.kubernetes]`, sharing one API client.

    `context` (the `--context` flag) wins over `sources.kubernetes.context`. Raises
    `KubernetesConfigError` with a clear message when the cluster cannot be reached.
    """
    from ..cutover.config import gate_specs
    from .kubernetes_effector import KubernetesEffector

    section = config.sources.kubernetes
    client = api_client(section.kubeconfig, context or section.context)
    effector = KubernetesEffector(client, section)
    source = KubernetesSource(
        client, section, tuning=tuning, review=effector.review_access, gates=gate_specs(config)
    )
    return source, effector
