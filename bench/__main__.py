"""`python -m bench`: run the scenarios, print a table, write JSON."""

from __future__ import annotations

import argparse
import compileall
import json
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path

from bench.report import table
from bench.scale import ScaleSize, run_scale
from bench.scenarios import ROOT, SCENARIOS, Figures, Scenario, run_scenario

#: The folders of the package and of the bench's own programs (the baseline, the exporter).
COMPILED = ("tui", "widgets", "sources", "cutover", "bench")

#: What `make bench` runs when no scenario is named.
DEFAULT_SCENARIOS = ("steady", "burst", "soak", "scale")


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    # No `choices` here: argparse before 3.12 checks an empty `*` list against them and
    # refuses it, so a bare `python -m bench` could not run the default scenarios.
    cli.add_argument(
        "scenarios",
        nargs="*",
        metavar="SCENARIO",
        help=f"{', '.join(sorted(SCENARIOS))} (default: {' '.join(DEFAULT_SCENARIOS)})",
    )
    cli.add_argument("--sizes", default="120x36,80x24", help="terminal sizes, comma separated")
    cli.add_argument("--soak-minutes", type=float, default=10.0)
    cli.add_argument("--seconds", type=float, help="override each scenario's measured window")
    cli.add_argument(
        "--warmup",
        type=float,
        help="seconds before measuring (soak: 900; at 50 events/s the event view and"
        " the MQTT source's window of events heard take about seven minutes to fill)",
    )
    cli.add_argument("--baseline", action="store_true", help="also run the naive dashboard")
    cli.add_argument("--no-broker", action="store_true", help="no event load (no mosquitto)")
    cli.add_argument("--json", type=Path, default=Path("bench/results/latest.json"))
    cli.add_argument("--scale-repos", type=int, default=ScaleSize.repos)
    cli.add_argument("--scale-waves", type=int, default=ScaleSize.waves)
    cli.add_argument("--scale-rollouts", type=int, default=ScaleSize.rollouts)
    cli.add_argument("--no-real", action="store_true", help="scale: no Prometheus and cluster path")
    return cli


def chosen(names: list[str]) -> list[str]:
    """The scenarios to run: those named, or the default three."""
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise ValueError(
            f"no scenario {', '.join(unknown)}; choose from {', '.join(sorted(SCENARIOS))}"
        )
    return names or list(DEFAULT_SCENARIOS)


def main(argv: list[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    try:
        args.scenarios = chosen(args.scenarios)
    except ValueError as error:
        cli.error(str(error))
    sizes = [tuple(int(n) for n in size.split("x")) for size in args.sizes.split(",")]
    byte_compile()
    results: list[Figures] = []
    for name in args.scenarios:
        scenario = SCENARIOS[name]
        seconds = args.soak_minutes * 60 if name == "soak" else scenario.seconds
        changes = {"seconds": args.seconds or seconds}
        if args.warmup is not None:
            changes["warmup"] = args.warmup
        scenario = Scenario(**{**scenario.__dict__, **changes})
        # Burst, soak and scale are about load, not layout: one size (the first) is enough.
        for size in sizes if name in ("steady", "smoke") else sizes[:1]:
            print(f"running {name} at {size[0]}x{size[1]} ...", file=sys.stderr, flush=True)
            if name == "scale":
                scale = ScaleSize(args.scale_repos, args.scale_waves, args.scale_rollouts)
                results += run_scale(
                    scenario, (size[0], size[1]), baseline=args.baseline,
                    with_broker=not args.no_broker, scale=scale, real=not args.no_real,
                )  # fmt: skip
                continue
            results += run_scenario(
                scenario, (size[0], size[1]), baseline=args.baseline, with_broker=not args.no_broker
            )
    print(table(results))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": {
            "cores": _cores(),
            "python": platform.python_version(),
            "system": platform.platform(),
        },
        "results": [figures.as_dict() for figures in results],
    }
    args.json.write_text(json.dumps(document, indent=2))
    print(f"written {args.json}", file=sys.stderr)
    return 1 if any(figures.notes for figures in results) else 0


def byte_compile() -> None:
    """Compile the programs measured, as `pip install` does: otherwise, where
    PYTHONDONTWRITEBYTECODE is set, every start compiles the package again (a seventh of a
    second here), and the first frame would measure the compiler, not the room."""
    for folder in COMPILED:
        compileall.compile_dir(ROOT / folder, quiet=1)


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
