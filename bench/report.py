"""The benchmark's table, with the targets beside the figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bench.scenarios import Figures

#: (column, value of a run, target text, whether the run meets it)
Column = tuple[str, Callable[[Figures], float | None], str, Callable[[Figures], bool | None]]


def _within(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def _key_target(figures: Figures) -> float:
    return 150.0 if figures.scenario == "burst" else 50.0


COLUMNS: tuple[Column, ...] = (
    ("CPU %", lambda f: f.cpu_percent, "≤1.5", lambda f: _within(f.cpu_percent, 1.5)
        if f.scenario != "burst" else None),
    ("KB/s", lambda f: None if f.bytes_per_second is None else f.bytes_per_second / 1000, "≤5",
        lambda f: _within(None if f.bytes_per_second is None else f.bytes_per_second / 1000, 5)
        if f.scenario != "burst" else None),
    ("1st frame s", lambda f: f.first_frame_s, "≤1.0", lambda f: _within(f.first_frame_s, 1.0)),
    ("key p50 ms", lambda f: f.key_p50_ms, "", lambda f: None),
    ("key p95 ms", lambda f: f.key_p95_ms, "≤50/150",
        lambda f: _within(f.key_p95_ms, _key_target(f))),
    ("event p95 ms", lambda f: f.event_p95_ms, "≤300", lambda f: _within(f.event_p95_ms, 300)),
    ("RSS MB", lambda f: f.rss_end_mb, "≤150", lambda f: _within(f.rss_end_mb, 150)),
    ("RSS MB/h", lambda f: f.rss_slope_mb_per_hour, "≤5 soak",
        lambda f: _within(f.rss_slope_mb_per_hour, 5) if f.scenario == "soak" else None),
)  # fmt: skip


def _cell(value: float | None, verdict: bool | None) -> str:
    if value is None:
        return "—"
    mark = "" if verdict is None else (" ✔" if verdict else " ✖")
    return f"{value:.2f}{mark}" if abs(value) < 100 else f"{value:.0f}{mark}"


#: Targets as ratios to the naive baseline of the same scenario and size in the same run.
CPU_RATIO, BYTES_RATIO = 0.6, 0.2
#: At scale, the large runs' steady CPU against the 60-repo app's of the same run.
SCALE_CPU_RATIO = 1.3


def _ratio(value: float | None, base: float | None) -> float | None:
    return None if value is None or not base else value / base


def ratios(results: Sequence[Figures]) -> dict[int, tuple[float | None, float | None]]:
    """Each run's CPU and bytes per second over its baseline's, by position in `results`."""
    out: dict[int, tuple[float | None, float | None]] = {}
    for index, figures in enumerate(results):
        base = next(
            (b for b in results if b.program == "baseline" and b.scenario == figures.scenario
             and b.size == figures.size),
            None,
        )  # fmt: skip
        if base is None or figures is base or figures.program == "sim":
            continue
        out[index] = (
            _ratio(figures.cpu_percent, base.cpu_percent),
            _ratio(figures.bytes_per_second, base.bytes_per_second),
        )
    return out


def scale_lines(results: Sequence[Figures]) -> list[str]:
    """The large runs' steady CPU against the 60-repo app of the same scale run."""
    small = next((f for f in results if f.scenario == "scale" and f.program == "app"), None)
    lines = []
    for figures in results:
        if figures.scenario != "scale" or figures.program not in ("app scale", "app real"):
            continue
        ratio = _ratio(figures.cpu_percent, small.cpu_percent if small else None)
        if ratio is not None:
            mark = "✔" if ratio <= SCALE_CPU_RATIO else "✖"
            ready = f", every panel live after {figures.ready_s:.1f} s" if figures.ready_s else ""
            lines.append(
                f"scale: {figures.program} CPU {ratio:.2f}× the 60-repo app's"
                f" (≤{SCALE_CPU_RATIO}) {mark}{ready}"
            )
    return lines


def table(results: Sequence[Figures]) -> str:
    headers = ["program", "scenario", "size", *(c[0] for c in COLUMNS), "events exact",
               "CPU ×base", "KB/s ×base"]  # fmt: skip
    targets = ["", "", "target", *(c[2] for c in COLUMNS), "yes",
               f"≤{CPU_RATIO}", f"≤{BYTES_RATIO}"]  # fmt: skip
    rows = [headers, targets]
    against = ratios(results)
    for index, figures in enumerate(results):
        exact = (
            "—"
            if figures.counters_exact is None
            else (
                f"{figures.events_received}/{figures.events_published}"
                + (" ✔" if figures.counters_exact else " ✖")
            )
        )
        cpu, sent = against.get(index, (None, None))
        steady = figures.scenario in ("steady", "scale", "smoke", "soak")
        rows.append(
            [figures.program, figures.scenario, figures.size]
            + [_cell(value(figures), meets(figures)) for _, value, _, meets in COLUMNS]
            + [exact]
            + [_cell(cpu, _within(cpu, CPU_RATIO) if steady else None),
               _cell(sent, _within(sent, BYTES_RATIO) if steady else None)]
        )  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]  # fmt: skip
    notes = [f"{f.program} {f.scenario} {f.size}: {n}" for f in results for n in f.notes]
    return "\n".join(lines + scale_lines(results) + notes)
