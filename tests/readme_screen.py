"""README's screen sample is the 120x36 snapshot, as text: `python -m tests.readme_screen`
writes it between the markers, and `test_readme_shows_the_snapshot_screen` fails when the
README's copy is no longer the screen (`make snapshots` runs both)."""

from __future__ import annotations

import asyncio
import re
import tempfile
from pathlib import Path

from maestro_control_room.cutover.config import Config
from maestro_control_room.tui.app import ControlRoomApp
from maestro_control_room.tui.build import build_app
from maestro_control_room.tui.configfile import LoadedConfig
from tests.conftest import CONFIG, ROOT, config_document
from tests.screen_text import screen_text

README = ROOT / "README.md"
SIZE = (120, 36)
START = "<!-- screen: the 120x36 snapshot, written by `python -m tests.readme_screen` -->"
END = "<!-- /screen -->"
BLOCK = re.compile(re.escape(START) + r".*?" + re.escape(END), re.S)


def block(text: str) -> str:
    return f"{START}\n```text\n{text.rstrip()}\n```\n{END}"


def readme_with(readme: str, text: str) -> str:
    """`readme` with its screen sample replaced by `text`; ValueError without markers."""
    if not BLOCK.search(readme):
        raise ValueError(f"README.md has no {START!r} … {END!r} markers")
    return BLOCK.sub(lambda _: block(text), readme, count=1)


def shown_in(readme: str) -> str:
    found = BLOCK.search(readme)
    return found.group(0) if found else ""


async def snapshot_text(app: ControlRoomApp) -> str:
    """The calm 120x36 screen, settled as the snapshot test settles it."""
    from tests.test_snapshots import _settle

    async with app.run_test(size=SIZE) as pilot:
        await _settle(pilot)
        return screen_text(app)


def sample_app() -> ControlRoomApp:
    """The app as the snapshot tests build it (conftest's `make_app`)."""
    audit = Path(tempfile.mkdtemp(prefix="maestro-readme-")) / "audit.jsonl"
    overrides = {"sources__sim": {"time_scale": 0}, "audit": {"path": str(audit)}}
    config = Config.model_validate(config_document(**overrides))
    return build_app(LoadedConfig(config, CONFIG), read_only=False, operator="tester")


def main() -> None:
    text = asyncio.run(snapshot_text(sample_app()))
    README.write_text(readme_with(README.read_text(), text))
    print(f"README.md: the {SIZE[0]}x{SIZE[1]} screen written")


if __name__ == "__main__":
    main()
