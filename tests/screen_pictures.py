"""PNG pictures of the screen for docs/, drawn by headless Chromium from the SVG snapshots:
`python -m tests.screen_pictures` after `make snapshots`."""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.conftest import ROOT

SNAPSHOTS = ROOT / "tests" / "__snapshots__" / "test_snapshots"
#: docs/ picture ← the snapshot it is drawn from.
PICTURES = {
    "screen-main.png": "test_main_screen[120x36-normal].svg",
    "screen-incident.png": "test_main_screen[120x36-incident].svg",
    "screen-gates.png": "test_gate_screen.svg",
}
CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--hide-scrollbars",
)  # fmt: skip


def svg_size(svg: str) -> tuple[int, int]:
    found = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    if found is None:
        raise ValueError("not a Rich SVG snapshot (no viewBox)")
    return round(float(found.group(1))), round(float(found.group(2)))


def draw(svg: Path, png: Path) -> None:
    width, height = svg_size(svg.read_text())
    with tempfile.TemporaryDirectory(prefix="maestro-pictures-") as profile:
        subprocess.run(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
             f"--screenshot={png}", svg.as_uri()],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip


def main() -> None:
    for name, snapshot in PICTURES.items():
        target = ROOT / "docs" / name
        draw(SNAPSHOTS / snapshot, target)
        print(f"{target.relative_to(ROOT)} ← {snapshot}", file=sys.stderr)


if __name__ == "__main__":
    main()
