"""Status words and their styles, shared by every panel so colour is never the only cue."""

from __future__ import annotations

from ..cutover.gates import CheckState, Verdict
from ..cutover.kpis import KpiVerdict
from ..cutover.rollouts import RolloutPhase
from ..cutover.triggers import TriggerState
from ..cutover.updates import HealthState
from ..cutover.waves import WaveState

KPI_STYLE: dict[KpiVerdict, str] = {
    KpiVerdict.OK: "green",
    KpiVerdict.WARN: "yellow",
    KpiVerdict.BREACH: "bold red",
    KpiVerdict.STALE: "magenta",
    KpiVerdict.ERROR: "bold magenta",
    KpiVerdict.NO_DATA: "dim",
    KpiVerdict.NOT_A_NUMBER: "bold magenta",
}

TRIGGER_MARK: dict[TriggerState, tuple[str, str]] = {
    TriggerState.INACTIVE: ("· inactive", "green"),
    TriggerState.PENDING: ("▲ PENDING", "yellow"),
    TriggerState.FIRING: ("✖ FIRING", "bold red"),
    TriggerState.RESOLVED: ("✔ resolved", "cyan"),
    TriggerState.UNKNOWN: ("? UNKNOWN", "magenta"),
}

CHECK_MARK: dict[CheckState, tuple[str, str]] = {
    CheckState.PASS: ("✔ pass", "green"),
    CheckState.FAIL: ("✖ FAIL", "bold red"),
    CheckState.UNKNOWN: ("? unknown", "magenta"),
}

VERDICT_STYLE: dict[Verdict, str] = {
    Verdict.GO: "bold green",
    Verdict.NO_GO: "bold red",
    Verdict.UNKNOWN: "bold magenta",
}


HEALTH_MARK: dict[HealthState, tuple[str, str]] = {
    HealthState.CONNECTING: ("…", "dim"),
    HealthState.CONNECTED: ("●", "green"),
    HealthState.STALE: ("◌", "magenta"),
    HealthState.ERROR: ("✖", "bold red"),
}

PHASE_STYLE: dict[RolloutPhase, str] = {
    RolloutPhase.HEALTHY: "green",
    RolloutPhase.PROGRESSING: "cyan",
    RolloutPhase.PAUSED: "yellow",
    RolloutPhase.DEGRADED: "bold red",
}

WAVE_STYLE: dict[WaveState, str] = {
    WaveState.PLANNED: "dim",
    WaveState.CANARY: "yellow",
    WaveState.ACTIVE: "cyan",
    WaveState.COMPLETE: "green",
    WaveState.ROLLED_BACK: "bold red",
}


def bar(fraction: float, width: int) -> str:
    """A text progress bar that reads without colour: `█████░░░░░`."""
    fraction = min(max(fraction, 0.0), 1.0)
    filled = round(fraction * width)
    return "█" * filled + "░" * (width - filled)
