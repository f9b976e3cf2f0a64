"""`maestro-control-room serve`: the control room in a browser, read-only by construction.

The server runs as its own process on a free loopback port; the test then speaks to it as a
browser does (textual-serve's `/ws` websocket: `["stdin", keys]` in, the terminal's bytes
out), reads the screen it draws with pyte, and presses every action key."""

from __future__ import annotations

import asyncio
import json
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pyte
import pytest
from textual.binding import Binding

from maestro_control_room.tui.app import ACTIONS
from maestro_control_room.tui.bindings import CONTROL_ROOM_BINDINGS
from maestro_control_room.tui.cli import main
from maestro_control_room.tui.serve import is_loopback, served_command
from tests.conftest import CONFIG
from tests.servers import ServerProcess, free_port, http_ready

ROOT = Path(__file__).resolve().parent.parent
WIDTH, HEIGHT = 160, 48
#: Shown by the app for each refused action (a toast: title, then the reason).
REFUSED = "refused: read-only mode"
#: Shown by the confirmation screen, which a read-only control room never opens.
CONFIRMATION = "Enter confirm"


def served_config(tmp_path: Path) -> Path:
    """The repository's config (the simulator), its journal in the test's folder."""
    text = CONFIG.read_text()
    workbook = str(ROOT / "sources/sim/data/workbook.csv")
    text = text.replace('workbook = "sources/sim/data/workbook.csv"', f'workbook = "{workbook}"')
    assert text.count('\npath = ""\n') == 1  # [audit]'s
    text = text.replace('\npath = ""\n', f'\npath = "{tmp_path / "audit.jsonl"}"\n')
    assert text.count('\ndir = ""') == 1  # [handover]'s
    text = text.replace('\ndir = ""', f'\ndir = "{tmp_path / "handovers"}"')
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    port = free_port()
    launcher = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r});"
        " from maestro_control_room.tui.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = [sys.executable, "-c", launcher, "serve", "--config", str(served_config(tmp_path)),
            "--port", str(port)]  # fmt: skip
    process = ServerProcess("serve", argv, port, http_ready(f"http://127.0.0.1:{port}/"), tmp_path)
    process.start()
    try:
        yield process
    finally:
        process.stop()


class Browser:
    """The browser's side of the websocket: the screen as drawn so far, and keys."""

    def __init__(self, websocket: aiohttp.ClientWebSocketResponse) -> None:
        self.websocket = websocket
        self.screen = pyte.Screen(WIDTH, HEIGHT)
        self.stream = pyte.ByteStream(self.screen)
        #: Every frame's text, to tell what was ever on screen.
        self.seen: list[str] = []
        #: The JSON messages the server sent (downloads offered, URLs to open).
        self.messages: list[list[Any]] = []

    @property
    def text(self) -> str:
        return "\n".join(self.screen.display)

    async def press(self, keys: str) -> None:
        await self.websocket.send_json(["stdin", keys])

    async def wait_for(self, what: str, count: int = 1, deadline: float = 30.0) -> None:
        """Read the stream until `what` is on screen `count` times."""
        shown = lambda: self.text.count(what) >= count  # noqa: E731
        await self._read_until(shown, f"{what!r} ×{count} not on screen", deadline)

    async def wait_for_gone(self, what: str, deadline: float = 30.0) -> None:
        """Read the stream until `what` is no longer on screen."""
        await self._read_until(lambda: what not in self.text, f"{what!r} still on screen", deadline)

    async def _read_until(self, done: Any, failure: str, deadline: float) -> None:
        end = time.monotonic() + deadline
        while not done():
            left = end - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{failure}:\n{self.text}")
            try:
                message = await self.websocket.receive(timeout=left)
            except asyncio.TimeoutError:
                continue
            if message.type is aiohttp.WSMsgType.BINARY:
                self.stream.feed(message.data)
                self.seen.append(self.text)
            elif message.type is aiohttp.WSMsgType.TEXT:
                self.messages.append(json.loads(message.data))
            elif message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED):
                raise AssertionError(f"the session ended:\n{self.text}")


def served_pids(config: Path) -> list[int]:
    """The control rooms running on `config` without `serve`: the browser sessions."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [word.decode(errors="replace") for word in argv]
        if str(config) in words and "maestro_control_room" in words and "serve" not in words:
            found.append(int(proc.name))
    return found


def argv_of(pid: int) -> list[str]:
    return [w.decode() for w in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") if w]


async def test_serve_answers_on_loopback_and_refuses_every_action(
    server: ServerProcess, tmp_path: Path
) -> None:
    with urllib.request.urlopen(f"{server.url}/", timeout=5) as response:
        assert response.status == 200
        page = response.read().decode()
    assert f'data-session-websocket-url="ws://127.0.0.1:{server.port}/ws"' in page
    config = tmp_path / "config.toml"
    keys = [b.key for b in CONTROL_ROOM_BINDINGS if isinstance(b, Binding) and b.action in ACTIONS]
    assert {"f", "u", "p", "x"} <= set(keys) and all(len(key) == 1 for key in keys)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{server.url}/ws?width={WIDTH}&height={HEIGHT}") as websocket,
    ):
        browser = Browser(websocket)
        await browser.wait_for("READ-ONLY")  # the header names the mode
        await browser.wait_for("Wave-2")  # the simulator's first delivery is on screen
        sessions = served_pids(config)
        assert len(sessions) == 1
        assert "--read-only" in argv_of(sessions[0])
        for pressed, key in enumerate(keys, start=1):
            # The whole gesture: the key, then Enter as a confirmation would need it (freeze
            # is one key then Enter in operator mode). Each key gets its own refusal; they
            # come well within a toast's five seconds of one another.
            await browser.press(key)
            await browser.wait_for(REFUSED, count=pressed)
            await browser.press("\r")
            # Enter with a wave selected opens its detail: Esc back to the dashboard.
            await browser.wait_for("Esc closes")
            await browser.press("\x1b")
            await browser.wait_for_gone("Esc closes")
        await browser.press("a")  # the audit screen reads the journal the session writes to
        await browser.wait_for("no journal yet")
        await browser.press("a")  # closes it
        # The handover changes nothing: a read-only session writes it, and offers it.
        await browser.press("h")
        await browser.wait_for("Handover written")
        offered = [m[1] for m in browser.messages if m[0] == "deliver_file_start"]
        assert len(offered) == 1
        async with session.get(f"{server.url}/download/{offered[0]}") as download:
            assert download.status == 200
            markdown = await download.text()
    assert not any(CONFIRMATION in frame for frame in browser.seen), "no action was offered"
    assert not any("FROZEN" in frame for frame in browser.seen), "the freeze stayed off"
    assert not (tmp_path / "audit.jsonl").exists(), "nothing reached the audit journal"
    assert markdown.startswith("# Shift handover: Maestro core build platform")
    assert "No action was taken in the period." in markdown
    written = list((tmp_path / "handovers").glob("handover-*.md"))
    assert len(written) == 1 and written[0].read_text() == markdown


def test_the_sessions_command_is_read_only_on_the_same_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    command = served_command(config, operator="night shift")
    assert command.split()[1:6] == [
        "-m",
        "maestro_control_room",
        "--read-only",
        "--config",
        str(config),
    ]
    assert command.endswith("--operator 'night shift'")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.1.2.3", True), ("localhost", True), ("::1", True),
     ("[::1]", True), ("0.0.0.0", False), ("::", False), ("10.0.0.5", False),
     ("bastion.example.com", False)],
)  # fmt: skip
def test_loopback_addresses(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_serve_refuses_another_address_without_allow_remote(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = served_config(tmp_path)
    assert main(["serve", "--config", str(config), "--host", "0.0.0.0"]) == 2
    error = capsys.readouterr().err
    assert "0.0.0.0 is not a loopback address" in error
    assert "no authentication" in error and "--allow-remote" in error
    assert "ssh -L 8566:127.0.0.1:8566" in error


def test_serve_refuses_a_config_it_cannot_serve(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = served_config(tmp_path)
    config.write_text(config.read_text().replace("/workbook.csv", "/no-such-workbook.csv"))
    assert main(["serve", "--config", str(config)]) == 2
    assert "waves.workbook" in capsys.readouterr().err


def wait_gone(pids: list[int], deadline: float) -> list[int]:
    """The processes of `pids` still running after up to `deadline` seconds."""
    end = time.monotonic() + deadline
    alive = pids
    while alive and time.monotonic() < end:
        time.sleep(0.1)
        alive = [pid for pid in alive if Path(f"/proc/{pid}").exists() and not zombie(pid)]
    return alive


def zombie(pid: int) -> bool:
    try:
        return (Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]) == "Z"
    except OSError:
        return True


async def test_a_page_that_drops_early_takes_its_session_with_it(
    server: ServerProcess, tmp_path: Path
) -> None:
    config = tmp_path / "config.toml"
    async with aiohttp.ClientSession() as session:
        websocket = await session.ws_connect(f"{server.url}/ws?width={WIDTH}&height={HEIGHT}")
        started = time.monotonic()
        while not served_pids(config) and time.monotonic() - started < 20:
            await asyncio.sleep(0.05)
        sessions = served_pids(config)
        assert sessions, "the page's session started"
        await websocket.close()  # the page goes before its control room has drawn anything
    assert wait_gone(sessions, 20) == [], "the session ended with its page"
    assert server.running, "serve itself goes on"


async def sessions_started(config: Path, count: int, deadline: float = 30) -> list[int]:
    end = time.monotonic() + deadline
    while len(served_pids(config)) < count and time.monotonic() < end:
        await asyncio.sleep(0.05)
    return served_pids(config)


@pytest.mark.parametrize("stop", ["SIGTERM", "SIGKILL"])
async def test_no_session_outlives_serve(server: ServerProcess, tmp_path: Path, stop: str) -> None:
    """Stopped (SIGTERM, as a service manager does) serve ends its sessions; killed, it
    cannot, and each session ends by itself when its pipe to serve hangs up."""
    config = tmp_path / "config.toml"
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{server.url}/ws?width={WIDTH}&height={HEIGHT}") as drawn,
        session.ws_connect(f"{server.url}/ws?width={WIDTH}&height={HEIGHT}"),
    ):
        await Browser(drawn).wait_for("Wave-2")  # one session up, the other maybe starting
        sessions = await sessions_started(config, 2)
        assert len(sessions) == 2
        assert server.process is not None
        if stop == "SIGTERM":
            server.stop()
        else:
            server.process.kill()
            server.process.wait()
    assert wait_gone(sessions, 30) == [], "no session outlives serve"
