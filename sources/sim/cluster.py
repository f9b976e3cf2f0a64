"""The simulated Maestro cluster's objects that the Go/No-Go checks look for.

The Gatekeeper constraints, the Kyverno image verification policy, the ExternalSecret, the
SLO AnalysisTemplate, the runbooks ConfigMap, the rollouts with their `intelgraph.dev`
annotations, and the daily backup CronJobs, shaped as the Kubernetes API returns them, so
the checks are judged by the same functions a real cluster's answers are.

A backup CronJob runs once a day at its scheduled time and takes a few minutes; a run fails
when it starts inside one of the scenario's failure windows. `status.lastSuccessfulTime` is
the end of the latest run that succeeded, a function of the simulated now, as the CronJob
controller would have written it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ...cutover.cutover_configmap import rfc3339
from ...cutover.gates import ObjectRef
from .rollouts import SimRollout

#: How many days back a CronJob's last successful run is looked for.
HISTORY_DAYS = 60

Object = dict[str, Any]


def _object(
    api_version: str,
    kind: str,
    name: str,
    namespace: str = "",
    *,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    **rest: Any,
) -> Object:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    if labels:
        metadata["labels"] = dict(labels)
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": api_version, "kind": kind, "metadata": metadata, **rest}


MAESTRO = {"app.kubernetes.io/part-of": "maestro"}
#: (group, plural) and the object, for what does not change during a simulation.
STATIC: tuple[tuple[str, str, Object], ...] = (
    *(
        ("constraints.gatekeeper.sh", plural,
         _object("constraints.gatekeeper.sh/v1beta1", kind, name,
                 spec={"enforcementAction": "deny"}))
        for name, plural, kind in (
            ("required-imagedigest", "k8srequiredimagedigest", "K8sRequiredImageDigest"),
            ("disallow-latest", "k8sdisallowedtags", "K8sDisallowedTags"),
            ("required-limits", "k8scontainerlimits", "K8sContainerLimits"),
            ("required-annotations-values", "k8srequiredannotations",
             "K8sRequiredAnnotations"),
        )
    ),
    ("kyverno.io", "clusterpolicies",
     _object("kyverno.io/v1", "ClusterPolicy", "verify-maestro-images",
             spec={"validationFailureAction": "Enforce"})),
    ("external-secrets.io", "externalsecrets",
     _object("external-secrets.io/v1beta1", "ExternalSecret", "maestro-secrets",
             "maestro-system", labels=MAESTRO)),
    ("argoproj.io", "analysistemplates",
     _object("argoproj.io/v1alpha1", "AnalysisTemplate", "maestro-slo", "maestro-system",
             labels=MAESTRO)),
    ("", "configmaps",
     _object("v1", "ConfigMap", "maestro-runbooks", "maestro-system", labels=MAESTRO,
             data={"index.md": "perf regression, backlog, authz drift, cost spike, outage"})),
)  # fmt: skip


# --- label selectors -------------------------------------------------------------------------

_SET = re.compile(
    r"^\s*(!?)([\w./-]+)\s*(?:(==|=|!=)\s*([\w./-]*)|\s(in|notin)\s*\(([^)]*)\))?\s*$"
)


def _terms(selector: str) -> list[str]:
    """Split on the commas that are not inside a set's parentheses."""
    terms, depth, start = [], 0, 0
    for i, char in enumerate(selector):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            terms.append(selector[start:i])
            start = i + 1
    terms.append(selector[start:])
    return [t for t in terms if t.strip()]


def label_selector(selector: str) -> Callable[[Mapping[str, str]], bool]:
    """A label selector (`a=b,c!=d,e in (f,g),!h`) read once, as a test of labels;
    ValueError when it cannot be read, as the API server would refuse it."""
    # Each term as (key, the values it allows or None for any, whether the key must match).
    terms: list[tuple[str, frozenset[str] | None, bool]] = []
    for term in _terms(selector):
        found = _SET.match(term)
        if found is None:
            raise ValueError(f"unable to parse label selector term {term.strip()!r}")
        negated, key, op, value, set_op, values = found.groups()
        if negated and (op or set_op):
            raise ValueError(f"unable to parse label selector term {term.strip()!r}")
        if set_op:
            members = frozenset(v.strip() for v in values.split(","))
            terms.append((key, members, set_op == "in"))
        elif op:
            terms.append((key, frozenset((value,)), op != "!="))
        else:
            terms.append((key, None, not negated))

    def selects(labels: Mapping[str, str]) -> bool:
        for key, allowed, wanted in terms:
            if allowed is None:
                if (key in labels) != wanted:
                    return False
            elif (labels.get(key) in allowed) != wanted:
                return False
        return True

    return selects


# --- backups ---------------------------------------------------------------------------------


@dataclass
class BackupCronJob:
    """A daily backup CronJob (`minute hour * * *`) and the windows its runs fail in."""

    namespace: str
    name: str
    hour: int
    minute: int
    runs_for: timedelta
    failing: list[tuple[datetime, datetime]] = field(default_factory=list)

    @property
    def schedule(self) -> str:
        return f"{self.minute} {self.hour} * * *"

    def _runs(self, now: datetime) -> Iterable[datetime]:
        """Scheduled start times at or before `now`, latest first."""
        today = now.replace(hour=self.hour, minute=self.minute, second=0, microsecond=0)
        first = today if today <= now else today - timedelta(days=1)
        for days in range(HISTORY_DAYS):
            yield first - timedelta(days=days)

    def succeeded(self, started: datetime) -> bool:
        return not any(start <= started < end for start, end in self.failing)

    def status(self, now: datetime) -> dict[str, str]:
        status: dict[str, str] = {}
        for started in self._runs(now):
            status.setdefault("lastScheduleTime", rfc3339(started))
            ended = started + self.runs_for
            if ended <= now and self.succeeded(started):
                status["lastSuccessfulTime"] = rfc3339(ended)
                break
        return status

    def object(self, now: datetime) -> Object:
        return _object(
            "batch/v1", "CronJob", self.name, self.namespace, labels=MAESTRO,
            spec={"schedule": self.schedule, "timeZone": "Etc/UTC"}, status=self.status(now),
        )  # fmt: skip


#: The DR jobs of `deploy/cron/`: the database at 02:00 UTC, the config at 02:30, and how
#: long each runs.
BACKUPS = {
    "maestro-db-backup": (2, 0, timedelta(minutes=14)),
    "maestro-config-backup": (2, 30, timedelta(minutes=3)),
}


def maestro_backups() -> dict[str, BackupCronJob]:
    return {
        name: BackupCronJob("maestro-system", name, hour, minute, runs_for)
        for name, (hour, minute, runs_for) in BACKUPS.items()
    }


# --- the cluster -----------------------------------------------------------------------------


def rollout_object(rollout: SimRollout) -> Object:
    return _object(
        "argoproj.io/v1alpha1", "Rollout", rollout.name, rollout.namespace,
        labels=rollout.labels, annotations=rollout.annotations,
    )  # fmt: skip


class SimCluster:
    """The objects a check can ask for, as of the simulated now.

    Objects are found by group and plural whatever version is asked (the simulated API
    serves every version), by namespace and name when given, by label selector when given.
    """

    def __init__(self, rollouts: Callable[[], Iterable[SimRollout]]) -> None:
        self._rollouts = rollouts
        self.backups = maestro_backups()

    def objects(self, group: str, plural: str, now: datetime) -> list[Object]:
        if (group, plural) == ("argoproj.io", "rollouts"):
            return [rollout_object(r) for r in self._rollouts()]
        if (group, plural) == ("batch", "cronjobs"):
            return [job.object(now) for job in self.backups.values()]
        return [obj for g, p, obj in STATIC if (g, p) == (group, plural)]

    def find(self, ref: ObjectRef, now: datetime) -> list[Object]:
        """Every object `ref` names or selects; ValueError for a selector the API would refuse
        (whether or not anything is there to match, as the API server does)."""
        # Read once per question, not once per object: a gate asks of hundreds of rollouts.
        selects = label_selector(ref.label_selector) if ref.label_selector else None

        def wanted(namespace: str, name: str, labels: Mapping[str, str] | None) -> bool:
            if ref.namespace and namespace != ref.namespace:
                return False
            if ref.name and name != ref.name:
                return False
            return selects is None or selects(labels or {})

        if (ref.group, ref.plural) == ("argoproj.io", "rollouts"):
            # Judged on the rollouts themselves: only those found are made into objects.
            return [
                rollout_object(r) for r in self._rollouts() if wanted(r.namespace, r.name, r.labels)
            ]
        return [
            obj
            for obj in self.objects(ref.group, ref.plural, now)
            if wanted(
                obj["metadata"].get("namespace", ""),
                obj["metadata"]["name"],
                obj["metadata"].get("labels"),
            )
        ]

    def fail_backup(self, name: str, start: datetime, end: datetime) -> None:
        """Runs of the named CronJob that start in [start, end) fail; ValueError if unknown."""
        job = self.backups.get(name)
        if job is None:
            known = ", ".join(sorted(self.backups))
            raise ValueError(f"no backup CronJob {name!r}; the simulator has {known}")
        job.failing.append((start, end))
