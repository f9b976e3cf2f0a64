"""Slack: each carried-out action as a message to an incoming webhook."""

from __future__ import annotations

from datetime import timedelta

from ..cutover.announcements import announcement_text
from ..cutover.config import SlackSection
from ..cutover.pipeline import Executed
from .secrets import SecretError, read_secret
from .webhooks import post_json


class SlackAnnouncer:
    """Posts `{"text": ...}` to an incoming webhook, whose URL is itself the secret."""

    name = "slack"

    def __init__(self, webhook_url: str, timeout: timedelta) -> None:
        self._webhook_url = webhook_url
        self.timeout = timeout

    @classmethod
    def from_config(cls, section: SlackSection) -> SlackAnnouncer:
        """Raises SecretError when the webhook URL is not configured or cannot be read."""
        url = read_secret(
            "announce.slack.webhook_url",
            file=section.webhook_url_file,
            env=section.webhook_url_env,
        )
        if url is None:
            raise SecretError("announce.slack: give webhook_url_file or webhook_url_env")
        return cls(url, section.timeout)

    async def __call__(self, executed: Executed) -> None:
        # The URL is a secret: errors name Slack, never the URL.
        await self.post_text(announcement_text(executed))

    async def post_text(self, text: str) -> None:
        """One message, as written (the playbook's exec update)."""
        await post_json("slack webhook", self._webhook_url, {"text": text}, self.timeout)
