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


def table(results: Sequence[Figures]) -> str:
    headers = ["program", "scenario", "size", *(c[0] for c in COLUMNS), "events exact"]
    targets = ["", "", "target", *(c[2] for c in COLUMNS), "yes"]
    rows = [headers, targets]
    for figures in results:
        exact = (
            "—"
            if figures.counters_exact is None
            else (
                f"{figures.events_received}/{figures.events_published}"
                + (" ✔" if figures.counters_exact else " ✖")
            )
        )
        rows.append(
            [figures.program, figures.scenario, figures.size]
            + [_cell(value(figures), meets(figures)) for _, value, _, meets in COLUMNS]
            + [exact]
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(headers))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
             for row in rows]  # fmt: skip
    notes = [f"{f.program} {f.scenario} {f.size}: {n}" for f in results for n in f.notes]
    return "\n".join(lines + notes)
