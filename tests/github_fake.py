"""A loopback server speaking GitHub's REST API for Actions, where no real GitHub can be had.

It answers the three calls the control room makes, in the shapes of GitHub's documented
examples (docs.github.com, "REST API endpoints for workflow runs" and "for artifacts"):

- `GET /repos/{owner}/{repo}/actions/workflows/{file}/runs` → `{"total_count", "workflow_runs"}`
- `GET /repos/{owner}/{repo}/actions/runs/{id}/artifacts` → `{"total_count", "artifacts"}`
- `POST /repos/{owner}/{repo}/actions/workflows/{file}/dispatches` → `204 No Content`

with the headers GitHub sends: `ETag` (and `304 Not Modified` for a matching
`If-None-Match`, which costs no quota), `x-ratelimit-limit/remaining/used/reset/resource`,
and on demand the two rate-limit answers GitHub documents: the primary one (`403`,
`x-ratelimit-remaining: 0`, `x-ratelimit-reset`) and the secondary one (`429`, `retry-after`).
Every request is recorded, so a test sees what reached "GitHub".
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

API = "https://api.github.com"
LIMITS_DOC = "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
_RUNS = re.compile(r"^/repos/([^/]+)/([^/]+)/actions/workflows/([^/]+)/runs$")
_ARTIFACTS = re.compile(r"^/repos/([^/]+)/([^/]+)/actions/runs/(\d+)/artifacts$")
_DISPATCH = re.compile(r"^/repos/([^/]+)/([^/]+)/actions/workflows/([^/]+)/dispatches$")


def workflow_run(
    run_id: int,
    workflow: str,
    display_title: str,
    *,
    status: str = "completed",
    conclusion: str | None = "success",
    started: str = "2026-12-02T09:30:08Z",
    actor: str = "octocat",
    repo: str = "octo-org/octo-repo",
) -> dict[str, Any]:
    """A workflow run as GitHub's example shows one (ids, URLs and users as there)."""
    user = {
        "login": actor, "id": 1, "node_id": "MDQ6VXNlcjE=",
        "avatar_url": "https://github.com/images/error/octocat_happy.gif", "gravatar_id": "",
        "url": f"{API}/users/{actor}", "html_url": f"https://github.com/{actor}",
        "type": "User", "site_admin": False,
    }  # fmt: skip
    return {
        "id": run_id,
        "name": workflow.removesuffix(".yml"),
        "node_id": "MDEyOldvcmtmbG93IFJ1bjI2OTI4OQ==",
        "check_suite_id": 42,
        "check_suite_node_id": "MDEwOkNoZWNrU3VpdGU0Mg==",
        "head_branch": "main",
        "head_sha": "acb5820ced9479c074f688cc328bf03f341a511d",
        "path": f".github/workflows/{workflow}@main",
        "run_number": 562,
        "event": "workflow_dispatch",
        "display_title": display_title,
        "status": status,
        "conclusion": conclusion,
        "workflow_id": 159038,
        "url": f"{API}/repos/{repo}/actions/runs/{run_id}",
        "html_url": f"https://github.com/{repo}/actions/runs/{run_id}",
        "pull_requests": [],
        "created_at": started,
        "updated_at": started,
        "actor": user,
        "run_attempt": 1,
        "run_started_at": started,
        "triggering_actor": user,
        "jobs_url": f"{API}/repos/{repo}/actions/runs/{run_id}/jobs",
        "logs_url": f"{API}/repos/{repo}/actions/runs/{run_id}/logs",
        "artifacts_url": f"{API}/repos/{repo}/actions/runs/{run_id}/artifacts",
        "workflow_url": f"{API}/repos/{repo}/actions/workflows/159038",
    }


def artifact(artifact_id: int, name: str, run_id: int, *, expired: bool = False) -> dict[str, Any]:
    """An artifact as GitHub's example shows one."""
    return {
        "id": artifact_id,
        "node_id": "MDg6QXJ0aWZhY3QxMQ==",
        "name": name,
        "size_in_bytes": 556,
        "url": f"{API}/repos/octo-org/octo-docs/actions/artifacts/{artifact_id}",
        "archive_download_url": f"{API}/repos/octo-org/octo-docs/actions/artifacts/"
        f"{artifact_id}/zip",
        "expired": expired,
        "created_at": "2026-12-02T09:59:22Z",
        "expires_at": "2027-03-02T09:59:22Z",
        "updated_at": "2026-12-02T09:59:22Z",
        "workflow_run": {
            "id": run_id,
            "repository_id": 1296269,
            "head_repository_id": 1296269,
            "head_branch": "main",
            "head_sha": "328faa0536e6fef19753d9d91dc96a9931694ce3",
        },
    }  # fmt: skip


@dataclass
class Recorded:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


@dataclass
class FakeGithub:
    """What the fake serves and what it was asked."""

    token: str = "ghp_test"
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    artifacts: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    quota: int = 5000
    #: The next answers that are rate limits: ("primary", seconds) or ("secondary", seconds).
    limits: list[tuple[str, int]] = field(default_factory=list)
    port: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def dispatches(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]


def _handler(fake: FakeGithub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet

        def _answer(self, status: int, body: Any = None, headers: Mapping[str, str] = {}) -> None:
            data = b"" if body is None else json.dumps(body).encode()
            self.send_response(status)
            if body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-github-api-version-selected", "2022-11-28")
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _quota(self, remaining: int) -> dict[str, str]:
            return {
                "x-ratelimit-limit": "5000", "x-ratelimit-remaining": str(remaining),
                "x-ratelimit-used": str(5000 - remaining),
                "x-ratelimit-reset": str(int(time.time()) + 3600), "x-ratelimit-resource": "core",
            }  # fmt: skip

        def _record(self, body: Any) -> bool:
            """Record the request; answer a rate limit or a missing token if due."""
            with fake.lock:
                fake.requests.append(Recorded(self.command, self.path, dict(self.headers), body))
                limit = fake.limits.pop(0) if fake.limits else None
            if self.headers.get("Authorization") != f"Bearer {fake.token}":
                docs = "https://docs.github.com/rest"
                self._answer(401, {"message": "Requires authentication",
                                   "documentation_url": docs})  # fmt: skip
                return False
            if limit is None:
                return True
            kind, seconds = limit
            if kind == "primary":
                headers = {**self._quota(0), "x-ratelimit-reset": str(int(time.time()) + seconds)}
                message = "API rate limit exceeded for user ID 1."
                self._answer(403, {"message": message,
                                   "documentation_url": LIMITS_DOC},
                             headers)  # fmt: skip
            else:
                message = "You have exceeded a secondary rate limit. Please wait a few minutes."
                self._answer(429, {"message": message,
                                   "documentation_url": LIMITS_DOC},
                             {"retry-after": str(seconds)})  # fmt: skip
            return False

        def do_GET(self) -> None:
            if not self._record(None):
                return
            path = self.path.split("?", 1)[0]
            if (m := _RUNS.match(path)) is not None:
                runs = fake.runs.get(m.group(3))
                if runs is None:
                    self._answer(404, {"message": "Not Found"})
                    return
                body: Any = {"total_count": len(runs), "workflow_runs": runs}
            elif (m := _ARTIFACTS.match(path)) is not None:
                found = fake.artifacts.get(int(m.group(3)), [])
                body = {"total_count": len(found), "artifacts": found}
            else:
                self._answer(404, {"message": "Not Found"})
                return
            etag = 'W/"' + hashlib.sha256(json.dumps(body).encode()).hexdigest()[:32] + '"'
            if self.headers.get("If-None-Match") == etag:
                self._answer(304, None, {"ETag": etag, **self._quota(fake.quota)})
                return
            with fake.lock:
                fake.quota -= 1
            self._answer(200, body, {"ETag": etag, **self._quota(fake.quota)})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
            if not self._record(body):
                return
            if _DISPATCH.match(self.path) is None:
                self._answer(404, {"message": "Not Found"})
                return
            if not isinstance(body, dict) or "ref" not in body:
                self._answer(422, {"message": 'Invalid request.\n\n"ref" wasn\'t supplied.'})
                return
            self._answer(204)

    return Handler


@contextmanager
def running(fake: FakeGithub) -> Iterator[FakeGithub]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
