"""Durations as the plan writes them: `90s`, `5m`, `48h`, `14d`, `1d2h30m`."""

from __future__ import annotations

import re
from datetime import timedelta

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> timedelta:
    """Parse a compact duration; raise ValueError naming what was expected."""
    spec = text.strip().replace(" ", "")
    if not spec:
        raise ValueError("expected a duration such as '90s', '5m', '48h' or '1d2h'")
    position = 0
    seconds = 0.0
    for match in _PART.finditer(spec):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(spec):
        raise ValueError(
            f"{text!r} is not a duration: expected a number and a unit (ms, s, m, h, d, w),"
            " such as '90s', '5m', '48h' or '1d2h'"
        )
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise ValueError(f"{text!r} is too long a duration") from None


def format_duration(delta: timedelta, *, parts: int = 2) -> str:
    """A short human duration: `2d 4h`, `3m 10s`, `45s`, `5m` (no trailing zero parts)."""
    total = int(abs(delta.total_seconds()))
    units = (("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
    shown: list[str] = []
    for suffix, size in units:
        count, total = divmod(total, size)
        if count or (shown and len(shown) < parts):
            shown.append(f"{count}{suffix}")
        if len(shown) == parts:
            break
    while len(shown) > 1 and shown[-1][0] == "0":
        shown.pop()
    return " ".join(shown) if shown else "0s"


def format_minutes(delta: timedelta) -> str:
    """`format_duration` to the minute, `<1m` under one: for spans measured in days, where
    a seconds count would only tick (and repaint its line) every second for an hour."""
    total = int(abs(delta.total_seconds()))
    if total < 60:
        return "<1m"
    return format_duration(timedelta(minutes=total // 60))
