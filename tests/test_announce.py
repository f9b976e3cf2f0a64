"""Grafana and Slack announcements reach a loopback HTTP server started here, which checks
their bodies and headers; a failing server is reported and the action stands."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from maestro_control_room.cutover.actions import (
    ActionKind,
    ActionOutcome,
    ActionPlan,
    Change,
    plan_freeze,
)
from maestro_control_room.cutover.announcements import announcement_text
from maestro_control_room.cutover.config import GrafanaSection, SlackSection
from maestro_control_room.cutover.pipeline import ActionPipeline, Executed
from maestro_control_room.sources.grafana import GrafanaAnnouncer
from maestro_control_room.sources.journal import AuditJournal, read_journal
from maestro_control_room.sources.secrets import SecretError
from maestro_control_room.sources.slack import SlackAnnouncer
from maestro_control_room.sources.webhooks import AnnounceError
from tests.test_pipeline import World, world  # noqa: F401 (the fixture)

AT = datetime(2026, 12, 2, 3, 4, 5, 678000, tzinfo=UTC)
TIMEOUT = timedelta(seconds=5)


@dataclass
class Received:
    """What the loopback server was sent, and how it answers."""

    requests: list[tuple[str, dict[str, str], Any]] = field(default_factory=list)
    status: int = 200
    answer: bytes = b'{"id": 1, "message": "Annotation added"}'


@pytest.fixture
def server() -> Iterator[tuple[str, Received]]:
    received = Received()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length))
            received.requests.append((self.path, dict(self.headers.items()), body))
            self.send_response(received.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(received.answer)))
            self.end_headers()
            self.wfile.write(received.answer)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", received
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def executed(
    kind: ActionKind = ActionKind.FREEZE,
    target: str = "cutover",
    changes: tuple[Change, ...] = (
        Change("cutover", "frozen", "false", "true"),
        Change("maestro-system/maestro-api", "paused", "false", "true"),
        Change("maestro-runners/executor-controller", "paused", "false", "true"),
    ),
    reason: str = "registry brownout",
    override: str = "",
    outcome: ActionOutcome | None = None,
) -> Executed:
    plan = ActionPlan(kind, target, changes, "alice", reason=reason)
    return Executed(plan, (), override, outcome or ActionOutcome(True, "done"), AT)


@pytest.mark.parametrize(
    ("done", "text"),
    [
        (executed(), "alice froze the cutover: registry brownout (2 rollouts paused)"),
        (
            executed(
                ActionKind.UNFREEZE,
                changes=(
                    Change("cutover", "frozen", "true", "false"),
                    Change("maestro-system/maestro-api", "paused", "true", "false"),
                ),
                reason="",
            ),
            "alice unfroze the cutover (1 rollout resumed)",
        ),
        (
            executed(
                ActionKind.PROMOTE_WAVE,
                "Wave-3",
                (Change("Wave-3", "state", "planned", "canary"),),
                override="exec approved",
            ),
            "alice promoted Wave-3 (state planned → canary) [override: exec approved]",
        ),
        (
            executed(
                ActionKind.ABORT_ROLLOUT,
                "maestro-system/maestro-api",
                (Change("maestro-system/maestro-api", "phase", "Paused", "Degraded"),),
                outcome=ActionOutcome(False, "forbidden"),
            ),
            "alice aborted rollout maestro-system/maestro-api (phase Paused → Degraded)"
            " FAILED: forbidden",
        ),
    ],
)
def test_announcement_text(done: Executed, text: str) -> None:
    assert announcement_text(done) == text


async def test_grafana_posts_an_annotation_with_the_bearer_token(
    server: tuple[str, Received],
) -> None:
    url, received = server
    await GrafanaAnnouncer(url + "/", "s3cret", "maestro-cutover", TIMEOUT)(executed())
    [(path, headers, body)] = received.requests
    assert path == "/api/annotations"
    assert headers["Authorization"] == "Bearer s3cret"
    assert headers["Content-Type"] == "application/json"
    assert body == {
        "time": int(AT.timestamp() * 1000),
        "tags": ["maestro-cutover", "freeze"],
        "text": "alice froze the cutover: registry brownout (2 rollouts paused)",
        "dashboardUID": "maestro-cutover",
    }


async def test_slack_posts_the_text(server: tuple[str, Received]) -> None:
    url, received = server
    received.answer = b"ok"
    await SlackAnnouncer(url + "/services/T0/B0/xyz", TIMEOUT)(executed())
    [(path, headers, body)] = received.requests
    assert path == "/services/T0/B0/xyz"
    assert headers["Content-Type"] == "application/json"
    assert "Authorization" not in headers
    assert body == {"text": "alice froze the cutover: registry brownout (2 rollouts paused)"}


async def test_a_non_2xx_answer_names_the_status_and_an_excerpt(
    server: tuple[str, Received],
) -> None:
    url, received = server
    received.status = 500
    received.answer = b'{"message": "database is locked"}' + b" " * 10_000 + b"tail"
    with pytest.raises(AnnounceError) as raised:
        await GrafanaAnnouncer(url, "t", "uid", TIMEOUT)(executed())
    message = str(raised.value)
    assert message.startswith("grafana annotation: HTTP 500: ")
    assert "database is locked" in message
    assert len(message) < 300


async def test_an_unreachable_server_is_an_announce_error() -> None:
    # Port 9 on loopback (discard) is not listening here.
    with pytest.raises(AnnounceError, match="slack webhook: ConnectError"):
        await SlackAnnouncer("http://127.0.0.1:9/hook", TIMEOUT)(executed())


async def test_a_500_is_reported_and_the_action_stands(
    server: tuple[str, Received],
    world: World,  # noqa: F811
    tmp_path: Path,
) -> None:
    url, received = server
    received.status = 500
    received.answer = b"internal error"
    path = tmp_path / "audit.jsonl"
    pipeline = ActionPipeline(
        world.effector,
        read_only=False,
        journal=AuditJournal(path),
        announcers=[GrafanaAnnouncer(url, "t", "uid", TIMEOUT), SlackAnnouncer(url, TIMEOUT)],
    )
    view = world.live()
    done = await pipeline.execute(plan_freeze(view, "alice", "brownout"), world.live())
    assert len(received.requests) == 2
    assert sorted(str(error) for error in done.announce_errors) == [
        "grafana: grafana annotation: HTTP 500: internal error",
        "slack: slack webhook: HTTP 500: internal error",
    ]
    assert world.simulator.freeze.frozen
    report = read_journal(path)
    assert report.result.ok
    last = report.entries[-1][1]
    assert isinstance(last, dict)
    assert last["kind"] == "result"
    assert last["result"] == {"ok": True, "message": "Freeze cutover: done"}


def test_secrets_come_from_a_file_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "grafana-token"
    token.write_text("from-file\n")
    grafana = GrafanaAnnouncer.from_config(
        GrafanaSection(enabled=True, url="http://grafana:3000/", token_file=str(token))
    )
    assert grafana.url == "http://grafana:3000"
    assert grafana._token == "from-file"
    monkeypatch.setenv("SLACK_HOOK", "https://hooks.slack.invalid/T/B/x")
    slack = SlackAnnouncer.from_config(SlackSection(enabled=True, webhook_url_env="SLACK_HOOK"))
    assert slack._webhook_url == "https://hooks.slack.invalid/T/B/x"
    with pytest.raises(SecretError, match="token_file or token_env"):
        GrafanaAnnouncer.from_config(GrafanaSection(enabled=True))
    with pytest.raises(SecretError, match="NOT_SET"):
        SlackAnnouncer.from_config(SlackSection(enabled=True, webhook_url_env="NOT_SET"))
