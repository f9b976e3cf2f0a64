"""The routing switch: where the platform's dispatcher sends builds, Maestro or legacy.

The rollback playbook's second step re-points builds to legacy. The switch lives in the
`maestro-cutover` ConfigMap's `routing` key and is announced retained on
`maestro/cutover/routing`; the dispatcher obeys it, for the whole cutover or per wave. The
value is a JSON object `{"cutover": "maestro" | "legacy", "waves": {wave: route}, "by",
"at"}`; a bare `maestro` or `legacy` is the whole cutover's route. Pure: sources and
effectors do the I/O.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any

from .payloads import (
    MAX_NAME_CHARS,
    NOT_AN_OBJECT,
    WRONG_FIELD,
    PayloadRejected,
    read_document,
    read_time,
    rfc3339,
)

KEY = "routing"
#: The target that names the whole cutover, as a plan's target and in the payload.
CUTOVER = "cutover"
#: Waves a routing record names at most: anyone may publish on the topic.
MAX_WAVES = 64


class Route(str, Enum):
    MAESTRO = "maestro"
    LEGACY = "legacy"


@dataclass(frozen=True)
class Routing:
    """Where builds go: the cutover's route, and the waves routed otherwise."""

    cutover: Route = Route.MAESTRO
    waves: Mapping[str, Route] = field(default_factory=dict)
    by: str = ""
    at: datetime | None = None
    #: The version of the object that holds it (the ConfigMap's resourceVersion).
    version: str = ""

    def of(self, wave: str) -> Route:
        """The route of one wave's builds: its own, else the cutover's."""
        return self.waves.get(wave, self.cutover)

    def on_legacy(self, waves: Iterable[str]) -> tuple[str, ...]:
        """Those of `waves` whose builds go to legacy."""
        return tuple(wave for wave in waves if self.of(wave) is Route.LEGACY)

    def re_pointed(self, target: str, route: Route, by: str, at: datetime) -> Routing:
        """The routing with `target` (a wave, or `cutover` for all of it) sent to `route`.
        Re-pointing the whole cutover drops the waves' own routes: every build goes there."""
        if target == CUTOVER:
            return Routing(route, {}, by, at, self.version)
        waves = {**self.waves, target: route}
        return Routing(self.cutover, waves, by, at, self.version)

    def payload(self) -> dict[str, Any]:
        """The retained MQTT payload and the ConfigMap value (as JSON)."""
        body: dict[str, Any] = {
            "cutover": self.cutover.value,
            "waves": {wave: route.value for wave, route in sorted(self.waves.items())},
            "by": self.by,
        }
        if self.at is not None:
            body["at"] = rfc3339(self.at)
        return body

    def describe(self) -> str:
        """`legacy` or `maestro; wave-1 legacy`, as a change's before and after say it."""
        text = self.cutover.value
        if self.waves:
            text += "; " + ", ".join(f"{w} {r.value}" for w, r in sorted(self.waves.items()))
        return text


MAESTRO = Routing()


def _route(value: object, name: str) -> Route:
    if not isinstance(value, str):
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected maestro or legacy")
    try:
        return Route(value)
    except ValueError:
        raise PayloadRejected(WRONG_FIELD, f"{name}: unknown {value[:40]!r}") from None


def _name(value: object, name: str) -> str:
    if not isinstance(value, str) or not value or len(value) > MAX_NAME_CHARS:
        raise PayloadRejected(WRONG_FIELD, f"{name}: expected a name")
    if not value.isprintable():
        raise PayloadRejected(WRONG_FIELD, f"{name}: unprintable characters")
    return value


def parse_routing(payload: bytes, *, now: datetime | None, version: str = "") -> Routing:
    """A routing record, from the topic or the ConfigMap, read within the payload limits;
    PayloadRejected (with its reason) for anything else. Empty is all on Maestro."""
    if not payload.strip():
        return Routing(version=version)
    document = read_document(payload)
    if isinstance(document, str):
        return Routing(_route(document, "routing"), version=version)
    if not isinstance(document, dict):
        raise PayloadRejected(NOT_AN_OBJECT, f"a JSON {type(document).__name__}")
    cutover = _route(document.get("cutover", "maestro"), "cutover")
    waves_value = document.get("waves", {})
    if not isinstance(waves_value, dict):
        raise PayloadRejected(WRONG_FIELD, "waves: expected an object")
    if len(waves_value) > MAX_WAVES:
        raise PayloadRejected(WRONG_FIELD, f"waves: {len(waves_value)}, at most {MAX_WAVES}")
    waves = {_name(w, "waves"): _route(r, f"waves.{str(w)[:40]}") for w, r in waves_value.items()}
    by = document.get("by", "")
    if by:
        by = _name(by, "by")
    at = read_time(document, "at", now) if "at" in document else None
    return Routing(cutover, waves, by, at, version)


def routing_from_data(data: Mapping[str, str], version: str, now: datetime | None) -> Routing:
    """The ConfigMap's `routing`; a value nobody can read is all on Maestro, as if unset
    (`read_routing_data` says why)."""
    return read_routing_data(data, version, now)[0]


def read_routing_data(
    data: Mapping[str, str], version: str, now: datetime | None
) -> tuple[Routing, PayloadRejected | None]:
    """The ConfigMap's `routing`, and the rejection when it cannot be read."""
    text = data.get(KEY, "")
    # A bare word is allowed in the ConfigMap: `kubectl edit` writes legacy unquoted.
    stripped = text.strip()
    raw = json.dumps(stripped) if stripped in ("maestro", "legacy") else text
    try:
        return parse_routing(raw.encode(), now=now, version=version), None
    except PayloadRejected as rejected:
        return Routing(version=version), rejected


def routing_data(routing: Routing) -> dict[str, str]:
    """The ConfigMap's new `routing` value."""
    return {KEY: json.dumps(routing.payload(), sort_keys=True)}
