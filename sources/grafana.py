"""Grafana annotations: each carried-out action marked on the cutover dashboard."""

from __future__ import annotations

from datetime import datetime, timedelta

from ..cutover.announcements import announcement_text
from ..cutover.config import GrafanaSection
from ..cutover.pipeline import Executed
from .secrets import SecretError, read_secret
from .webhooks import post_json


class GrafanaAnnouncer:
    """Posts an annotation (`POST /api/annotations`) tagged `maestro-cutover` and the action."""

    name = "grafana"

    def __init__(self, url: str, token: str, dashboard_uid: str, timeout: timedelta) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.dashboard_uid = dashboard_uid
        self.timeout = timeout

    @classmethod
    def from_config(cls, section: GrafanaSection) -> GrafanaAnnouncer:
        """Raises SecretError when the token is not configured or cannot be read."""
        token = read_secret(
            "announce.grafana.token", file=section.token_file, env=section.token_env
        )
        if token is None:
            raise SecretError("announce.grafana: give token_file or token_env")
        return cls(section.url, token, section.dashboard_uid, section.timeout)

    async def __call__(self, executed: Executed) -> None:
        await self.post_text(announcement_text(executed), executed.plan.kind.value, executed.at)

    async def post_text(self, text: str, tag: str, at: datetime) -> None:
        """One annotation, as written (the playbook's exec update), tagged `tag`."""
        body = {
            "time": int(at.timestamp() * 1000),
            "tags": ["maestro-cutover", tag],
            "text": text,
            "dashboardUID": self.dashboard_uid,
        }
        await post_json(
            "grafana annotation",
            f"{self.url}/api/annotations",
            body,
            self.timeout,
            {"Authorization": f"Bearer {self._token}"},
        )
