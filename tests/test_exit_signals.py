"""SIGTERM and SIGHUP end the control room cleanly, in a real terminal (a pty): the exit
code says which, the recording is whole, the operator's presence is cleared from the broker
and the audit journal verifies."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from maestro_control_room.sources.replay import open_recording
from maestro_control_room.tui.cli import main
from tests.servers import ServerProcess, mosquitto
from tests.test_serve import served_config

__all__ = ["mosquitto"]  # the fixture, imported for pytest

ROOT = Path(__file__).resolve().parent.parent
OPERATORS = "maestro/cutover/operators/+"


class Terminal:
    """The control room in a pty of 160x48, its output read (and kept) as it comes."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 48, 160, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "PYTHONPATH": str(ROOT)}
        env.pop("NO_COLOR", None)
        self.process = subprocess.Popen(
            argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env,
            start_new_session=True,
        )  # fmt: skip
        os.close(slave)
        self.output = bytearray()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with contextlib.suppress(OSError):
            while chunk := os.read(self.master, 65536):
                self.output += chunk

    def wait_for(self, text: bytes, deadline: float = 60) -> None:
        end = time.monotonic() + deadline
        while text not in self.output:
            if self.process.poll() is not None:
                raise AssertionError(f"the app ended first: {bytes(self.output[-2000:])!r}")
            if time.monotonic() > end:
                raise AssertionError(f"{text!r} never shown: {bytes(self.output[-2000:])!r}")
            time.sleep(0.05)

    def press(self, keys: bytes) -> None:
        os.write(self.master, keys)

    def hang_up(self) -> None:
        """The terminal goes away (an SSH link dropped): nothing it writes is read."""
        os.close(self.master)
        self._reader.join(timeout=5)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        with contextlib.suppress(OSError):
            os.close(self.master)


def retained_presence(port: int) -> list[str]:
    """The operator topics holding a retained presence on the broker now. A marker sent
    after the subscription comes back after every retained message the broker holds."""
    got: list[str] = []
    subscribed, marked = threading.Event(), threading.Event()
    marker = f"test/marker/{os.getpid()}-{time.monotonic_ns()}"
    client = mqtt.Client(CallbackAPIVersion.VERSION2)

    def on_message(_c: object, _u: object, message: mqtt.MQTTMessage) -> None:
        if message.topic == marker:
            marked.set()
        elif message.payload:
            got.append(message.topic)

    client.on_message = on_message
    client.on_subscribe = lambda *args: subscribed.set()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        client.subscribe([(OPERATORS, 1), (marker, 1)])
        assert subscribed.wait(10)
        client.publish(marker, b"x", qos=1)
        assert marked.wait(10)
    finally:
        client.loop_stop()
        client.disconnect()
    return got


def room_config(tmp_path: Path, mqtt_port: int) -> Path:
    """The repository's config (the simulator) with its journal in the test's folder and
    presence announced on the test's broker."""
    path = served_config(tmp_path)
    text = path.read_text()
    block = '[sources.mqtt]\n# Build and platform events, the retained freeze state and operator presence.\nenabled = false\nhost = "127.0.0.1"\nport = 1883\n'  # noqa: E501
    assert text.count(block) == 1
    text = text.replace(block, block.replace("enabled = false", "enabled = true").replace(
        "port = 1883", f"port = {mqtt_port}"))  # fmt: skip
    path.write_text(text)
    return path


@pytest.fixture
def started(tmp_path: Path, mosquitto: ServerProcess) -> Iterator[tuple[Terminal, Path]]:
    """The control room in a pty, on the simulator and the broker, recording, after one
    freeze: its journal has entries, its presence is on the broker."""
    config = room_config(tmp_path, mosquitto.port)
    recording = tmp_path / "session.rec"
    launcher = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r});"
        " from maestro_control_room.tui.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    argv = [sys.executable, "-c", launcher, "--config", str(config), "--operator", "dana",
            "--record", str(recording)]  # fmt: skip
    terminal = Terminal(argv, tmp_path)
    try:
        terminal.wait_for(b"Wave-2")
        end = time.monotonic() + 30
        while not retained_presence(mosquitto.port) and time.monotonic() < end:
            time.sleep(0.1)
        assert retained_presence(mosquitto.port), "the control room announced itself"
        terminal.press(b"f")
        terminal.wait_for(b"confirm")
        terminal.press(b"\r")
        journal = tmp_path / "audit.jsonl"
        while journal_lines(journal) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        assert journal_lines(journal) >= 2, "the freeze's intent and result are journalled"
        yield terminal, tmp_path
    finally:
        terminal.stop()


def journal_lines(path: Path) -> int:
    return len(path.read_bytes().splitlines()) if path.exists() else 0


def ended_cleanly(terminal: Terminal, folder: Path, port: int, code: int) -> None:
    assert terminal.process.wait(timeout=30) == code
    recording = open_recording(folder / "session.rec")
    assert recording.problems == [], "the recording was closed properly"
    assert "audit" in {recording.kind(i) for i in range(recording.count)}
    assert main(["audit", "verify", str(folder / "audit.jsonl")]) == 0
    assert retained_presence(port) == [], "the presence was cleared"


def test_sigterm_ends_the_app_cleanly(
    started: tuple[Terminal, Path], mosquitto: ServerProcess
) -> None:
    terminal, folder = started
    os.kill(terminal.process.pid, signal.SIGTERM)
    ended_cleanly(terminal, folder, mosquitto.port, 143)


def test_sighup_after_the_terminal_went_away_ends_the_app_cleanly(
    started: tuple[Terminal, Path], mosquitto: ServerProcess
) -> None:
    terminal, folder = started
    terminal.hang_up()
    os.kill(terminal.process.pid, signal.SIGHUP)
    ended_cleanly(terminal, folder, mosquitto.port, 129)
