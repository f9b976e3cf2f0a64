"""The browser view in a real browser: Debian's Chromium, driven by Selenium through
chromedriver, on the page `maestro-control-room serve` gives.

What the page receives is read as the browser receives it (its websocket, wrapped before
the page's own script runs) into a terminal model for the words; what it draws is read
from a screenshot, for the sparklines' bar heights. In CI a missing browser fails the
test; elsewhere it skips."""

from __future__ import annotations

import base64
import io
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyte
import pytest

from tests.servers import ServerProcess
from tests.test_serve import REFUSED, served_pids, server

__all__ = ["server"]  # the fixture, imported for pytest

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)  # fmt: skip
BLOCKS = "▁▂▃▄▅▆▇█"

#: Runs before the page's script: keeps a copy of every frame the terminal receives and of
#: the size it asks for, for the test to read.
RECORD_WEBSOCKET = """
window.__frames = []; window.__size = null;
const Native = window.WebSocket;
window.WebSocket = function (url, protocols) {
  const socket = protocols === undefined ? new Native(url) : new Native(url, protocols);
  socket.addEventListener("message", (event) => {
    if (typeof event.data === "string") { return; }
    const keep = (buffer) => {
      let text = ""; const bytes = new Uint8Array(buffer);
      for (let i = 0; i < bytes.length; i++) { text += String.fromCharCode(bytes[i]); }
      window.__frames.push(btoa(text));
    };
    if (event.data instanceof Blob) { event.data.arrayBuffer().then(keep); }
    else { keep(event.data); }
  });
  const send = socket.send.bind(socket);
  socket.send = (data) => {
    try {
      const message = JSON.parse(data);
      if (message[0] === "resize") { window.__size = message[1]; }
    } catch (error) {}
    send(data);
  };
  return socket;
};
window.WebSocket.prototype = Native.prototype;
Object.assign(window.WebSocket, Native);
"""


def browser_or_skip() -> None:
    """Chromium and chromedriver, or fail (CI=true) / skip (elsewhere)."""
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).is_file()]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("selenium (pip install -e '.[dev]')")
    if not missing:
        return
    message = f"{', '.join(missing)} missing (apt-get install chromium chromium-driver)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture
def driver() -> Iterator[Any]:
    browser_or_skip()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="maestro-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*FLAGS, f"--user-data-dir={profile}", "--window-size=1600,1000"):
        options.add_argument(flag)
    chrome = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        chrome.execute_cdp_cmd(
            "Page.addScriptToEvaluateOnNewDocument", {"source": RECORD_WEBSOCKET}
        )
        yield chrome
    finally:
        chrome.quit()
        shutil.rmtree(profile, ignore_errors=True)


class Page:
    """The page's terminal: the bytes it received, as a screen of text."""

    def __init__(self, chrome: Any) -> None:
        self.chrome = chrome
        self.screen: pyte.Screen | None = None
        self.stream: pyte.ByteStream | None = None
        self.seen = ""

    def read(self) -> str:
        size = self.chrome.execute_script("return window.__size")
        if size and self.screen is None:
            self.screen = pyte.Screen(size["width"], size["height"])
            self.stream = pyte.ByteStream(self.screen)
        if self.stream is None or self.screen is None:
            return ""
        for frame in self.chrome.execute_script("return window.__frames.splice(0)"):
            self.stream.feed(base64.b64decode(frame))
        text = "\n".join(self.screen.display)
        self.seen += text
        return text

    def wait_for(self, what: Callable[[str], bool], why: str, deadline: float = 60.0) -> str:
        end = time.monotonic() + deadline
        while not what(text := self.read()):
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {why}:\n{text}")
            time.sleep(0.2)
        return text

    def press(self, key: str) -> None:
        """Typed into the terminal's own input, as a person typing into the page does."""
        from selenium.webdriver.common.by import By

        self.chrome.find_element(By.CSS_SELECTOR, ".xterm-helper-textarea").send_keys(key)


def bar_heights(chrome: Any, page: Page) -> dict[str, set[int]]:
    """Each sparkline block's drawn height in pixels, by block character, read from a
    screenshot of the terminal's canvas at the row the sparklines are on."""
    from PIL import Image

    assert page.screen is not None
    rows = page.screen.display
    row = next(i for i, line in enumerate(rows) if sum(line.count(b) for b in BLOCKS) > 20)
    box = chrome.execute_script(
        "const r = document.querySelector('.xterm-screen').getBoundingClientRect();"
        "return [r.left, r.top, r.width, r.height, window.devicePixelRatio];"
    )
    left, top, width, height, ratio = box
    cell_w, cell_h = width / page.screen.columns, height / page.screen.lines
    png = chrome.get_screenshot_as_png()
    if os.environ.get("MAESTRO_BROWSER_SHOT"):
        Path(os.environ["MAESTRO_BROWSER_SHOT"]).write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    y0, y1 = int((top + row * cell_h) * ratio), int((top + (row + 1) * cell_h) * ratio)

    def middle(column: int) -> int:
        return int((left + (column + 0.5) * cell_w) * ratio)

    # The row's own background, from a blank cell between two tiles.
    blank = rows[row].index(" ", rows[row].index(BLOCKS[-1]) if BLOCKS[-1] in rows[row] else 1)
    background = image.getpixel((middle(blank), (y0 + y1) // 2))
    heights: dict[str, set[int]] = {}
    for column, char in enumerate(rows[row]):
        if char not in BLOCKS:
            continue
        x = middle(column)
        lit = sum(1 for y in range(y0, y1) if image.getpixel((x, y)) != background)
        heights.setdefault(char, set()).add(lit)
    return heights


def test_the_browser_view_in_chromium(driver: Any, server: ServerProcess, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    driver.get(f"{server.url}/")
    page = Page(driver)
    # The page opens the app: the header names the mode, the KPI tiles and their words come.
    text = page.wait_for(lambda t: "READ-ONLY" in t and "Queue p95" in t, "the app")
    text = page.wait_for(lambda t: "Cost/build" in t and " OK" in t, "the KPI tiles' values")
    sessions = served_pids(config)
    assert len(sessions) == 1
    # A read-only view refuses f, and its key line never offered it.
    keys = text.splitlines()[-1]
    assert "Freeze" not in keys and "Help" in keys
    page.press("f")
    page.wait_for(lambda t: REFUSED in t, "f refused")
    # The sparklines draw as bars of different heights, each block as tall as it says.
    page.wait_for(lambda t: sum(t.count(b) for b in BLOCKS) > 40, "the sparklines")
    time.sleep(0.5)  # the canvas draws the frame after the bytes arrive
    heights = bar_heights(driver, page)
    drawn = {char: max(seen) for char, seen in heights.items()}
    assert len(set(drawn.values())) >= 2, heights
    levels = sorted(drawn, key=BLOCKS.index)
    assert [drawn[c] for c in levels] == sorted(drawn[c] for c in levels), heights
    assert all(height > 0 for height in drawn.values()), heights
    # Closing the page (its tab; the browser stays open in another) ends its control room.
    app_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    other = driver.current_window_handle
    driver.switch_to.window(app_tab)
    driver.close()
    driver.switch_to.window(other)
    end = time.monotonic() + 30
    while served_pids(config):
        if time.monotonic() > end:
            pids = served_pids(config)
            states = [Path(f"/proc/{pid}/status").read_text().splitlines()[:3] for pid in pids]
            raise AssertionError(f"the session's control room outlived its page: {states}")
        time.sleep(0.2)
